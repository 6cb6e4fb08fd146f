"""Run a durable orchestrator function on one machine: activities in a process pool, no Azure.

`LocalContext` offers the part of `DurableOrchestrationContext` our orchestrators use (`get_input`,
`call_activity[_with_retry]`, `task_all`, `task_any`, `set_custom_status`, `current_utc_datetime`, `instance_id`),
so the local runner drives the very generator the Functions host replays, never a second copy of its logic.
Each worker process imports the activities once and keeps its model loaded across chunks.

`ActivityPool` applies the retry policy in this process, as the durable host does, so a worker that dies (killed,
out of memory) costs one attempt of the call it was running and nothing else: it is replaced, and the calls still
waiting never notice. Workers die with the runner, even when it is killed with SIGKILL (see `_follow_runner`).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import multiprocessing
import os
import pickle
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, CancelledError, Future, InvalidStateError, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import TYPE_CHECKING, Any

from orchestrators.retry import NO_RETRY, RetryPolicy

if TYPE_CHECKING:
    from azure.durable_functions import RetryOptions

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
        pool: ActivityPool,
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
        return self._submit(name, input_, NO_RETRY)

    def call_activity_with_retry(self, name: str, retry_options: RetryOptions, input_: Any = None) -> LocalTask:
        return self._submit(name, input_, RetryPolicy.of(retry_options))

    def task_all(self, tasks: list[LocalTask]) -> WhenAll:
        return WhenAll(list(tasks))

    def task_any(self, tasks: list[LocalTask]) -> WhenAny:
        return WhenAny(list(tasks))

    def set_custom_status(self, status: Any) -> None:
        self.custom_status = status
        self._on_status(status)

    def _submit(self, name: str, input_: Any, policy: RetryPolicy) -> LocalTask:
        if name in self._inline:  # in this process, so no worker can die under it
            future: Future = Future()
            try:
                future.set_result(policy.call(self._inline[name], input_))
            except Exception as error:  # failed for good: the orchestrator reads it from the task
                future.set_exception(error)
        else:
            future = self._pool.submit(name, input_, policy)
        future.add_done_callback(lambda done: self._report(name, done))
        return LocalTask(future)

    def _report(self, name: str, done: Future) -> None:
        """Progress for a finished activity; a cancelled one (the run was interrupted) has nothing to report."""
        if not done.cancelled() and done.exception() is None:
            self._on_result(name, done.result())


def run_orchestrator(orchestrator: Callable[[Any], Generator[Any, Any, Any]], context: LocalContext) -> Any:
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


class WorkerLost(Exception):
    """The worker process running an activity died (killed, out of memory, crashed): that attempt is lost."""


class _NotStarted(Exception):
    """The worker died before it began the call, or none could be started: no attempt is counted."""


STARTS_PER_ATTEMPT = 3
"""Workers that die before they begin a call, in a row, before that call's attempt counts as lost anyway: a worker
that cannot start at all (a crash at import) fails the calls under their retry policy instead of looping forever."""

STOP_TIMEOUT_S = 5.0
"""How long the workers may take to exit when the pool closes normally, before they are killed."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker does once when it starts: import the activities, limit its threads, warm up (e.g. the model)."""

    activities_module: str
    threads: int
    preload: Callable[[], object] | None = None


@dataclass(eq=False)
class _Call:
    """One activity call under its retry policy; ``used`` counts the attempts that began in a worker."""

    name: str
    payload: Any
    policy: RetryPolicy
    future: Future = field(default_factory=Future)
    used: int = 0


