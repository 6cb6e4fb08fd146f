"""Optional tools the benchmarks fetch with pip into bench/results/tmp, never into the venv or requirements.

OpenVINO (an extra CPU backend) and py-spy (a sampling profiler) are used when pip can fetch them; otherwise the
section that wants them reports why it skipped.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bench.common import TMP

OPENVINO = ("openvino==2026.4.1", "openvino-telemetry==2025.2.0")
PY_SPY = ("py-spy==0.4.3",)


def _pip_target(name: str, packages: tuple[str, ...]) -> tuple[Path | None, str | None]:
    """Install `packages` (no dependencies: numpy etc. come from the venv) into TMP/name; (folder, error)."""
    target = TMP / name
    marker = target / ".installed"
    if marker.is_file() and marker.read_text() == " ".join(packages):
        return target, None
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    command += ["--upgrade", "--target", str(target), *packages]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    except subprocess.TimeoutExpired:
        return None, f"pip install {' '.join(packages)} timed out"
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines() or ["no output"]
        return None, f"pip install {' '.join(packages)} failed: {lines[-1]}"
    marker.write_text(" ".join(packages))
    return target, None


def openvino_site() -> tuple[str | None, str | None]:
    """A folder to append to sys.path for `import openvino`, or None and why not."""
    target, error = _pip_target("pylib-openvino", OPENVINO)
    return (str(target), None) if target else (None, error)


def py_spy() -> tuple[str | None, str | None]:
    """The py-spy executable, or None and why not."""
    target, error = _pip_target("pylib-py-spy", PY_SPY)
    if target is None:
        return None, error
    executable = target / "bin" / "py-spy"
    return (str(executable), None) if executable.is_file() else (None, f"no py-spy executable in {target}")
