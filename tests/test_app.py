"""What the Functions host would index from function_app.py, and a cheap, model-free import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tools.package import funcignore_patterns, ignored


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
    for orchestrator in ("analyze_video", "analyze_batch"):
        assert functions[orchestrator] == {"context": ("orchestrationTrigger", "IN")}
    for activity in ("plan_chunks", "analyze_chunk", "summarize", "list_videos", "write_batch"):
        assert functions[activity] == {"payload": ("activityTrigger", "IN")}


def test_the_batch_activities_that_start_analyses_get_a_durable_client() -> None:
    """An activity function may hold a `durableClient` input binding; the DFApp builds the client for it from the
    binding JSON as for the HTTP routes (the middleware is what the worker calls)."""
    import inspect

    from tests.support.worker import indexed

    for activity in ("start_videos", "poll_videos"):
        function = indexed()[activity]
        bindings = {binding.name: binding.type for binding in function.get_bindings()}
        assert bindings == {"payload": "activityTrigger", "client": "durableClient"}
        middleware = function.get_user_function()
        assert inspect.iscoroutinefunction(middleware) and middleware.__annotations__["client"] is str


def test_importing_the_app_loads_no_model_and_no_torch() -> None:
    code = "import sys, function_app; print(sorted(m for m in ('torch', 'ultralytics') if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_importing_the_app_leaves_the_activities_and_opencv_for_their_first_call() -> None:
    """The HTTP API, the blob trigger, the orchestrator and the timer never need OpenCV or the analysis library:
    an instance that serves only them does not pay for importing those."""
    heavy = ("activities", "videoanalysis.analysis", "cv2", "matplotlib", "onnxruntime")
    code = f"import sys, function_app; print(sorted(m for m in {heavy!r} if m in sys.modules))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_app_registers_every_activity_and_calls_it(monkeypatch) -> None:
    import activities
    import function_app
    from tests.support.worker import indexed

    monkeypatch.setattr(function_app, "_share_cores", lambda: None)  # process-wide; its own test runs apart
    assert set(function_app.ACTIVITY_NAMES) == set(activities.ACTIVITIES)
    for name in activities.ACTIVITIES:
        monkeypatch.setitem(activities.ACTIVITIES, name, lambda payload, name=name: {"ran": name, **payload})
        assert indexed()[name].get_user_function()(payload={"x": 1}) == {"ran": name, "x": 1}


@pytest.mark.parametrize(("at_once", "cores", "threads"), [(2, 2, 1), (2, 4, 2), (1, 4, 4), (3, 2, 1), (None, 4, 1)])
def test_each_activity_gets_its_share_of_the_cores(at_once: int | None, cores: int, threads: int) -> None:
    from function_app import activity_threads

    durable = {} if at_once is None else {"maxConcurrentActivityFunctions": at_once}  # None: the extension's default
    assert activity_threads({"extensions": {"durableTask": durable}}, cores) == threads


def test_the_first_activity_call_limits_the_worker_process_threads() -> None:
    """Through the registered function, in a process of its own: OpenCV (decoding) and the ONNX Runtime sessions opened
    afterwards use the share that host.json leaves each concurrent activity."""
    code = """
import json, cv2, function_app, videoanalysis.models as models
from tests.support.worker import indexed
try:
    indexed()["plan_chunks"].get_user_function()(payload={})
except Exception:
    pass  # not a job: the threads are set before the payload is read
host = json.loads(function_app.HOST_JSON.read_text())
print(cv2.getNumThreads(), function_app.activity_threads(host, models.available_cores()), models._THREADS)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    opencv, expected, configured = result.stdout.split()
    assert opencv == expected == configured


def test_activity_workers_import_no_durable_sdk() -> None:
    """The local runner's workers import `activities` and `runner.local` (their main function, and the retry policy
    the pool applies); the durable SDK (0.4-1 s) is only for the app's blueprint."""
    code = "import sys, activities, runner.local; print('azure.durable_functions' in sys.modules)"
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


def test_funcignore_publishes_the_app_and_the_model_and_nothing_of_development() -> None:
    patterns = funcignore_patterns(ROOT)
    shipped = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    published = {path for path in shipped if not ignored(path, patterns)}
    needed = {"function_app.py", "host.json", "requirements.txt", "models/demo-yolo26n-int8.onnx"}
    assert needed <= published
    assert {path.split("/")[0] for path in published if "/" in path} <= {
        "activities", "orchestrators", "triggers", "videoanalysis", "models"
    }  # fmt: skip
    for development in (".venv/bin/python", "node_modules/x", "local.settings.json", ".azurite/x", "out/s.json"):
        assert ignored(development, patterns), development