class ActivityPool:
    """Worker processes that run one activity call at a time each, with the durable retry policy applied here.

    Calls wait in this process until a worker is free, so a worker that dies loses only the call it was running:
    the worker is replaced, that call fails with `WorkerLost` and is retried like any failed attempt (after the
    interval, while attempts are left), and calls still waiting are not touched. One thread per worker feeds it.
    """

    def __init__(self, workers: int, context: BaseContext, setup: WorkerSetup) -> None:
        self._context = context
        self._setup = setup
        self._calls: queue.SimpleQueue[_Call | None] = queue.SimpleQueue()
        # Workers hold the read end and exit when it reads as closed: only this process holds the write end.
        self._lifeline, self._lifeline_writer = context.Pipe(duplex=False)
        self._lock = threading.Lock()
        self._closed = False
        self._outstanding: set[_Call] = set()
        self._retrying: dict[_Call, threading.Timer] = {}
        self._live: dict[int, _Worker] = {}  # by slot
        self._starting: set[int] = set()  # slots waiting for the fork server to start their worker
        self.started_pids: list[int] = []
        self._slots = [
            threading.Thread(target=self._serve, args=(slot,), name=f"activity-slot-{slot}", daemon=True)
            for slot in range(max(1, workers))
        ]
        for thread in self._slots:  # each starts its worker at once: start-up overlaps the caller's planning
            thread.start()

    def __enter__(self) -> ActivityPool:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.shutdown(kill=exc_type is not None)

    @property
    def pids(self) -> list[int]:
        """The workers' process ids, one per slot (a worker that died is listed until it is replaced)."""
        with self._lock:
            return [worker.pid for worker in self._live.values()]

    def submit(self, name: str, payload: Any, policy: RetryPolicy = NO_RETRY) -> Future:
        """Run activity ``name``; its future settles after the first success or the last of the policy's attempts."""
        call = _Call(name, payload, policy)
        with self._lock:
            if self._closed:
                raise RuntimeError("the activity pool is shut down")
            self._outstanding.add(call)
        self._calls.put(call)
        return call.future

    def shutdown(self, kill: bool = False) -> None:
        """Stop the workers and cancel the calls not finished.

        ``kill`` (an error or a signal: an interrupted run must not go on writing) sends SIGKILL and returns once the
        workers are dead, within a second. Otherwise they exit by themselves, told by their lifeline closing (which
        does not wait for one still loading its model), and the threads that fed them are joined.
        """
        with self._lock:
            self._closed = True
            for timer in self._retrying.values():
                timer.cancel()
            self._retrying.clear()
            unfinished = list(self._outstanding)
            live = list(self._live.values())
        for call in unfinished:
            call.future.cancel()
        for _ in self._slots:
            self._calls.put(None)
        if kill:
            for worker in live:
                worker.kill()
            deadline = time.monotonic() + 1.0  # gone for sure, not merely signalled, before the caller cleans up
            while (dying := [w.process.sentinel for w in live if w.alive]) and time.monotonic() < deadline:
                wait_for(dying, timeout=deadline - time.monotonic())
        self._lifeline_writer.close()  # every worker exits now, including one still starting
        if not kill:
            with self._lock:  # a slot still starting its worker has nothing to stop: its worker exits at once
                stopping = [thread for slot, thread in enumerate(self._slots) if slot not in self._starting]
            deadline = time.monotonic() + STOP_TIMEOUT_S
            for thread in stopping:
                thread.join(timeout=max(0.0, deadline - time.monotonic()))

    def _serve(self, slot: int) -> None:
        """One slot: keep a worker and feed it calls one at a time until the pool closes."""
        worker: _Worker | None = None
        with contextlib.suppress(_NotStarted):
            worker = self._start_worker(slot)
        while (call := self._calls.get()) is not None:
            worker = self._run(slot, worker, call)
        if worker is not None:
            worker.stop()

    def _run(self, slot: int, worker: _Worker | None, call: _Call) -> _Worker | None:
        """One attempt of ``call``; returns the worker for the next call (None when it died)."""
        error: BaseException = WorkerLost("no worker process could be started")
        for _ in range(STARTS_PER_ATTEMPT):
            if self._closed:
                self._settle(call, error=CancelledError())
                return worker
            try:
                worker = worker or self._start_worker(slot)
                self._settle(call, value=worker.run(call.name, call.payload))
                return worker
            except _NotStarted as died:  # the call never began: it costs no attempt, up to a point
                worker, error = None, WorkerLost(str(died))
                continue
            except WorkerLost as lost:
                worker, error = None, lost
            except Exception as failed:  # the activity raised: an ordinary failed attempt
                error = failed
            break
        self._attempt_failed(call, error)
        return worker

    def _start_worker(self, slot: int) -> _Worker:
        with self._lock:
            if self._closed:
                raise _NotStarted("the activity pool is shut down")
            self._starting.add(slot)
        try:
            worker = _Worker.start(self._context, self._setup, self._lifeline)
        except Exception as error:  # e.g. out of processes or memory: reported as a lost attempt, not a crash
            raise _NotStarted(f"cannot start a worker process: {error}") from error
        finally:
            with self._lock:
                self._starting.discard(slot)
        with self._lock:
            self.started_pids.append(worker.pid)
            self._live[slot] = worker
            closed = self._closed
        if closed:  # shut down while it was starting
            worker.kill()
        return worker

    def _attempt_failed(self, call: _Call, error: BaseException) -> None:
        """Count the attempt; retry after the interval while attempts are left, as the durable host does."""
        call.used += 1
        with self._lock:
            if call.used < call.policy.attempts and not self._closed:
                timer = threading.Timer(call.policy.interval_s, self._retry, args=(call,))
                timer.daemon = True
                self._retrying[call] = timer
                timer.start()
                return
        self._settle(call, error=error)

    def _retry(self, call: _Call) -> None:
        with self._lock:
            if self._retrying.pop(call, None) is None:  # cancelled by a shutdown
                return
        self._calls.put(call)

    def _settle(self, call: _Call, value: Any = None, error: BaseException | None = None) -> None:
        with self._lock:
            self._outstanding.discard(call)
        with contextlib.suppress(InvalidStateError):  # cancelled meanwhile by a shutdown
            if error is not None:
                call.future.set_exception(error)
            else:
                call.future.set_result(value)


