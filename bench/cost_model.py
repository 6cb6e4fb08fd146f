"""`python -m bench.cost_model`: time to result and cost of one long video on Azure Flex Consumption (an estimate).

Nothing here runs the pipeline. The model combines three kinds of input and says which is which:

- measured in this repository: the CPU seconds of a chunk (`bench/results/eval-heldout-idle.json`: the last held-out
  evaluation on an otherwise idle machine, f2b7b2b, whose chunks do the same work as today's; the app at 10 s chunks
  on 60 s 1280x720 H.264 scenes, 5 fps sampling, one worker, whole process trees), a worker's cold start and the
  orchestration's replay cost (`bench/results/latest.json`), and a few one-off measurements kept below as constants;
- published by Microsoft or Google: instance sizes, prices, limits and durable throughput (`PUBLISHED`, each with its
  source address);
- assumed: everything the documents do not publish. Azure's vCPU runs as fast as the measuring machine (the second
  column: half as fast); the platform grants instances as fast as the fan-out asks; the durable overheads take the
  published maximum throughputs. Left out and said so with the table: queue polling after an idle period, Event Grid
  delivery, platform instance allocation, blob round trips.

The arithmetic is in `estimate`; `markdown` prints the tables of docs/performance.md.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
EVAL = ROOT / "bench" / "results" / "eval-heldout-idle.json"
BENCH = ROOT / "bench" / "results" / "latest.json"
HOST_JSON = ROOT / "host.json"


@dataclass(frozen=True)
class Published:
    value: float
    unit: str
    source: str


FLEX = "https://learn.microsoft.com/azure/azure-functions/flex-consumption-plan"
PRICING = "https://azure.microsoft.com/pricing/details/functions/"
DURABLE_STORAGE = "https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-azure-storage-provider"
HOST_SETTINGS = "https://learn.microsoft.com/azure/azure-functions/durable/durable-functions-bindings#host-json"

PUBLISHED: dict[str, Published] = {
    # Flex Consumption plan, "Instance sizes": 512 MB -> 0.25, 2048 MB -> 1, 4096 MB -> 2 CPU cores ("typical
    # allocations"); 2048 MB is the default. Billing is by the configured size.
    "cores_512": Published(0.25, "CPU cores", FLEX),
    "cores_2048": Published(1, "CPU cores", FLEX),
    "cores_4096": Published(2, "CPU cores", FLEX),
    # "Considerations", Scale: the highest maximum instance count currently supported.
    "max_instances": Published(1000, "instances per app", FLEX),
    # "Regional subscription memory quotas": the lesser of 512,000 MB or 250 cores per subscription and region by
    # default (250 instances of 2048 MB, 125 of 4096 MB); a support ticket raises it.
    "quota_mb": Published(512_000, "MB per subscription and region", FLEX),
    "quota_cores": Published(250, "cores per subscription and region", FLEX),
    # "Billing": minimum billable execution period 1,000 ms, then rounded up to 100 ms.
    "min_billed_s": Published(1.0, "s", FLEX),
    # Pricing page, Flex Consumption, pay as you go, USD, East US (as quoted by
    # https://modal.com/blog/azure-function-pricing-guide, May 2025; a copy of the pricing page in EUR gives
    # EUR 0.000025/GB-s and EUR 0.371 per million, the same rates converted).
    "on_demand_gb_s": Published(0.000026, "USD per GB-s", PRICING),
    "on_demand_per_million": Published(0.40, "USD per million executions", PRICING),
    # Free grant per subscription and month (on demand only): 100,000 GB-s and 250,000 executions.
    "free_gb_s": Published(100_000, "GB-s per month", PRICING),
    "free_executions": Published(250_000, "executions per month", PRICING),
    # Always ready baseline: EUR 0.0000038/GB-s on the EUR copy of the pricing page; the USD figure was not found in
    # a stored copy. 0.000004 is that EUR rate converted at the on-demand rates' own ratio (0.000026 / 0.000025).
    "always_ready_baseline_gb_s": Published(0.000004, "USD per GB-s (converted, see comment)", PRICING),
    # Durable Functions, Azure Storage provider, "Performance targets": maximum throughput of one orchestration
    # instance on a single small (A1) VM, extended sessions enabled (this Python app does not enable them).
    "fan_out_per_s": Published(100, "activities per second, per orchestration instance", DURABLE_STORAGE),
    "fan_in_per_s": Published(150, "responses per second, per orchestration instance", DURABLE_STORAGE),
    # "Queue polling": exponential back-off up to maxQueuePollingInterval, default 30 s; latency grows only after
    # idle periods. The "Flex Consumption plan" section recommends 10 s or less, and one always ready instance for
    # the durable group.
    "max_queue_polling_s": Published(30, "s (default maxQueuePollingInterval)", DURABLE_STORAGE),
    "flex_recommended_polling_s": Published(10, "s (recommended maximum on Flex Consumption)", DURABLE_STORAGE),
    # Control queues: partitionCount 1-16, default 4; up to 32 messages dequeued per poll (controlQueueBatchSize).
    "partitions_default": Published(4, "control queues", DURABLE_STORAGE),
    "partitions_max": Published(16, "control queues", DURABLE_STORAGE),
    "control_queue_batch": Published(32, "messages per poll", HOST_SETTINGS),
    # Google Cloud Video Intelligence, stored video annotation, object tracking, above the first 1,000 free minutes
    # per month.
    "google_object_tracking_per_min": Published(
        0.15, "USD per minute", "https://cloud.google.com/video-intelligence/pricing"
    ),
}

# Measured once on this project's machine (2-core AMD EPYC, shared with a running evaluation, 2026-11-30), with a
# reaper that makes itself the child subreaper so the CPU of the whole process tree counts (as bench/eval_counts.py
# does): `videoanalysis analyze CLIP --model models/demo-yolo26n.onnx --workers 1 --chunk-seconds 10 --quiet`.
FIXED_PROCESS_CPU_S = 3.6
"""CPU of one local run that is not chunk work: interpreter starts, imports (torch for the tracker), model load,
planning, summary and chart. A 2 s clip cost 4.80 and 5.12 CPU s in all, of which its one chunk 1.50 and 1.15 s;
a 10 s clip 7.68 and 7.82 s. Subtracted from the evaluation's per-scene CPU to leave the chunks' share."""
EVAL_MACHINE = "2-core AMD EPYC"
"""Where eval-heldout-idle.json was measured (its JSON records 2 cores, not the CPU): the same session's machine as the
constants here, which ran the evaluation in the hour before."""
WORKER_PEAK_RSS_MIB = 692
"""Largest process of those runs (the worker: ONNX Runtime model, tracker, a batch of 8 decoded 1280x720 frames)."""
SUMMARY_CPU_S_360 = 23.5
"""The summarize activity for 360 chunks (a crowded 60 s run's 6 chunk results and detections repeated 60 times along
the timeline: 18,000 analysed frames, 2,283 objects): parsing the detections 0.35 CPU s, the tracking pass 22.6 s
(1.25 ms a frame), `build_summary` 0.13 s, timeline chart and HTML report 0.4 s, on the 2-core AMD EPYC. Reading the
360 chunk results, detections and thumbnails from Blob Storage is not included (its round trips are not measured);
the tracker's import is added from the cold-start bench."""

