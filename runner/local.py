"""Run a durable orchestrator function on one machine: activities in a process pool, no Azure.

`LocalContext` offers the part of `DurableOrchestrationContext` our orchestrators use (`get_input`,
`call_activity[_with_retry]`, `task_all`, `task_any`, `set_custom_status`, `current_utc_datetime`, `instance_id`),
so the local runner drives the very generator the Functions host replays, never a second copy of its logic.
Each worker process imports the activities once and keeps its model loaded across chunks.
"""

from __future__ import annotations

import contextlib
import importlib
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

_activities: Mapping[str, Callable[[Any], Any]] = {}


class LocalTask:
    """A scheduled activity; mirrors the durable task attributes the orchestrator reads."""

    def __init__(self, future: Future) -> None:
        self.future = future

    @property
    def is_completed(self) -> bool:
        return self.future.done()

    @property
    def result(self) -> Any:
        """The activity's return value, or its exception once it failed for good (as durable tasks do)."""
        return self.future.exception() or self.future.result()


@dataclass(frozen=True)
class WhenAll:
    tasks: list[LocalTask]


@dataclass(frozen=True)
class WhenAny:
    tasks: list[LocalTask]


class LocalContext:
    def __init__(
        self,
        input_: Any,
        pool: ProcessPoolExecutor,
        instance_id: str = "local",
        on_status: Callable[[Any], None] = lambda status: None,
        on_result: Callable[[str, Any], None] = lambda name, result: None,
        inline: Mapping[str, Callable[[Any], Any]] | None = None,
    ) -> None:
        """``inline`` activities run in this process instead of the pool: steps that need no model, such as planning,
        which would otherwise wait for a worker to finish starting up."""
        self._input = input_
        self._pool = pool
        self._inline = inline or {}
        self.instance_id = instance_id
        self.custom_status: Any = None
        self._on_status = on_status
        self._on_result = on_result

    @property
    def current_utc_datetime(self) -> datetime:
        return datetime.now(UTC)

    def get_input(self) -> Any:
        return self._input

    def call_activity(self, name: str, input_: Any = None) -> LocalTask:
        return self._submit(name, input_, attempts=1, interval_s=0.0)

    def call_activity_with_retry(self, name: str, retry_options: Any, input_: Any = None) -> LocalTask:
        interval_s = retry_options.first_retry_interval_in_milliseconds / 1000
        return self._submit(name, input_, retry_options.max_number_of_attempts, interval_s)

    def task_all(self, tasks: list[LocalTask]) -> WhenAll:
        return WhenAll(list(tasks))

    def task_any(self, tasks: list[LocalTask]) -> WhenAny:
        return WhenAny(list(tasks))

    def set_custom_status(self, status: Any) -> None:
        self.custom_status = status
        self._on_status(status)

    def _submit(self, name: str, input_: Any, attempts: int, interval_s: float) -> LocalTask:
        if name in self._inline:
            future: Future = Future()
            try:
                future.set_result(_with_retries(self._inline[name], input_, attempts, interval_s))
            except Exception as error:  # failed for good: the orchestrator reads it from the task
                future.set_exception(error)
        else:
            future = self._pool.submit(_call_activity, name, input_, attempts, interval_s)
        future.add_done_callback(lambda done: done.exception() or self._on_result(name, done.result()))
        return LocalTask(future)


def run_orchestrator(orchestrator: Callable[[LocalContext], Generator], context: LocalContext) -> Any:
    """Drive the generator: wait for what it yields, send back results, throw failures into it."""
    generator = orchestrator(context)
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            awaited = generator.throw(error) if error else generator.send(value)
        except StopIteration as stop:
            return stop.value
        value, error = _wait(awaited)


def _wait(awaited: LocalTask | WhenAll | WhenAny) -> tuple[Any, BaseException | None]:
    if isinstance(awaited, LocalTask):
        wait([awaited.future])
        return (None, awaited.future.exception()) if awaited.future.exception() else (awaited.result, None)
    if isinstance(awaited, WhenAny):
        done, _ = wait([task.future for task in awaited.tasks], return_when=FIRST_COMPLETED)
        return next(task for task in awaited.tasks if task.future in done), None
    wait([task.future for task in awaited.tasks])
    failed = next((task.future.exception() for task in awaited.tasks if task.future.exception()), None)
    return (None, failed) if failed else ([task.result for task in awaited.tasks], None)


def activity_pool(
    workers: int,
    activities_module: str,
    threads_per_worker: int,
    preload: Callable[[], object] | None = None,
    shared_imports: Sequence[str] = (),
) -> ProcessPoolExecutor:
    """Worker processes that import the activities and run ``preload`` (e.g. load the model) once, all started at
    once so their start-up overlaps the planning step.

    Workers are forked from a fork server that imported ``activities_module`` and ``shared_imports`` once (set the
    environment those imports read first), so N workers pay for the imports once rather than N times; it has run
    nothing, so no torch or OpenCV threads are inherited. Where there is no fork server (Windows), they are spawned.
    """
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([activities_module, *shared_imports])
    else:
        context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_init_worker,
        initargs=(activities_module, threads_per_worker, preload),
    )
    # A pool starts a worker per submitted task while none is idle. Forking waits until the server has imported
    # everything, so ask for the workers from a thread: the caller goes on meanwhile (e.g. probes the video).
    threading.Thread(target=_start_workers, args=(pool, workers), daemon=True).start()
    return pool


def _start_workers(pool: ProcessPoolExecutor, workers: int) -> None:
    with contextlib.suppress(BrokenProcessPool, RuntimeError):  # the caller's own submit reports a broken pool
        for _ in range(workers):
            pool.submit(int)


def default_workers() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _init_worker(activities_module: str, threads: int, preload: Callable[[], object] | None) -> None:
    global _activities
    from videoanalysis.detector import configure_threads

    configure_threads(threads)
    _activities = importlib.import_module(activities_module).ACTIVITIES
    if preload is not None:
        with contextlib.suppress(Exception):  # only a warm-up: the activity meets the same failure and reports it
            preload()


def _call_activity(name: str, payload: Any, attempts: int, interval_s: float) -> Any:
    return _with_retries(_activities[name], payload, attempts, interval_s)


def _with_retries(activity: Callable[[Any], Any], payload: Any, attempts: int, interval_s: float) -> Any:
    for _ in range(attempts - 1):
        try:
            return activity(payload)
        except Exception:  # retried like the durable host would; the last attempt raises
            time.sleep(interval_s)
    return activity(payload)
