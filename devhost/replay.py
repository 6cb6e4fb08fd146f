"""A stand-in for the Durable Task host that replays an orchestrator through the real azure-functions-durable SDK.

The Functions host cannot run here, so this plays its part the way the host does: build the history, hand it to
`Orchestrator.handle` (the SDK's replay engine), read the tasks the orchestrator opened, run them, append their
TaskScheduled/TaskCompleted/TaskFailed and TimerCreated/TimerFired events, and replay again until the orchestration
is done. Retries follow the SDK's protocol (a timer task, then a rescheduled task, with one extra timer after the
last attempt). A durable timer fires at its time: the episode that delivers it starts no earlier. `continue_as_new`
ends the execution as the host does: its history is set aside (`Replay.generations`), events still due to it are
dropped, and a new execution starts from a fresh history with the new input. Only the event delivery (how many
completions per episode) is a choice of ours.
"""

from __future__ import annotations

import json
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from azure.durable_functions import Orchestrator
from azure.durable_functions.models import DurableOrchestrationContext
from azure.durable_functions.models.actions.ActionType import ActionType
from azure.durable_functions.models.actions.CallActivityAction import CallActivityAction
from azure.durable_functions.models.actions.CallActivityWithRetryAction import CallActivityWithRetryAction
from azure.durable_functions.models.actions.CreateTimerAction import CreateTimerAction
from azure.durable_functions.models.history.HistoryEventType import HistoryEventType as Event
from azure.durable_functions.models.Task import RetryAbleTask

START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass
class Replay:
    output: Any = None
    error: str | None = None
    history: list[dict] = field(default_factory=list)
    episodes: list[dict] = field(default_factory=list)  # the orchestrator state JSON returned by each replay
    statuses: list[Any] = field(default_factory=list)  # custom status after each episode
    calls: list[tuple[str, Any]] = field(default_factory=list)  # activity invocations, retries included
    generations: list[list[dict]] = field(default_factory=list)  # histories of executions ended by continue_as_new
    inputs: list[Any] = field(default_factory=list)  # each execution's input, the first one included
    episode_cpu_s: list[float] = field(default_factory=list)  # process time of each replay (the SDK's work)

    @property
    def scheduled_per_episode(self) -> list[list[str]]:
        """Names of the activities each episode scheduled (`actions` lists are cumulative under replay)."""
        seen, batches = 0, []
        for state in self.episodes:
            flat = [action for group in state.get("actions", []) for action in group]
            batches.append([action.get("functionName", f"type{action['actionType']}") for action in flat[seen:]])
            seen = len(flat)
        return batches