CHUNK_SECONDS = 10.0  # CHUNK_SECONDS default
ORCHESTRATOR_EPISODE_COMPLETIONS = 10  # completions per orchestrator episode in the replay bench
EXECUTIONS_PER_VIDEO_EXTRA = 3  # the blob trigger, plan_chunks, summarize


@dataclass(frozen=True)
class Plan:
    """A Flex Consumption instance size and how many chunks one instance runs at once."""

    memory_mb: int
    cores: float
    slots: int  # chunks in flight per instance (maxConcurrentActivityFunctions)

    @property
    def label(self) -> str:
        return f"{self.memory_mb} MB ({self.cores:g} vCPU), {self.slots} at once"


@dataclass(frozen=True)
class Measured:
    chunk_cpu_s: float  # one 10 s chunk on a warm worker
    worker_start_s: float  # a fresh chunk worker to its first detection (chunks do not track: no torch import)
    app_import_s: float  # `import function_app`: what a cold instance pays before plan_chunks runs
    replay_points: tuple[tuple[int, float], ...]  # (chunks, CPU s of one replay of the whole history)
    summary_cpu_s: float
    eval_machine: str
    bench_machine: str

    def replay_once_s(self, chunks: int) -> float:
        """One replay of a history with ``chunks`` completions, interpolated on log-log axes between measured sizes."""
        pairs = list(itertools.pairwise(sorted(self.replay_points)))
        low, high = next(((a, b) for a, b in pairs if chunks <= b[0]), pairs[-1])
        slope = math.log(high[1] / low[1]) / math.log(high[0] / low[0])
        return low[1] * (chunks / low[0]) ** slope


