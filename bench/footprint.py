"""Deployment footprint: installed size of what a worker needs, on the default (torch) and a lean (ONNX Runtime) path.

Sizes are the files each installed distribution records (its RECORD), summed over the dependency closure of a few
roots, with markers evaluated for this interpreter. Whether the lean path is feasible hinges on tracking: the test
imports Ultralytics' ByteTrack in a fresh process in which `import torch` fails.

The CPU profile (requirements-cpu.txt) swaps PyTorch's CUDA build for its CPU build, which this machine cannot
download: its row is the default closure without the CUDA wheels torch pulls in (nvidia-*, triton), with torch's size
replaced by the unpacked size of the CPU wheel that pip finds offline here (its version is in the label), if any.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from bench.common import ROOT

PATHS = {
    "default (torch + ultralytics)": ("ultralytics", "lap"),
    "default + onnx backend": ("ultralytics", "lap", "onnxruntime"),
    "lean (onnxruntime + opencv + numpy + lap)": ("onnxruntime", "opencv-python", "numpy", "lap"),
}
TOP = 12
CPU_PROFILE_ROOTS = PATHS["default + onnx backend"]
CPU_TORCH = "torch==2.13.0+cpu"  # the CPU build pip finds without a network here
WHEEL_CACHE = Path("/opt/wheels")  # where this machine keeps it (pip's find-links)
CUDA_PREFIXES = ("nvidia-", "triton", "cuda-")
NO_TORCH = (
    "import sys, traceback\n"
    "sys.modules['torch'] = None\n"
    "try:\n"
    "    from ultralytics.trackers.byte_tracker import BYTETracker\n"
    "except Exception as error:\n"
    "    frames = [f for f in traceback.extract_tb(error.__traceback__) if 'ultralytics' in f.filename]\n"
    "    where = f'{frames[-1].filename.split(\"site-packages/\")[-1]}:{frames[-1].lineno}' if frames else '?'\n"
    "    print(f'{type(error).__name__}: {error} (at {where})')\n"
    "else:\n"
    "    print('ok')\n"
)


def _installed() -> dict[str, metadata.Distribution]:
    return {canonicalize_name(dist.metadata["Name"]): dist for dist in metadata.distributions()}


def _size(dist: metadata.Distribution) -> int:
    total = 0
    for file in dist.files or []:
        path = file.locate()
        if os.path.isfile(path):
            total += os.path.getsize(path)
    return total


def closure(roots: tuple[str, ...], installed: dict[str, metadata.Distribution]) -> set[str]:
    """The installed distributions `roots` need, transitively (no extras)."""
    seen: set[str] = set()
    todo = [canonicalize_name(root) for root in roots]
    while todo:
        name = todo.pop()
        if name in seen or name not in installed:
            continue
        seen.add(name)
        for line in installed[name].requires or []:
            requirement = Requirement(line)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(requirement.name))
    return seen


def torch_free_tracking() -> str:
    """'ok' if Ultralytics' ByteTrack imports with torch unavailable, else the error and where it arose."""
    done = subprocess.run([sys.executable, "-c", NO_TORCH], cwd=ROOT, capture_output=True, text=True, check=False)
    return (done.stdout.strip() or done.stderr.strip()).splitlines()[-1]


def cpu_torch_size() -> int | None:
    """Unpacked bytes of the CPU build of torch, from a wheel pip can fetch here without a network; None if none."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-index", CPU_TORCH, "-d"]
        links = ["--find-links", str(WHEEL_CACHE)] if WHEEL_CACHE.is_dir() else []
        done = subprocess.run([*command, folder, *links], capture_output=True, text=True, check=False)
        wheels = list(Path(folder).glob("torch-*.whl"))
        if done.returncode != 0 or not wheels:
            return None
        with zipfile.ZipFile(wheels[0]) as wheel:
            return sum(info.file_size for info in wheel.infolist())


def _path(roots: tuple[str, ...], names: set[str], sizes: dict[str, int]) -> dict[str, Any]:
    return {
        "roots": list(roots),
        "distributions": len(names),
        "mib": sum(sizes[name] for name in names) / 2**20,
        "largest": {name: sizes[name] / 2**20 for name in sorted(names, key=lambda n: -sizes[n])[:TOP]},
    }


def run() -> dict[str, Any]:
    installed = _installed()
    sizes = {name: _size(dist) for name, dist in installed.items()}
    paths = {label: _path(roots, closure(roots, installed), sizes) for label, roots in PATHS.items()}
    if (cpu_torch := cpu_torch_size()) is not None:
        names = {name for name in closure(CPU_PROFILE_ROOTS, installed) if not name.startswith(CUDA_PREFIXES)}
        paths[f"CPU profile (requirements-cpu.txt; {CPU_TORCH} wheel)"] = _path(
            CPU_PROFILE_ROOTS, names, {**sizes, "torch": cpu_torch}
        )
    return {
        "paths": paths,
        "venv_site_packages_mib": sum(sizes.values()) / 2**20,
        "bytetrack_without_torch": torch_free_tracking(),
    }
