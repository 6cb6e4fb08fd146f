"""What the Functions host would index from function_app.py, and a cheap, model-free import."""

from __future__ import annotations

import fnmatch
import subprocess
import sys

from tests.conftest import ROOT


def _functions() -> dict[str, dict[str, tuple[str, str]]]:
    from azure.functions.decorators.core import BindingDirection

    from function_app import app

    indexed = {}
    for function in app.get_functions():
        bindings = {
            binding.name: (binding.type, BindingDirection(binding.direction).name)
            for binding in function.get_bindings()
        }
        indexed[function.get_function_name()] = bindings
    return indexed


def test_app_indexes_orchestrator_and_activities() -> None:
    functions = _functions()
    assert functions["analyze_video"] == {"context": ("orchestrationTrigger", "IN")}
    for activity in ("plan_chunks", "analyze_chunk", "summarize"):
        assert functions[activity] == {"payload": ("activityTrigger", "IN")}


def test_importing_the_app_loads_no_model_and_no_torch() -> None:
    code = "import sys, function_app; print(sorted(m for m in ('torch', 'ultralytics') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_activity_workers_import_no_durable_sdk() -> None:
    """The local runner's workers import `activities`; the durable SDK (0.4 s) is only for the app's blueprint."""
    code = "import sys, activities; print('azure.durable_functions' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def _pins(path: str) -> dict[str, str]:
    from packaging.requirements import Requirement

    lines = (ROOT / path).read_text().splitlines()
    found = [Requirement(line) for line in lines if line and not line.startswith(("#", "-"))]
    return {requirement.name: str(requirement.specifier) for requirement in found}


def test_cpu_profile_pins_the_cpu_build_of_the_same_torch() -> None:
    """requirements-cpu.txt only chooses the build: the same releases as requirements.txt, with +cpu."""
    default, cpu = _pins("requirements.txt"), _pins("requirements-cpu.txt")
    assert set(cpu) == {"torch", "torchvision"}
    for name, specifier in cpu.items():
        assert specifier == f"{default[name]}+cpu"
    assert "-r requirements.txt" in (ROOT / "requirements-cpu.txt").read_text().splitlines()


def _ignored(path: str, patterns: list[str]) -> bool:
    """gitignore-style, as far as .funcignore uses it: `dir/` ignores the folder, globs match a path or a parent."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        if pattern.endswith("/"):
            name = pattern.rstrip("/")
            if any(fnmatch.fnmatch(part, name) for part in parts[:-1]) or path.startswith(pattern):
                return True
        elif any(fnmatch.fnmatch(candidate, pattern) for candidate in candidates) or fnmatch.fnmatch(
            parts[-1], pattern
        ):
            return True
    return False


def test_funcignore_publishes_the_app_and_the_model_and_nothing_of_development() -> None:
    lines = (ROOT / ".funcignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    shipped = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    published = {path for path in shipped if not _ignored(path, patterns)}
    needed = {"function_app.py", "host.json", "requirements.txt", "models/demo-yolo26n.onnx"}
    assert needed <= published
    assert {path.split("/")[0] for path in published if "/" in path} <= {
        "activities", "orchestrators", "triggers", "videoanalysis", "models"
    }  # fmt: skip
    for development in (".venv/bin/python", "node_modules/x", "local.settings.json", ".azurite/x", "out/s.json"):
        assert _ignored(development, patterns), development