def load_measured(eval_path: Path = EVAL, bench_path: Path = BENCH) -> Measured:
    evaluation = json.loads(eval_path.read_text())
    runs = [scene["runs"]["app_10"] for scene in evaluation["scenes"] if "cpu_s" in scene["runs"].get("app_10", {})]
    if not runs:
        raise ValueError(f"{eval_path}: no app_10 runs with cpu_s")
    per_chunk = statistics.mean((run["cpu_s"] - FIXED_PROCESS_CPU_S) / run["chunks"] for run in runs)
    bench = json.loads(bench_path.read_text())
    starts = bench["cold_start"]["medians"]
    replay = tuple((row["chunks"], row["replay_once_cpu_s"]) for row in bench["replay"]["rows"])
    return Measured(
        chunk_cpu_s=per_chunk,
        worker_start_s=starts["onnx"]["total_s"],
        app_import_s=starts["import function_app"]["total_s"],
        replay_points=replay,
        # The summarize activity imports the tracker (and torch) in its worker: the time from the first detection to
        # the first tracked frame in the cold-start bench.
        summary_cpu_s=SUMMARY_CPU_S_360 + starts["onnx"]["first_track_s"] - starts["onnx"]["total_s"],
        eval_machine=f"{EVAL_MACHINE}, {evaluation['config']['finished'][:10]}",
        bench_machine=f"{bench['machine']['cpu']}, {bench['generated'][:10]}",
    )


def host_settings(path: Path = HOST_JSON) -> dict[str, Any]:
    """The durable settings of host.json that the model uses (absent ones take the documented defaults)."""
    durable = json.loads(path.read_text()).get("extensions", {}).get("durableTask", {})
    provider = durable.get("storageProvider", {})
    polling = provider.get("maxQueuePollingInterval")
    return {
        "max_concurrent_activities": durable.get("maxConcurrentActivityFunctions"),
        "partition_count": provider.get("partitionCount", PUBLISHED["partitions_default"].value),
        "max_queue_polling_s": _seconds(polling) if polling else PUBLISHED["max_queue_polling_s"].value,
    }


def _seconds(hhmmss: str) -> float:
    hours, minutes, seconds = (float(part) for part in hhmmss.split(":"))
    return hours * 3600 + minutes * 60 + seconds


@dataclass(frozen=True)
class Estimate:
    plan: Plan
    instances: int  # asked for
    used: int  # that get a chunk
    waves: int
    chunks: int
    seconds: Mapping[str, float]  # the critical path, step by step
    gb_s: float
    executions: int
    cost_usd: float
    over_quota: bool

    @property
    def total_s(self) -> float:
        return sum(self.seconds.values())


def estimate(
    measured: Measured, plan: Plan, instances: int, video_s: float = 3600.0, cpu_factor: float = 1.0
) -> Estimate:
    """Time to result of one video fanned out over ``instances`` on-demand instances, and its on-demand cost.

    ``cpu_factor`` scales every measured CPU time (2.0: Azure's vCPU half as fast as the measuring machine). The
    steps are added, so where they overlap (dispatch with the first wave, fan-in with the last) the sum is an upper
    bound; queue polling after an idle period and platform instance allocation are not in it (not published).
    """
    if not 1 <= instances <= PUBLISHED["max_instances"].value:
        raise ValueError(f"instances must be 1-{PUBLISHED['max_instances'].value:g} (Flex Consumption's maximum)")
    chunks = math.ceil(video_s / CHUNK_SECONDS)
    used = min(instances, math.ceil(chunks / plan.slots))
    in_flight = min(chunks, used * plan.slots)
    waves = math.ceil(chunks / in_flight)
    share = max(1.0, plan.slots / plan.cores)  # chunks sharing one core
    chunk_wall = measured.chunk_cpu_s * cpu_factor * share
    last_wave = chunks - (waves - 1) * in_flight
    episodes_at_end = math.ceil(last_wave / PUBLISHED["control_queue_batch"].value)
    seconds = {
        "plan (cold instance: app import)": measured.app_import_s * cpu_factor,
        "fan-out dispatch": chunks / PUBLISHED["fan_out_per_s"].value,
        "worker start (first chunk per instance)": measured.worker_start_s * cpu_factor,
        "chunks": waves * chunk_wall,
        "fan-in of the last wave": last_wave / PUBLISHED["fan_in_per_s"].value
        + episodes_at_end * measured.replay_once_s(chunks) * cpu_factor,
        "summary": measured.summary_cpu_s * cpu_factor,
    }
    gb = plan.memory_mb / 1024
    billed = PUBLISHED["min_billed_s"].value
    busy_s = chunks * chunk_wall / plan.slots + used * measured.worker_start_s * cpu_factor
    episodes = math.ceil(chunks / ORCHESTRATOR_EPISODE_COMPLETIONS) + 2
    side_s = max(billed, seconds["plan (cold instance: app import)"]) + max(billed, seconds["summary"])
    gb_s = gb * (busy_s + side_s + episodes * billed)
    executions = chunks + episodes + EXECUTIONS_PER_VIDEO_EXTRA
    cost = gb_s * PUBLISHED["on_demand_gb_s"].value + executions * PUBLISHED["on_demand_per_million"].value / 1e6
    cores = used * plan.cores
    over_quota = used * plan.memory_mb > PUBLISHED["quota_mb"].value or cores > PUBLISHED["quota_cores"].value
    return Estimate(plan, instances, used, waves, chunks, seconds, gb_s, executions, cost, over_quota)