_STARTED = "started"


class _Worker:
    """One worker process and the pipe it takes calls on."""

    def __init__(self, process: BaseProcess, conn: Connection) -> None:
        self.process = process
        self.conn = conn

    @classmethod
    def start(cls, context: BaseContext, setup: WorkerSetup, lifeline: Connection) -> _Worker:
        ours, theirs = context.Pipe()
        process = context.Process(  # type: ignore[attr-defined]
            # daemon: terminated rather than waited for at exit, should one outlive its pool; it starts no processes
            target=_worker_main,
            args=(theirs, lifeline, setup),
            name="activity-worker",
            daemon=True,
        )
        process.start()
        theirs.close()  # else the pipe of a worker that died would never read as closed here
        return cls(process, ours)

    @property
    def pid(self) -> int:
        return int(self.process.pid or 0)

    @property
    def alive(self) -> bool:
        return self.process.exitcode is None

    def run(self, name: str, payload: Any) -> Any:
        """The activity's result; raises its exception, `WorkerLost` once it began, else `_NotStarted`."""
        try:
            self.conn.send((name, payload))
            self._receive()  # _STARTED: from here on a death costs an attempt
        except (OSError, EOFError) as error:
            raise _NotStarted(f"{self._death()} before it began {name}") from error
        try:
            ok, value = self._receive()
        except (OSError, EOFError) as error:
            raise WorkerLost(f"{self._death()} while running {name}") from error
        if not ok:
            raise value
        return value

    def _receive(self) -> Any:
        wait_for([self.conn, self.process.sentinel])
        return self.conn.recv()  # what it sent before dying, else EOFError

    def _death(self) -> str:
        self.process.join(timeout=1.0)
        code = self.process.exitcode
        self.conn.close()
        if code is None:
            self.kill()
            return f"worker process {self.pid} stopped answering"
        if code < 0:
            return f"worker process {self.pid} was killed by {_signal_name(-code)}"
        return f"worker process {self.pid} exited with code {code}"

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.conn.send(None)
        self.process.join(timeout=STOP_TIMEOUT_S)
        if self.process.exitcode is None:
            self.kill()
        self.conn.close()

    def kill(self) -> None:
        """SIGKILL, without waiting: the thread that feeds this worker sees it die and reaps it."""
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self.process.kill()


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:  # e.g. a real-time signal
        return f"signal {number}"


def activity_pool(
    workers: int,
    activities_module: str,
    threads_per_worker: int,
    preload: Callable[[], object] | None = None,
    shared_imports: Sequence[str] = (),
) -> ActivityPool:
    """Worker processes that import the activities and run ``preload`` (e.g. load the model) once, all started at
    once so their start-up overlaps the planning step.

    Workers are forked from a fork server that imported ``activities_module`` and ``shared_imports`` once (set the
    environment those imports read first), so N workers pay for the imports once rather than N times; it has run
    nothing, so no torch or OpenCV threads are inherited. Where there is no fork server (Windows), they are spawned.
    """
    context: BaseContext
    if "forkserver" in multiprocessing.get_all_start_methods():
        forkserver = multiprocessing.get_context("forkserver")
        forkserver.set_forkserver_preload([activities_module, *shared_imports])
        context = forkserver
    else:
        context = multiprocessing.get_context("spawn")
    return ActivityPool(workers, context, WorkerSetup(activities_module, threads_per_worker, preload))


