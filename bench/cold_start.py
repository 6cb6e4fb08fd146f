"""Cold start: a fresh process to its first detection, per backend; and the function app's import time.

The first-detection time runs from just before the process is started to the moment its result line arrives
(interpreter start, imports, model load with the product's warm-up, one real 1280x720 frame), so it is what a new
worker pays before its first detection; the first-track time goes on until that frame is tracked (the product's
Ultralytics tracker, which imports torch), what a chunk needs before its first tracked frame. Runs are interleaved
across backends; medians of 5 (2 with --quick).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import numpy as np

from bench.common import ROOT, TMP, Context, median, python
from bench.engines import KINDS
from bench.extras import openvino_site
from bench.first_detection import MARKER, TRACK_MARKER
from bench.workers import sampled_frames

TOP_IMPORTS = 8


def _first_detection(args: list[str]) -> dict[str, Any]:
    start = time.perf_counter()
    with subprocess.Popen(
        [sys.executable, "-m", "bench.first_detection", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        lines = iter(process.stdout or [])
        line = next((line for line in lines if line.startswith(MARKER)), "")
        total = time.perf_counter() - start
        tracked = next((line for line in lines if line.startswith(TRACK_MARKER)), "")
        first_track = {"first_track_s": time.perf_counter() - start} if tracked else {}
        if process.wait() != 0 or not line:
            raise RuntimeError(f"first detection with {args[0]} failed (exit {process.returncode})")
    return {**json.loads(line.removeprefix(MARKER)), "total_s": total, **first_track}


def import_profile() -> list[dict[str, Any]]:
    """Where `import function_app` spends its time: self time of every module summed per top-level package."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import function_app"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    packages: dict[str, float] = defaultdict(float)
    for line in done.stderr.splitlines():
        parts = line.removeprefix("import time:").split("|")
        if len(parts) == 3 and parts[0].strip().isdigit():
            packages[parts[2].strip().split(".")[0]] += int(parts[0]) / 1e6
    top = sorted(packages.items(), key=lambda item: -item[1])[:TOP_IMPORTS]
    return [{"package": name, "self_s": seconds} for name, seconds in top]


def run(ctx: Context) -> dict[str, Any]:
    repeats = 2 if ctx.quick else 5
    frame = TMP / "cold-start-frame.npy"
    np.save(frame, sampled_frames(str(ctx.video), ctx.sample_fps, start_ms=10_000, limit=1)[0])
    site, skipped = openvino_site()
    kinds = [kind for kind in KINDS if kind != "openvino-raw" or site]
    samples: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for _ in range(repeats):
        for kind in kinds:
            model = str(ctx.model_for(kind))
            args = [kind, model, str(frame), str(ctx.imgsz), str(ctx.conf), str(ctx.cores), *([site] if site else [])]
            samples[kind].append(_first_detection(args))
        samples["python -c pass"].append({"total_s": python(["-c", "pass"])[0]})
        samples["import function_app"].append({"total_s": python(["-c", "import function_app"])[0]})
    medians = {
        name: {key: median([run[key] for run in runs]) for key in runs[0] if key.endswith("_s")}
        for name, runs in samples.items()
    }
    return {
        "loaded_modules": {kind: samples[kind][0]["loaded"] for kind in kinds},
        "repeats": repeats,
        "threads": ctx.cores,
        "medians": medians,
        "openvino": "measured" if site else f"skipped: {skipped}",
        "function_app_imports": import_profile(),
    }