def default_plans(settings: Mapping[str, Any]) -> list[Plan]:
    """2048 MB running one chunk at a time (docs/deploy.md, Plan), and 4096 MB at host.json's concurrency."""
    slots = int(settings["max_concurrent_activities"] or 1)
    return [
        Plan(2048, PUBLISHED["cores_2048"].value, 1),
        Plan(4096, PUBLISHED["cores_4096"].value, slots),
    ]


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def markdown(
    measured: Measured,
    settings: Mapping[str, Any],
    instances: Sequence[int] = (10, 100, 1000),
    video_s: float = 3600.0,
    slow: float = 2.0,
) -> str:
    plans = default_plans(settings)
    rows = [
        f"| instance size, chunks at once | instances | used | waves | time to result | vCPU {slow:g}x slower "
        f"| cost per video-hour | vCPU {slow:g}x slower |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for plan in plans:
        for count in instances:
            same = estimate(measured, plan, count, video_s)
            half = estimate(measured, plan, count, video_s, cpu_factor=slow)
            used = f"{same.used}{' *' if same.over_quota else ''}"
            rows.append(
                f"| {plan.label} | {count:,} | {used} | {same.waves} | {_duration(same.total_s)} "
                f"| {_duration(half.total_s)} | ${same.cost_usd * 3600 / video_s:.2f} "
                f"| ${half.cost_usd * 3600 / video_s:.2f} |"
            )
    first = plans[0]
    steps = list(estimate(measured, first, instances[0], video_s).seconds)
    breakdown = [
        f"| {first.memory_mb} MB, 1 at once | " + " | ".join(steps) + " |",
        "|---|" + "---|" * len(steps),
    ]
    for count in instances:
        parts = estimate(measured, first, count, video_s).seconds
        breakdown.append(f"| {count:,} instances | " + " | ".join(f"{parts[s]:.1f}" for s in steps) + " |")
    google = PUBLISHED["google_object_tracking_per_min"].value * 60
    sample = estimate(measured, first, instances[0], video_s)
    polling = settings["max_queue_polling_s"]
    lines = [
        f"Video: {video_s / 3600:g} h, {sample.chunks} chunks of {CHUNK_SECONDS:g} s. Chunk CPU "
        f"{measured.chunk_cpu_s:.2f} s (evaluation, {measured.eval_machine}); worker start "
        f"{measured.worker_start_s:.2f} s and replay costs from the bench ({measured.bench_machine}).",
        "",
        *rows,
        "",
        "\\* more than the default regional quota (512,000 MB or 250 cores per subscription and region): "
        "needs a quota increase.",
        "",
        "Seconds on the critical path (same vCPU speed):",
        "",
        *breakdown,
        "",
        f"Not in the times: queue polling after an idle period, up to 2 x maxQueuePollingInterval "
        f"(host.json: {polling:g} s) before the orchestration and plan_chunks run; Event Grid delivery and "
        "platform instance allocation (not published); blob round trips (video reads, "
        f"{sample.chunks} chunk results and the thumbnails in the summary). One video's orchestration lives on "
        f"one control queue: host.json's partitionCount ({settings['partition_count']:g}) does not speed it up.",
        "",
        f"Memory: a worker peaked at {WORKER_PEAK_RSS_MIB} MiB resident (ONNX model, one 1280x720 chunk); "
        "billing counts the instance size, not what is used.",
        "",
        f"Cost: on-demand GB-s and executions, before the monthly free grant "
        f"({PUBLISHED['free_gb_s'].value:,.0f} GB-s, {PUBLISHED['free_executions'].value:,.0f} executions); "
        f"{sample.gb_s:,.0f} GB-s and {sample.executions} executions at {instances[0]} instances. "
        f"Google Video Intelligence object tracking: ${google:.2f} per video-hour.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cost_model", description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--video-minutes", type=float, default=60.0)
    parser.add_argument("--slow", type=float, default=2.0, help="CPU factor of the second column (default 2)")
    args = parser.parse_args(argv)
    print(markdown(load_measured(), host_settings(), args.instances, args.video_minutes * 60, args.slow))


if __name__ == "__main__":
    main()