def default_workers() -> int:
    from videoanalysis.models import available_cores

    return available_cores()


def _worker_main(conn: Connection, lifeline: Connection, setup: WorkerSetup) -> None:
    """A worker's life: follow the runner in death, set up once, then answer calls until told to stop."""
    _follow_runner(lifeline)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole process group: the runner stops us
    broken = _init_worker(setup)
    with contextlib.suppress(OSError):  # a broken pipe: the runner is gone, and so are we
        while (request := _next_call(conn)) is not None:
            conn.send(_STARTED)
            _send(conn, _answer(broken, *request))


def _init_worker(setup: WorkerSetup) -> Exception | None:
    """Set up once; an error here is every call's answer, rather than a worker that dies and is restarted."""
    global _activities
    try:
        from videoanalysis.models import configure_threads

        configure_threads(setup.threads)
        _activities = importlib.import_module(setup.activities_module).ACTIVITIES
    except Exception as error:
        return error
    if setup.preload is not None:
        with contextlib.suppress(Exception):  # only a warm-up: the activity meets the same failure and reports it
            setup.preload()
    return None


def _next_call(conn: Connection) -> tuple[str, Any] | None:
    try:
        return conn.recv()
    except (EOFError, OSError):  # the runner is gone
        return None


def _answer(broken: Exception | None, name: str, payload: Any) -> tuple[bool, Any]:
    if broken is not None:
        return False, _portable(broken)
    try:
        return True, _activities[name](payload)
    except Exception as error:  # the runner's retry policy decides what happens next
        return False, _portable(error)


def _portable(error: Exception) -> Exception:
    """The error itself if it survives a trip through pickle (many with custom ``__init__`` do not), else its gist."""
    try:
        pickle.loads(pickle.dumps(error))
    except Exception:
        return RuntimeError(f"{type(error).__name__}: {error}")
    return error


def _send(conn: Connection, answer: tuple[bool, Any]) -> None:
    """Send the answer; a result that cannot be pickled becomes the call's error (nothing was written yet)."""
    try:
        conn.send(answer)
    except (pickle.PicklingError, TypeError, AttributeError) as error:
        conn.send((False, RuntimeError(f"the result of the activity cannot be sent back: {error}")))


PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _follow_runner(lifeline: Connection) -> None:
    """A worker must not outlive the runner, even one killed with SIGKILL, which runs no clean-up of its own.

    Two links, each enough alone. (1) A thread exits this process when the lifeline pipe reads as closed, which
    happens when the runner is gone. (2) On Linux, the kernel sends SIGKILL when our parent, the fork server, exits;
    and it exits as soon as the runner does, once we drop the "clients alive" fd its children inherit (else it
    would wait for us). (2) works even while a native call holds this process's GIL.
    """
    _drop_forkserver_alive_fd()
    _set_parent_death_signal(signal.SIGKILL)
    threading.Thread(target=_exit_when_closed, args=(lifeline,), name="lifeline", daemon=True).start()


def _exit_when_closed(lifeline: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        while True:  # nothing is ever sent: this returns only at end of file
            lifeline.recv_bytes()
    os._exit(1)


def _set_parent_death_signal(signum: int) -> None:
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):  # no prctl: the lifeline alone must do
        unsigned = ctypes.c_ulong
        ctypes.CDLL(None, use_errno=True).prctl(
            ctypes.c_int(PR_SET_PDEATHSIG), unsigned(signum), unsigned(0), unsigned(0), unsigned(0)
        )


def _drop_forkserver_alive_fd() -> None:
    from multiprocessing import forkserver

    server = forkserver._forkserver  # private: the standard library offers no way to let go of this fd
    alive_fd = getattr(server, "_forkserver_alive_fd", None)
    if server.get_inherited_fds() is None or alive_fd is None:  # not a fork-server child
        return
    with contextlib.suppress(OSError):
        os.close(alive_fd)
    server._forkserver_alive_fd = None  # type: ignore[attr-defined]
