"""Deployment footprint: installed size of what a worker needs, on the default (torch) and a lean (ONNX Runtime) path.

Sizes are the files each installed distribution records (its RECORD), summed over the dependency closure of a few
roots, with markers evaluated for this interpreter. Whether the lean path is feasible hinges on tracking: the test
imports Ultralytics' ByteTrack in a fresh process in which `import torch` fails.
"""

from __future__ import annotations

import importlib.metadata as metadata
import os
import subprocess
import sys
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


def run() -> dict[str, Any]:
    installed = _installed()
    sizes = {name: _size(dist) for name, dist in installed.items()}
    paths = {}
    for label, roots in PATHS.items():
        names = closure(roots, installed)
        paths[label] = {
            "roots": list(roots),
            "distributions": len(names),
            "mib": sum(sizes[name] for name in names) / 2**20,
            "largest": {name: sizes[name] / 2**20 for name in sorted(names, key=lambda n: -sizes[n])[:TOP]},
        }
    return {
        "paths": paths,
        "venv_site_packages_mib": sum(sizes.values()) / 2**20,
        "bytetrack_without_torch": torch_free_tracking(),
    }