class ReplayHost:
    def __init__(
        self,
        orchestrator: Callable,
        activities: Mapping[str, Callable[[Any], Any]],
        completions_per_episode: int = 1,
        instance_id: str = "test-instance",
    ) -> None:
        self.orchestrator = orchestrator
        self.activities = activities
        self.completions_per_episode = completions_per_episode
        self.instance_id = instance_id

    def run(self, input_: Any, max_episodes: int = 100_000) -> Replay:
        replay = Replay()
        self.clock = START
        self._start_execution(replay, input_)
        for _ in range(max_episodes):
            started = time.process_time()
            try:
                context, state = self.replay_once(replay.history, input_)
            except Exception as error:  # the SDK re-raises what the orchestrator raised: the host fails the instance
                replay.error = str(error).split("$OutOfProcData$")[0].strip()
                return replay
            finally:
                replay.episode_cpu_s.append(time.process_time() - started)
            replay.episodes.append(state)
            replay.statuses.append(state.get("customStatus"))
            if (renewal := _continue_as_new(state)) is not None:
                self._append(replay, Event.ORCHESTRATOR_COMPLETED)
                replay.generations.append(replay.history)
                replay.history, input_ = [], json.loads(renewal["input"])
                self.clock += timedelta(seconds=1)
                self._start_execution(replay, input_)
                continue
            if state.get("isDone") or state.get("error"):
                replay.output, replay.error = state.get("output"), state.get("error")
                return replay
            self._schedule(replay, context)
            self._append(replay, Event.ORCHESTRATOR_COMPLETED)
            if not self.outbox:
                raise RuntimeError("orchestrator is waiting on nothing: it would hang")
            due = [self.outbox.popleft() for _ in range(min(self.completions_per_episode, len(self.outbox)))]
            fire_times = [datetime.fromisoformat(event["FireAt"]) for event in due if "FireAt" in event]
            self.clock = max([self.clock + timedelta(seconds=1), *fire_times])
            self._append(replay, Event.ORCHESTRATOR_STARTED)
            replay.history.extend(self._event(**event) for event in due)
        raise RuntimeError(f"orchestration not done after {max_episodes} episodes")

    def _start_execution(self, replay: Replay, input_: Any) -> None:
        """A new execution: the first, or the next after continue_as_new (nothing of the previous one is due)."""
        self.handled: set[int] = set()
        self.outbox: deque[dict] = deque()
        replay.inputs.append(input_)
        self._append(replay, Event.ORCHESTRATOR_STARTED)
        self._append(replay, Event.EXECUTION_STARTED, Name="orchestrator", Version="", Input=json.dumps(input_))

    def replay_once(self, history: list[dict], input_: Any) -> tuple[DurableOrchestrationContext, dict]:
        """One orchestrator episode, exactly as the host runs it: a fresh context from the history JSON."""
        body = {"history": history, "instanceId": self.instance_id, "isReplaying": False, "parentInstanceId": None}
        context = DurableOrchestrationContext.from_json(json.dumps({**body, "input": json.dumps(input_)}))
        return context, json.loads(Orchestrator(self.orchestrator).handle(context))

    def _schedule(self, replay: Replay, context: DurableOrchestrationContext) -> None:
        for task_id, task in sorted(context.open_tasks.items()):
            if task_id in self.handled:
                continue
            self.handled.add(task_id)
            parent = task.parent
            if isinstance(parent, RetryAbleTask) and parent.is_waiting_on_timer:
                self._append(replay, Event.TIMER_CREATED, EventId=task_id, FireAt=self.clock.isoformat())
                self.outbox.append(
                    {"EventType": Event.TIMER_FIRED, "TimerId": task_id, "FireAt": self.clock.isoformat()}
                )
                continue
            action = parent.actions if isinstance(parent, RetryAbleTask) else task.action_repr
            action = action[0] if isinstance(action, list) else action  # replay schema V1 wraps actions in lists
            if isinstance(action, CreateTimerAction):
                fire_at = action.fire_at.isoformat()
                self._append(replay, Event.TIMER_CREATED, EventId=task_id, FireAt=fire_at)
                self.outbox.append({"EventType": Event.TIMER_FIRED, "TimerId": task_id, "FireAt": fire_at})
                continue
            if not isinstance(action, CallActivityAction | CallActivityWithRetryAction):
                raise NotImplementedError(f"action {type(action).__name__} is not supported by this test host")
            self._append(replay, Event.TASK_SCHEDULED, EventId=task_id, Name=action.function_name, Input=action.input_)
            self.outbox.append(self._run_activity(replay, task_id, action.function_name, json.loads(action.input_)))

    def _run_activity(self, replay: Replay, task_id: int, name: str, payload: Any) -> dict:
        replay.calls.append((name, payload))
        try:
            result = self.activities[name](payload)
        except Exception as error:
            return {
                "EventType": Event.TASK_FAILED,
                "TaskScheduledId": task_id,
                "Reason": f"Activity function '{name}' failed: {type(error).__name__}: {error}",
                "Details": "".join(traceback.format_exception(error)),
            }
        return {"EventType": Event.TASK_COMPLETED, "TaskScheduledId": task_id, "Result": json.dumps(result)}

    def _event(self, EventType: Event, EventId: int = -1, **fields: Any) -> dict:
        return {
            "EventType": EventType,
            "EventId": EventId,
            "IsPlayed": False,
            "Timestamp": self.clock.isoformat(),
            **fields,
        }

    def _append(self, replay: Replay, event_type: Event, EventId: int = -1, **fields: Any) -> None:
        replay.history.append(self._event(event_type, EventId, **fields))


def _continue_as_new(state: dict) -> dict | None:
    """The episode's ContinueAsNew action (its "input" is the new input as JSON), or None."""
    for group in state.get("actions", []):
        for action in group if isinstance(group, list) else [group]:
            if action.get("actionType") == ActionType.CONTINUE_AS_NEW:
                return action
    return None
