"""Orchestration scale: replay CPU and history size of `analyze_video` through the real durable SDK.

`devhost.replay.ReplayHost` plays the Functions host (history JSON -> `Orchestrator.handle` -> new events) with
stand-in activities that return what the real ones return in shape and size (a job with full settings and local
storage, a plan with one dict per chunk, compact chunk results with timings). Completions are delivered
`PER_EPISODE` at a time, so a run has about chunks / PER_EPISODE episodes, each replaying the whole history so far.
"""

from __future__ import annotations

import cProfile
import json
import math
import pstats
import time
from typing import Any

from devhost.replay import ReplayHost
from orchestrators.analyze_video import analyze_video
from videoanalysis import artefacts
from videoanalysis.chunking import plan_chunks as plan_video_chunks
from videoanalysis.contracts import (
    AnalysisOutcome,
    BlobRef,
    ChunkInput,
    ChunkOutcome,
    Job,
    PlanResult,
    StorageSpec,
    SummarizeInput,
    Timing,
    VideoInfo,
)
from videoanalysis.settings import Settings

PER_EPISODE = 10
CHUNK_SECONDS = 10.0
HOTSPOTS = {  # where one replay's CPU goes: (file suffix, function) -> label
    ("dateutil/parser/_parser.py", "parse"): "SDK: dateutil parsing event timestamps",
    ("models/DurableOrchestrationContext.py", "from_json"): "SDK: history JSON -> context (incl. timestamps)",
    ("orchestrators/analyze_video.py", "analyze_video"): "our orchestrator code (incl. SDK calls it makes)",
    ("azure/durable_functions/orchestrator.py", "handle"): "SDK: replay engine (incl. our orchestrator)",
}


class TimedReplayHost(ReplayHost):
    """Counts the CPU seconds spent inside the SDK's replay (the host's own bookkeeping is not the orchestrator's)."""

    cpu_s = 0.0
    episodes = 0

    def replay_once(self, history: list[dict], input_: Any) -> Any:
        start = time.process_time()
        try:
            return super().replay_once(history, input_)
        finally:
            self.cpu_s += time.process_time() - start
            self.episodes += 1


def job() -> dict[str, Any]:
    return Job(
        video=BlobRef("videos", "street-camera-2026-01-01.mp4"),
        summary=BlobRef("out", "street-camera-2026-01-01.json"),
        results=BlobRef("out", "street-camera-2026-01-01.chunks"),
        settings=Settings(model_path="models/demo-yolo26n.pt"),
        storage=StorageSpec(kind="local", containers={"videos": "/data/videos", "out": "/data/out"}),
    ).to_dict()


def stand_ins(chunks: int) -> dict[str, Any]:
    """Activities with the real ones' contracts and typical sizes, no work."""
    video = VideoInfo(25.0, chunks * 250, chunks * CHUNK_SECONDS, 1280, 720, "h264", chunks * 2_500_000)
    settings = Settings(chunk_seconds=CHUNK_SECONDS)

    def plan_chunks(payload: dict) -> dict:
        planned = plan_video_chunks(video, CHUNK_SECONDS, 10**6, settings.sample_fps)
        return PlanResult(
            "ok", video=video, spec=artefacts.job_spec(Job.from_dict(payload).results), chunks=tuple(planned)
        ).to_dict()

    def analyze_chunk(payload: dict) -> dict:
        chunk = ChunkInput.from_dict(payload).chunk
        timing = Timing(decode_s=1.234, infer_s=3.456, motion_s=0.123, total_s=4.987)
        return ChunkOutcome(chunk.index, "ok", None, chunk.start_ms, chunk.end_ms, 275, 50, timing).to_dict()

    def summarize(payload: dict) -> dict:
        summary = SummarizeInput.from_dict(payload).job.summary
        return AnalysisOutcome("succeeded", None, summary, summary, {}).to_dict()

    return {"plan_chunks": plan_chunks, "analyze_chunk": analyze_chunk, "summarize": summarize}


def measure(chunks: int, repeats: int) -> dict[str, Any]:
    host = TimedReplayHost(analyze_video, stand_ins(chunks), completions_per_episode=PER_EPISODE)
    run_wall = time.perf_counter()
    replay = host.run(job(), max_episodes=1_000_000)
    run_wall = time.perf_counter() - run_wall
    if replay.error or replay.output["status"] != "succeeded":
        raise RuntimeError(f"replay of {chunks} chunks failed: {replay.error}")
    once = []
    for _ in range(repeats):
        start = time.process_time()
        host.replay_once(replay.history, job())
        once.append(time.process_time() - start)
    return {
        "chunks": chunks,
        "history_events": len(replay.history),
        "history_bytes": len(json.dumps(replay.history)),
        "episodes": len(replay.episodes),
        "replay_once_cpu_s": min(once),
        "run_replay_cpu_s": host.cpu_s - sum(once),
        "run_wall_s": run_wall,
    }


def profile(chunks: int) -> dict[str, float]:
    """Share of one full replay's time (cProfile, cumulative) spent in each of `HOTSPOTS`."""
    host = ReplayHost(analyze_video, stand_ins(chunks), completions_per_episode=chunks)
    history = host.run(job()).history
    profiler = cProfile.Profile()
    profiler.runcall(host.replay_once, history, job())
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    total = max(row[3] for row in stats.values())
    shares = dict.fromkeys(HOTSPOTS.values(), 0.0)
    for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
        for (suffix, name), label in HOTSPOTS.items():
            if filename.endswith(suffix) and function == name:
                shares[label] = max(shares[label], cumulative / total)
    return shares


def run(sizes: tuple[int, ...], repeats: int = 3) -> dict[str, Any]:
    rows = [measure(chunks, repeats) for chunks in sizes]
    first = rows[0]
    for previous, row in zip([first, *rows], rows, strict=False):
        scale = row["chunks"] / first["chunks"]
        row["bytes_per_chunk"] = row["history_bytes"] / row["chunks"]
        row["replay_once_growth_vs_linear"] = row["replay_once_cpu_s"] / (first["replay_once_cpu_s"] * scale)
        row["history_growth_vs_linear"] = row["history_bytes"] / (first["history_bytes"] * scale)
        if row is not first:  # growth exponents since the previous size: 1 linear, 2 quadratic
            step = math.log(row["chunks"] / previous["chunks"])
            row["replay_once_exponent"] = math.log(row["replay_once_cpu_s"] / previous["replay_once_cpu_s"]) / step
            row["run_replay_exponent"] = math.log(row["run_replay_cpu_s"] / previous["run_replay_cpu_s"]) / step
    return {"per_episode": PER_EPISODE, "rows": rows, "profile_chunks": sizes[-1], "profile": profile(sizes[-1])}
