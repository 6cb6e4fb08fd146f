"""What every benchmark shares: the run's fixed inputs (video, model, thresholds, sampling), timing and subprocesses.

Every section of one run sees the same `Context`, so all numbers in a report come from the same video, model file,
thresholds and sampling, measured side by side.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from videoanalysis.models import available_cores

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
TMP = RESULTS / "tmp"  # git-ignored: cached scene, run outputs, optional tools
SCENE_SEED = 5150  # held out: training renders seeds 10000+ (val 20000+), evaluation 0-4, tests 3 and 424242
SCENE_SECONDS = 60.0
SCENE_CODEC = "h264"  # what users upload; decoding it costs more than mp4v


@dataclass(frozen=True)
class Context:
    """The fixed inputs of one benchmark run."""

    model_pt: Path
    model_onnx: Path
    quick: bool = False
    imgsz: int = 416  # the demo model's own size (models/README.md)
    conf: float = 0.25
    sample_fps: float = 5.0
    batch: int = 8
    seconds: float = SCENE_SECONDS
    cores: int = field(default_factory=available_cores)  # what the runner and the app count
    wall_repeats: int = 3  # more on a noisy machine (`python -m bench --repeats N`)

    @property
    def repeats(self) -> int:
        """Repetitions behind each median of wall times (cold starts take 5)."""
        return 1 if self.quick else self.wall_repeats

    def model_for(self, kind: str) -> Path:
        """The model file an engine kind runs: the checkpoint for the PyTorch kinds, else the ONNX export."""
        return self.model_pt if kind.startswith("pt") else self.model_onnx

    @property
    def video(self) -> Path:
        return TMP / f"scene-{SCENE_SEED}-{self.seconds:g}s-{SCENE_CODEC}.mp4"

    @property
    def truth_path(self) -> Path:
        return self.video.with_suffix(".truth.json")

    def truth(self) -> dict[str, Any]:
        return json.loads(self.truth_path.read_text())

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_pt": str(self.model_pt.relative_to(ROOT) if self.model_pt.is_relative_to(ROOT) else self.model_pt),
            "model_onnx": str(
                self.model_onnx.relative_to(ROOT) if self.model_onnx.is_relative_to(ROOT) else self.model_onnx
            ),
            "model_sha256": hashlib.sha256(self.model_pt.read_bytes()).hexdigest()[:12],
            "quick": self.quick,
            "imgsz": self.imgsz,
            "conf": self.conf,
            "sample_fps": self.sample_fps,
            "batch": self.batch,
            "cores": self.cores,
            "wall_repeats": self.repeats,
            "scene": {"seed": SCENE_SEED, "seconds": self.seconds, "codec": SCENE_CODEC, "size": "1280x720"},
        }


def prepare_environment(config: Path) -> None:
    """Offline Ultralytics and throw-away config folders under `config`, inherited by every child process."""
    os.environ["YOLO_OFFLINE"] = "1"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config / "ultralytics"))
    os.environ.setdefault("MPLCONFIGDIR", str(config / "matplotlib"))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))


def ensure_scene(ctx: Context) -> dict[str, Any]:
    """The benchmark scene, rendered once and cached under bench/results/tmp; returns its ground truth."""
    if not (ctx.video.is_file() and ctx.truth_path.is_file()):
        from scenes.generator import write_scene

        partial = ctx.video.with_name(f".{ctx.video.name}")
        write_scene(partial, ctx.truth_path, seed=SCENE_SEED, seconds=ctx.seconds, codec=SCENE_CODEC)
        partial.replace(ctx.video)
    return ctx.truth()


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Wall seconds of one call and its result."""
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def python(args: Sequence[str], timeout: float = 900.0, env: Mapping[str, str] | None = None) -> tuple[float, str]:
    """Run this interpreter in a fresh process from the repo root, with `env` added to this environment; wall seconds
    (process start included) and stdout."""
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} ... exited {done.returncode}: {done.stderr.strip()[-2000:]}")
    return wall, done.stdout


def call_json(function: str, *args: Any, timeout: float = 900.0) -> tuple[float, Any]:
    """Call `module:function(*args)` in a fresh interpreter; wall seconds of the whole process and its JSON result."""
    module, name = function.split(":")
    code = f"import json, sys; from {module} import {name}; print(json.dumps({name}(*json.loads(sys.argv[1]))))"
    wall, out = python(["-c", code, json.dumps(args)], timeout)
    return wall, json.loads(out.strip().splitlines()[-1])


def round_floats(data: Any, digits: int = 4) -> Any:
    """Results rounded for the JSON file (timings are not meaningful past 0.1 ms)."""
    if isinstance(data, float):
        return round(data, digits)
    if isinstance(data, dict):
        return {key: round_floats(value, digits) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [round_floats(value, digits) for value in data]
    return data


def write_results(out: Path, name: str, results: dict[str, Any], lines: Sequence[str]) -> None:
    """A section's results as `name`.json (rounded) and its table as `name`.md, under `out`."""
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(round_floats(results), indent=1) + "\n")
    (out / f"{name}.md").write_text("\n".join(lines) + "\n")


def cpuinfo() -> dict[str, str]:
    """This machine's first CPU as Linux describes it (`/proc/cpuinfo`: model name, flags...); empty elsewhere."""
    path = Path("/proc/cpuinfo")
    lines = path.read_text().split("\n\n", 1)[0].splitlines() if path.is_file() else []
    return {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in lines)}


def cpu_model() -> str:
    """The CPU's model name, for the results' machine line."""
    return cpuinfo().get("model name") or platform.processor()


def cpu_flags() -> frozenset[str]:
    """The CPU's instruction-set flags (avx2, avx512_vnni...)."""
    return frozenset(cpuinfo().get("flags", "").split())
