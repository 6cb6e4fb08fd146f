"""The deployment zip (`make package`, tools/package.py): what it holds, and that the app starts from it alone.

The zip is built once per test session with tools/package.py's own code, into out/test-package/ (its packages stay
cached there, so a second session only re-adds the app files). The profile is requirements.txt without torch,
torchvision and ultralytics: `make package` installs requirements-cpu.txt, whose +cpu builds of torch come only from
PyTorch's own index, which this project's machines and CI cannot reach (docs/deploy.md). Everything else
(the Azure SDKs, OpenCV, ONNX Runtime, numpy) is installed by the same pip command for Linux x86_64 and CPython 3.11,
so the app's own start-up and an ONNX detection run from the package in a clean interpreter.
"""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT
from tests.test_layout import imported_modules
from tools import package

pytestmark = pytest.mark.timeout(900)  # the first build of a session installs the packages: minutes on 2 cores

WITHOUT = {"torch", "torchvision", "ultralytics"}
"""Installed from PyTorch's index by `make package`; left out here (see the module's docstring)."""


@pytest.fixture(scope="module")
def profile(tmp_path_factory: pytest.TempPathFactory) -> Path:
    requirements = tmp_path_factory.mktemp("profile") / "requirements-test.txt"
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    requirements.write_text("\n".join(line for line in lines if line.split("==")[0].strip() not in WITHOUT) + "\n")
    return requirements


@pytest.fixture(scope="module")
def built(profile: Path) -> package.Package:
    started, lines = time.monotonic(), [""]
    built = package.build(ROOT, ROOT / "out" / "test-package", profile, log=lines.append)
    print("\n".join([*lines, f"package built in {time.monotonic() - started:.1f} s", package.report(built)]))
    return built


