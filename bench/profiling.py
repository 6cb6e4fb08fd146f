"""Where the runner's time goes: py-spy samples of `videoanalysis analyze` (all worker processes) with the
.onnx model, i.e. the product's fastest configuration (ONNX Runtime backend).

Each sampled stack is put in the first category whose marker it contains (leaf-most frames decide within the
analysis loop), so the shares add up to 1 over the CPU the run's processes used.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from typing import Any

from bench.common import ROOT, TMP, Context
from bench.extras import py_spy

RATE = 100  # samples per second and process
# (category, markers): a stack is in the first category one of whose (function or "", path fragment) is in it
CATEGORIES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("imports", (("_find_and_load", ""),)),
    ("model load + warm-up", (("load_detection_model", "videoanalysis/models.py"),)),
    ("decode + seek (OpenCV)", (("", "videoanalysis/video.py"),)),
    (
        "tracking (Ultralytics tracker)",
        (("", "ultralytics/trackers/"), ("update", "videoanalysis/tracking/adapter.py")),
    ),
    ("inference: preprocess", (("preprocess", "ultralytics/engine/predictor.py"), ("letterbox", "onnx_model.py"))),
    ("inference: model forward", (("inference", "ultralytics/engine/predictor.py"), ("", "onnxruntime/"))),
    ("inference: postprocess + results", (("postprocess", ""), ("", "ultralytics/engine/results.py"))),
    ("inference: other (blob, Ultralytics engine)", (("", "ultralytics/engine/"), ("predict", "onnx_model.py"))),
    ("summarize (tracking pass, chart)", (("summarize", "activities/summary.py"),)),
    ("chunk results (JSON lines, stats)", (("", "videoanalysis/analysis.py"),)),
    ("process pool, pickling", (("", "concurrent/futures/"), ("", "multiprocessing/"))),
)
FRAME = re.compile(r"^(?P<function>[^ ]*) \((?P<path>.*)\)$")


def categorize(stack: str) -> str:
    """The category of one collapsed py-spy stack: frames `Class.function (path:line)` joined by ';', root first."""
    frames = [(m["function"], m["path"]) for m in map(FRAME.match, stack.split(";")) if m]
    for name, markers in CATEGORIES:
        for function, fragment in markers:
            if any(_named(f, function) and fragment in path for f, path in frames):
                return name
    return "other" if frames else "no Python frame (native code outside any Python call)"


def _named(qualified: str, function: str) -> bool:
    return not function or qualified == function or qualified.endswith(f".{function}")


def run(ctx: Context) -> dict[str, Any]:
    executable, skipped = py_spy()
    if executable is None:
        return {"skipped": skipped}
    out = TMP / "runs" / "profile"
    raw = out / "py-spy.txt"
    out.mkdir(parents=True, exist_ok=True)
    command = [executable, "record", "--subprocesses", "--format", "raw", "--rate", str(RATE), "-o", str(raw), "--"]
    command += [sys.executable, "-m", "runner", "analyze", str(ctx.video), "--model", str(ctx.model_onnx)]
    command += ["--out", str(out / "summary.json"), "--sample-fps", f"{ctx.sample_fps:g}", "--imgsz", str(ctx.imgsz)]
    command += ["--conf", f"{ctx.conf:g}", "--batch-size", str(ctx.batch), "--workers", str(ctx.cores), "--quiet"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False)
    if done.returncode != 0 or not raw.is_file():
        return {"skipped": f"py-spy failed: {(done.stderr.strip().splitlines() or ['?'])[-1]}"}
    samples: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        samples[categorize(stack)] += int(count)
    total = sum(samples.values())
    return {
        "samples": total,
        "cpu_s": total / RATE,
        "shares": {name: count / total for name, count in samples.most_common()},
        "raw": str(raw.relative_to(ROOT)),
    }
