"""Cold start: a fresh process to its first detection, per backend; and the function app's import time.

The first-detection time runs from just before the process is started to the moment its result line arrives
(interpreter start, imports, model load with the product's warm-up, one real 1280x720 frame), so it is what a new
worker pays before its first detection; the first-track time goes on until that frame is tracked (the product's
Ultralytics tracker, which imports torch: what the summarize activity's worker pays, since chunks do not track).
Those steps run one after another there. The activity row is the product's own chunk path instead: a fresh process
runs `analyze_window` on a chunk of one sampled frame 10 s into the video (open, seek, decode, load, detect, measure
the camera's motion, crop), and its time is a chunk worker's first analysed frame. Runs are interleaved across
backends; medians of 5 (2 with --quick).
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
from bench.first_detection import CHUNK_MARKER, MARKER, TRACK_MARKER
from bench.workers import sampled_frames
from videoanalysis.video import probe

TOP_IMPORTS = 8
CHUNK_BACKEND = "onnx"  # the default CPU profile: an .onnx on ONNX Runtime
CHUNK_ROW = "activity chunk (onnx)"


def _child(args: list[str], markers: tuple[str, ...]) -> dict[str, tuple[dict[str, Any], float]]:
    """Run a `bench.first_detection` child; for each of its markers, in order, the JSON it printed and the seconds from
    just before the process started to the moment that line arrived."""
    start = time.perf_counter()
    found: dict[str, tuple[dict[str, Any], float]] = {}
    with subprocess.Popen(
        [sys.executable, "-m", "bench.first_detection", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    ) as process:
        lines = iter(process.stdout or [])
        for marker in markers:
            line = next((line for line in lines if line.startswith(marker)), "")
            if line:
                found[marker] = (json.loads(line.removeprefix(marker)), time.perf_counter() - start)
        if process.wait() != 0 or markers[0] not in found:
            raise RuntimeError(f"cold start child {args[0]} failed (exit {process.returncode})")
    return found


def _first_detection(args: list[str]) -> dict[str, Any]:
    found = _child(args, (MARKER, TRACK_MARKER))
    phases, total = found[MARKER]
    first_track = {"first_track_s": found[TRACK_MARKER][1]} if TRACK_MARKER in found else {}
    return {**phases, "total_s": total, **first_track}


def _first_chunk(model: str, video: str, info: str, threads: int) -> dict[str, Any]:
    phases, total = _child(["chunk", model, video, info, str(threads)], (CHUNK_MARKER,))[CHUNK_MARKER]
    return {**phases, "first_track_s": total}


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
    info = json.dumps(probe(str(ctx.video)).to_dict())
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
        samples[CHUNK_ROW].append(_first_chunk(str(ctx.model_for(CHUNK_BACKEND)), str(ctx.video), info, ctx.cores))
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
        "activity_row": CHUNK_ROW,
        "openvino": "measured" if site else f"skipped: {skipped}",
        "function_app_imports": import_profile(),
    }
