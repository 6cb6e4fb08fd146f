"""`python -m bench.batch_history [--videos N ...]`: how big the batch orchestration's history gets, and what replaying
it costs, for batches of 1,000 and 10,000 videos (issue 29, "Large batches").

`orchestrators.analyze_batch` runs through the SDK's replay engine (devhost/replay.py plays the host, one event per
episode, as the host delivers this orchestration's one-at-a-time steps) with stand-in activities: listing returns
pages of made-up names and ETags, starting returns instance ids, and an analysis "finishes" on its 1st to 4th poll
after its start (by its index), so the window of BATCH_MAX_IN_FLIGHT keeps turning. No storage, no host, no video: the
history the orchestrator makes does not depend on what the activities do, only on what they return.

Per execution (one per continue_as_new): history events and bytes (the JSON the host stores and sends each episode),
the input's bytes; over the whole batch: executions, episodes, replay CPU (process time inside the SDK's replay, the
orchestrator's own work included), and the largest single replay. Writes bench/results/batch-history.md.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devhost.replay import ReplayHost
from orchestrators.analyze_batch import analyze_batch
from videoanalysis.batch_run import BatchRef, BatchState, ListPage, VideoVersion
from videoanalysis.settings import Settings

RESULTS = Path(__file__).parent / "results" / "batch-history.md"


@dataclass(frozen=True)
class Measured:
    videos: int
    executions: int
    episodes: int
    max_events: int
    max_history_bytes: int
    max_input_bytes: int
    replay_cpu_s: float
    max_replay_cpu_s: float
    wall_s: float


def stand_ins(videos: int) -> dict[str, Callable[[Any], Any]]:
    polls: dict[str, int] = {}

    def list_videos(payload: dict) -> dict:
        start = int(payload["continuation"] or 0)
        end = min(videos, start + int(payload["page_size"]))
        first = int(payload["first_index"])
        page = tuple(
            VideoVersion(first + i, f"site-a/2026-12-01/cam-{n:05d}.mp4", f"0x8DC{n:011X}")
            for i, n in enumerate(range(start, end))
        )
        return ListPage(page, str(end) if end < videos else None).to_dict()

    def start_videos(payload: dict) -> dict:
        started = [
            {**video, "instance": f"cam-{video['index']:05d}.mp4-{video['index']:024x}"} for video in payload["videos"]
        ]
        return {"in_flight": started}

    def poll_videos(payload: dict) -> dict:
        finished = []
        for video in payload["videos"]:
            polls[video["instance"]] = polls.get(video["instance"], 0) + 1
            if polls[video["instance"]] > video["index"] % 4:
                finished.append(
                    {"index": video["index"], "status": "failed" if video["index"] % 50 == 0 else "succeeded"}
                )
        return {"finished": finished}

    def write_batch(payload: dict) -> dict:
        ref = {"container": "summaries", "name": "batches/x.json"}
        return {"counts": payload["counts"], "json": ref, "csv": ref, "html": ref}

    return {
        "list_videos": list_videos,
        "start_videos": start_videos,
        "poll_videos": poll_videos,
        "write_batch": write_batch,
    }


def measure(videos: int, settings: Settings) -> Measured:
    state = BatchState.first(BatchRef("batch-0123456789abcdef01234567", "summaries"), settings)
    started = time.perf_counter()
    replay = ReplayHost(analyze_batch, stand_ins(videos), instance_id="batch-0123456789abcdef01234567").run(
        state.to_dict(), max_episodes=10_000_000
    )
    wall_s = time.perf_counter() - started
    if replay.error or replay.output["counts"]["listed"] != videos:
        raise RuntimeError(f"the batch did not complete: {replay.error or replay.output}")
    histories = [*replay.generations, replay.history]
    return Measured(
        videos=videos,
        executions=len(histories),
        episodes=len(replay.episodes),
        max_events=max(len(history) for history in histories),
        max_history_bytes=max(len(json.dumps(history)) for history in histories),
        max_input_bytes=max(len(json.dumps(input_)) for input_ in replay.inputs),
        replay_cpu_s=sum(replay.episode_cpu_s),
        max_replay_cpu_s=max(replay.episode_cpu_s),
        wall_s=wall_s,
    )


def report(results: Sequence[Measured], settings: Settings, command: str) -> str:
    lines = [
        "# Batch orchestration: history size and replay CPU",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, azure-functions-durable "
        f"{_version('azure-functions-durable')}. Settings: BATCH_PAGE_SIZE={settings.batch_page_size}, "
        f"BATCH_MAX_IN_FLIGHT={settings.batch_max_in_flight}; analyses finish on their 1st to 4th poll.",
        "",
        "Stand-in activities (bench/batch_history.py says what they return): the history depends only on what the",
        "activities return, not on the work behind them. An execution is one continue_as_new generation; its history",
        "is what the host keeps and replays on each of its episodes. Replay CPU is process time; on a shared machine",
        "the largest single replay (one sample) is the number most affected by load, the whole-batch sum the least.",
        "",
        "| videos | executions | episodes | largest history (events) | largest history (KiB) | largest input (KiB) "
        "| replay CPU, whole batch (s) | per video (ms) | largest single replay (ms) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for m in results:
        lines.append(
            f"| {m.videos:,} | {m.executions:,} | {m.episodes:,} | {m.max_events:,} | {m.max_history_bytes / 1024:.1f} "
            f"| {m.max_input_bytes / 1024:.1f} | {m.replay_cpu_s:.1f} | {m.replay_cpu_s / m.videos * 1000:.2f} "
            f"| {m.max_replay_cpu_s * 1000:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, nargs="+", default=[1_000, 10_000])
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    settings = Settings()
    results = [measure(videos, settings) for videos in args.videos]
    command = "python -m bench.batch_history" + (
        "" if args.videos == [1_000, 10_000] else " --videos " + " ".join(map(str, args.videos))
    )
    text = report(results, settings, command)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