@pytest.fixture(scope="module")
def unpacked(built: package.Package, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wwwroot")
    with zipfile.ZipFile(built.path) as archive:
        archive.extractall(folder)
    return folder


def test_the_zip_holds_the_app_its_packages_and_the_model(built: package.Package) -> None:
    with zipfile.ZipFile(built.path) as archive:
        names = set(archive.namelist())
    for name in ("function_app.py", "host.json", "requirements.txt", "models/demo-yolo26n-int8.onnx"):
        assert name in names, name
    assert f"{package.SITE_PACKAGES}/azure/functions/__init__.py" in names
    assert f"{package.SITE_PACKAGES}/azure/durable_functions/__init__.py" in names
    assert "triggers/__pycache__/http_api.cpython-311.pyc" in names  # compiled: the package is read-only
    assert {name.split("/")[0] for name in names if "/" in name} == {
        ".python_packages", "__pycache__", "activities", "orchestrators", "triggers", "videoanalysis", "models"
    }  # fmt: skip


def test_the_zip_holds_nothing_of_development(built: package.Package) -> None:
    with zipfile.ZipFile(built.path) as archive:
        names = archive.namelist()
    development = ("tests/", "bench/", "tools/", "scenes/", "runner/", "devhost/", ".venv/", "node_modules/", "out/")
    development += (".git/",)
    assert not [name for name in names if name.startswith(development)]
    development_files = (".funcignore", ".gitignore", "Makefile", "pyproject.toml", "requirements-dev.txt")
    local = ("package.json", "local.settings.json", "local.settings.json.example")
    for name in (*development_files, *local, "models/demo-yolo26n.pt", "models/README.md"):
        assert name not in names, name
    app = [name for name in names if not name.startswith(".python_packages/")]
    assert not [name for name in app if name.endswith(".pyc") and "/__pycache__/" not in f"/{name}"]


def test_opencv_is_the_headless_build(built: package.Package) -> None:
    """opencv-python links libGL and X11, which the Functions image lacks; the same version headless does not."""
    distributions = {name for name, _, _ in built.largest}
    assert "opencv_python_headless" in distributions
    assert "opencv_python" not in distributions


def test_the_scene_writers_ffmpeg_is_left_out(built: package.Package) -> None:
    assert "imageio_ffmpeg" not in {name for name, _, _ in built.largest}


def _clean_python(code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`code` in an interpreter that sees only the standard library (-I -S: no venv, no user site, no PYTHON*
    variables) and the unpacked zip's two folders, as the Functions worker puts them on its path."""
    prelude = f"import sys; sys.path[:0] = [{str(cwd)!r}, {str(cwd / package.SITE_PACKAGES)!r}]\n"
    return subprocess.run(
        [sys.executable, "-I", "-S", "-c", prelude + code], cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_the_app_imports_from_the_unpacked_zip_alone(unpacked: Path) -> None:
    code = """
import function_app, azure.functions, azure.durable_functions, azurefunctions.extensions.bindings.blob
names = sorted(f.get_function_name() for f in function_app.app.get_functions())
print(",".join(names))
outside = [m.__name__ for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and not m.__file__.startswith((sys.path[0], sys.base_prefix))]
assert not outside, outside
assert not any(p.startswith(sys.prefix) and sys.prefix != sys.base_prefix for p in sys.path), sys.path
assert "torch" not in sys.modules
"""
    result = _clean_python(code, unpacked)
    assert result.returncode == 0, result.stderr
    names = result.stdout.strip().split(",")
    assert {"analyze_video", "plan_chunks", "analyze_chunk", "summarize", "on_video_uploaded"} <= set(names)


def test_a_worker_detects_with_the_packaged_model_and_packages(unpacked: Path) -> None:
    """OpenCV, numpy and ONNX Runtime's native libraries load from the package, and the model runs on them."""
    code = """
import numpy as np
from videoanalysis.onnx_model import load_onnx
model = load_onnx("models/demo-yolo26n-int8.onnx", threads=1)
frame = np.full((360, 640, 3), 114, np.uint8)
print(len(model.predict([frame], 0, 0.25)), sorted(model.names.values()))
assert np.__file__.startswith(sys.path[1]), np.__file__
"""
    result = _clean_python(code, unpacked)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[0] == "1"


def test_the_published_files_follow_funcignore() -> None:
    files = package.app_files(ROOT)
    assert "function_app.py" in files and "models/demo-yolo26n-int8.onnx" in files
    assert not [name for name in files if name.startswith((".venv/", "tests/", "devhost/", "out/", "node_modules/"))]
    assert ".funcignore" not in files  # it would hide .python_packages when the zip is unpacked and published


def test_a_second_build_reuses_the_packages(built: package.Package, profile: Path) -> None:
    """Only the app files are added again: the packages' part of the zip comes from the cache."""
    started = time.monotonic()
    again = package.build(ROOT, built.path.parent, profile, log=lambda line: None)
    assert time.monotonic() - started < 30
    assert again.files == built.files
    assert len(list((built.path.parent / "cache").glob("site-packages-*.zip"))) == 1


# --- when pip cannot build the profile: one line, no traceback ----------------------------------------------------


@pytest.fixture
def unreachable_profile(tmp_path: Path) -> Path:
    """A CPU profile whose extra index is a local port nothing listens on (as PyTorch's index is from here)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    requirements = tmp_path / "requirements-cpu.txt"
    requirements.write_text(f"--extra-index-url http://127.0.0.1:{port}/whl/cpu\ntorch==2.14.1+cpu\n")
    return requirements


def test_an_unreachable_index_stops_make_package_at_once_in_one_line_naming_the_alternative(
    unreachable_profile: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert package.main(["--requirements", str(unreachable_profile), "--out", str(tmp_path / "out")]) == 1
    assert time.monotonic() - started < 15  # pip itself would retry for about two minutes first
    captured = capsys.readouterr()
    assert captured.out == ""
    (line,) = captured.err.splitlines()
    assert line.startswith("error: PyTorch's package index, where ")
    assert "gets the CPU build of torch, cannot be reached (" in line and "refused" in line
    assert line.endswith(f"build with PyPI's torch instead: {package.CUDA_ALTERNATIVE} ({package.CUDA_SIZE})")
    assert not (tmp_path / "out" / "cache").exists()


def test_pip_that_cannot_connect_gives_the_same_line(unreachable_profile: Path, tmp_path: Path) -> None:
    """If the index answers the check but fails pip (a flaky network), pip's output says so: the same one line."""
    failing = [sys.executable, "-c", "print('WARNING: Retrying after Failed to establish a new connection'); exit(1)"]
    with pytest.raises(package.PackageError) as raised:
        package.run_pip(failing, unreachable_profile, tmp_path / "pip.log")
    assert "\n" not in str(raised.value) and package.CUDA_ALTERNATIVE in str(raised.value)
    assert "Failed to establish" in (tmp_path / "pip.log").read_text()


def test_any_other_pip_failure_is_pips_last_error_in_one_line(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("nothing-by-this-name==9\n")
    failing = [sys.executable, "-c", "print('ERROR: one\\nERROR: No matching distribution found for x==9'); exit(1)"]
    with pytest.raises(package.PackageError) as raised:
        package.run_pip(failing, requirements, tmp_path / "pip.log")
    assert str(raised.value) == (
        f"pip failed: No matching distribution found for x==9 (pip's output: {tmp_path / 'pip.log'})"
    )


# --- the requirement files: the deployed app's runtime, the local runner's, development's -----------------------------

AUDIENCES = {
    "app": ("requirements.txt",),
    "runner": ("requirements.txt", "requirements-runner.txt"),
    "development": ("requirements.txt", "requirements-runner.txt", "requirements-dev.txt"),
}


def pinned(*files: str) -> set[str]:
    """The distributions the requirement files name (options and `-r` lines aside)."""
    lines = [line.split("#")[0].strip() for name in files for line in (ROOT / name).read_text().splitlines()]
    return {canonicalize_name(Requirement(line).name) for line in lines if line and not line.startswith("-")}


def installed_with(names: set[str]) -> set[str]:
    """``names`` and everything they require here (markers for this machine, no extras), as pip would install."""
    found: set[str] = set()
    pending = list(names)
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        with contextlib.suppress(metadata.PackageNotFoundError):  # not for this platform: nothing of it is imported
            for spec in metadata.requires(name) or []:
                requirement = Requirement(spec)
                if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                    pending.append(canonicalize_name(requirement.name))
    return found


def unprovided(paths: list[Path], audience: str) -> list[str]:
    """Third-party modules the files import that no distribution of the audience's requirement files provides."""
    local = {path.name.removesuffix(".py") for path in ROOT.iterdir()}
    tops = {module.split(".")[0] for path in paths for module in imported_modules(path)}
    third_party = sorted(tops - local - set(sys.stdlib_module_names) - {"__future__"})
    provided = installed_with(pinned(*AUDIENCES[audience]))
    owners = metadata.packages_distributions()
    return [top for top in third_party if not {canonicalize_name(d) for d in owners.get(top, [])} & provided]


def _python(*tops: str) -> list[Path]:
    return sorted(path for top in tops for path in (ROOT / top).rglob("*.py"))


def test_the_deployed_requirements_provide_every_import_of_the_published_app() -> None:
    published = [ROOT / name for name in package.app_files(ROOT) if name.endswith(".py")]
    assert published and unprovided(published, "app") == []


def test_the_deployed_requirements_install_nothing_only_the_runner_needs() -> None:
    """tqdm (progress bars) and imageio-ffmpeg (the scene writer's FFmpeg, 65 MiB) stay off Azure."""
    only_runner = pinned("requirements-runner.txt")
    assert {"tqdm", "imageio-ffmpeg"} <= only_runner
    assert installed_with(pinned("requirements.txt")) & only_runner == set()


def test_the_runner_requirements_provide_every_import_of_the_runner_and_scenes() -> None:
    assert unprovided(_python("runner", "scenes"), "app") != [], "the runner needs more than the app"
    assert unprovided(_python("runner", "scenes"), "runner") == []


def test_the_development_requirements_provide_every_import_of_tests_bench_and_tools() -> None:
    """All but the benchmarks' optional OpenVINO, which `bench.extras` fetches into a folder of its own."""
    assert unprovided(_python("tests", "bench", "tools", "devhost"), "development") == ["openvino"]


def test_pyproject_extras_are_the_requirement_files() -> None:
    dynamic = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["dynamic"]
    assert dynamic["dependencies"]["file"] == list(AUDIENCES["app"])
    extras = {name: entry["file"] for name, entry in dynamic["optional-dependencies"].items()}
    assert extras == {"runner": list(AUDIENCES["runner"][1:]), "dev": list(AUDIENCES["development"][1:])}
