"""`python -m bench [SECTION ...] [--quick]`: run benchmarks, write bench/results/latest.json and latest.md.

Sections (all by default, in this order): throughput, ceiling, backends, cold_start, footprint, replay, profile,
int8 (also `python -m bench.int8`; its table is bench/results/int8.md), decode (also `python -m bench.decode`;
bench/results/decode.md), activity_threads, batch (also `python -m bench.batch`; bench/results/batch.md).
Every section of one run uses the same video, model files, thresholds and sampling; --repeats N takes the medians of
wall times over N runs instead of 3, for a noisy machine. --quick is a smoke run
(a 20 s scene, one repetition, fewer frames and chunks): its numbers are not for comparison.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import (
    activity_threads,
    backends,
    batch,
    ceiling,
    cold_start,
    decode,
    footprint,
    int8,
    profiling,
    replay,
    throughput,
)
from bench.common import (
    RESULTS,
    ROOT,
    TMP,
    Context,
    cpu_model,
    ensure_scene,
    median,
    prepare_environment,
    round_floats,
)
from bench.report import render, targets

SECTIONS = (
    "throughput", "ceiling", "backends", "cold_start", "footprint", "replay", "profile", "int8", "decode",
    "activity_threads", "batch",
)  # fmt: skip
NEEDS_SCENE = {"throughput", "ceiling", "backends", "cold_start", "profile", "decode", "activity_threads"}
VERSIONS = ("torch", "ultralytics", "onnxruntime", "opencv-python", "numpy", "azure-functions-durable")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("sections", nargs="*", metavar="SECTION", help=f"any of {', '.join(SECTIONS)} (default: all)")
    parser.add_argument("--quick", action="store_true", help="smoke run: short scene, one repetition")
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "demo-yolo26n.pt", help=".pt model file")
    parser.add_argument("--onnx", type=Path, help="ONNX export of the model (default: beside --model)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for latest.json and latest.md")
    parser.add_argument(
        "--repeats", type=int, default=3, help="runs behind each median of wall times (default 3; more when noisy)"
    )
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    if unknown := sorted(set(args.sections) - set(SECTIONS)):
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    return args


def machine() -> dict[str, Any]:
    return {
        "cpu": cpu_model(),
        "python": platform.python_version(),
        "versions": {name: importlib.metadata.version(name) for name in VERSIONS},
        "load_before": round(os.getloadavg()[0], 2),
    }


def median_wall(ctx: Context, results: dict[str, Any], variant: str) -> float:
    """A throughput variant's median wall time: from this run's throughput section, else measured now."""
    if "throughput" in results:
        return results["throughput"]["rows"][variant]["median_s"]
    once = throughput.variants(ctx)[variant]
    return median([once()[0] for _ in range(ctx.repeats)])


def fastest_runner(ctx: Context, results: dict[str, Any]) -> tuple[str, float]:
    """The all-cores runner variant (.pt or .onnx model) with the least median wall time, and that time."""
    names = [name for name in throughput.variants(ctx) if name.startswith(f"runner_{ctx.cores}")]
    walls = {name: median_wall(ctx, results, name) for name in names}
    best = min(walls, key=walls.__getitem__)
    return best, walls[best]


def run_section(name: str, ctx: Context, results: dict[str, Any]) -> Any:
    if name == "throughput":
        return throughput.run(ctx)
    if name == "ceiling":
        return ceiling.run(ctx, *fastest_runner(ctx, results), median_wall(ctx, results, "baseline"))
    if name == "backends":
        return backends.run(ctx)
    if name == "cold_start":
        return cold_start.run(ctx)
    if name == "footprint":
        return footprint.run()
    if name == "replay":
        return replay.run((100, 1000) if ctx.quick else (100, 1000, 5000), repeats=1 if ctx.quick else 3)
    if name == "int8":
        return int8.run(ctx.model_onnx, ctx.quick, out=None if ctx.quick else RESULTS)
    if name == "decode":
        return decode.run(ctx, out=None if ctx.quick else RESULTS)
    if name == "activity_threads":
        return activity_threads.run(ctx)
    if name == "batch":
        return batch.run(ctx, out=None if ctx.quick else RESULTS)
    return profiling.run(ctx)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sections = [name for name in SECTIONS if name in (args.sections or SECTIONS)]
    onnx = args.onnx or args.model.with_suffix(".onnx")
    missing = [str(path) for path in (args.model, onnx) if not path.is_file()]
    if missing:
        print(f"error: model file(s) missing: {', '.join(missing)} (see tools/train_demo_model.py)", file=sys.stderr)
        return 2
    TMP.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="config-", dir=TMP) as config:
        prepare_environment(Path(config))
        results = run(args, sections, onnx)
    print(render(results))
    return 0


def run(args: argparse.Namespace, sections: list[str], onnx: Path) -> dict[str, Any]:
    """Run `sections` and write latest.json / latest.md; returns the results."""
    ctx = Context(
        args.model.resolve(),
        onnx.resolve(),
        quick=args.quick,
        seconds=20.0 if args.quick else 60.0,
        wall_repeats=args.repeats,
    )
    results: dict[str, Any] = {"generated": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine()}
    results |= {"context": ctx.to_dict(), "sections": sections, "durations_s": {}}
    if NEEDS_SCENE & set(sections):
        ensure_scene(ctx)
    for name in sections:
        print(f"bench: {name} ...", file=sys.stderr, flush=True)
        start = time.perf_counter()
        results[name] = run_section(name, ctx, results)
        results["durations_s"][name] = time.perf_counter() - start
    results["machine"]["load_after"] = round(os.getloadavg()[0], 2)
    results["targets"] = targets(results)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "latest.json").write_text(json.dumps(round_floats(results), indent=1) + "\n")
    (args.out / "latest.md").write_text(render(results) + "\n")
    return results


if __name__ == "__main__":
    sys.exit(main())
