"""The dependency arrows point one way: entry points -> orchestrators/activities -> library, never back.

The rule is read off the source with `ast`, so it holds for imports inside functions too, whether or not they ran.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import ROOT

APP_LAYERS = ("activities", "orchestrators", "triggers", "runner", "function_app", "registration")
FORBIDDEN = {
    # The library: no app layer, no Functions SDK, no development-only scenes.
    "videoanalysis": (*APP_LAYERS, "scenes", "azure.functions", "azure.durable_functions", "tests", "bench"),
    # Scenes are a development package beside the library: they may use it, never the app.
    "scenes": (*APP_LAYERS, "tests", "bench"),
    # Orchestrators and activities serve every entry point; they know none of them.
    "orchestrators": ("activities", "triggers", "runner", "function_app", "scenes", "tests"),
    "activities": ("orchestrators", "triggers", "runner", "function_app", "scenes", "tests"),
    "triggers": ("runner", "function_app", "scenes", "tests"),
    "bench": ("tests",),
    # The replay host stands in for the Functions host: it drives the SDK, never the app's modules.
    "devhost": (*APP_LAYERS, "videoanalysis", "scenes", "tests", "bench"),
    "tools": ("tests",),
}


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module a file imports, absolute names (relative imports are resolved against the file's package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                found.add(f"{base}.{node.module}" if node.module else base)
            elif node.module:
                found.add(node.module)
    return found


def violations(package: str, root: Path = ROOT) -> list[str]:
    banned = FORBIDDEN[package]
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in sorted((root / package).rglob("*.py"))
        for module in sorted(imported_modules(path, root))
        if any(module == prefix or module.startswith(f"{prefix}.") for prefix in banned)
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_point_one_way(package: str) -> None:
    assert violations(package) == []


def test_the_rule_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The checker itself: a lazy import of the app from a library module is caught."""
    (tmp_path / "videoanalysis").mkdir()
    (tmp_path / "videoanalysis" / "probe.py").write_text("def f():\n    from orchestrators import bp\n    return bp\n")
    assert violations("videoanalysis", tmp_path) == ["videoanalysis/probe.py imports orchestrators"]


def test_console_script_is_installed() -> None:
    """`make setup` installs the project: `.venv/bin/videoanalysis` is the command line."""
    script = Path(sys.executable).with_name("videoanalysis")
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert all(command in result.stdout for command in ("analyze", "synth", "demo", "upload"))


PRODUCT = (*APP_LAYERS, "videoanalysis", "scenes", "bench", "tools")
TRACKER_INTERNALS = "ultralytics.trackers"
ADAPTER = Path("videoanalysis/tracking/adapter.py")
TRACKING = "videoanalysis.tracking"


def _python_files(root: Path, tops: tuple[str, ...]) -> list[Path]:
    return sorted(
        path
        for top in tops
        for path in ([root / f"{top}.py"] if (root / f"{top}.py").is_file() else sorted((root / top).rglob("*.py")))
    )


def _is_under(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(f"{prefix}.")


def tracker_internals_users(root: Path = ROOT) -> list[str]:
    """Files other than the tracking adapter that import Ultralytics' trackers (tests may, to compare against them)."""
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in _python_files(root, PRODUCT)
        if path.relative_to(root) != ADAPTER
        for module in sorted(imported_modules(path, root))
        if _is_under(module, TRACKER_INTERNALS)
    ]


def private_tracking_importers(root: Path = ROOT) -> list[str]:
    """Files outside `videoanalysis/tracking` that import one of its private (`_`-named) modules."""
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in _python_files(root, (*PRODUCT, "tests"))
        if not path.relative_to(root).is_relative_to("videoanalysis/tracking")
        for module in sorted(imported_modules(path, root))
        if _is_under(module, TRACKING) and any(part.startswith("_") for part in module.split(".")[2:])
    ]


def test_only_the_tracking_adapter_touches_ultralytics_trackers() -> None:
    assert tracker_internals_users() == []


def test_nothing_outside_the_tracking_package_imports_its_private_modules() -> None:
    assert private_tracking_importers() == []


def test_the_tracking_rules_see_a_stray_import(tmp_path: Path) -> None:
    """The checkers themselves: a tracker import beside the adapter, and a private module reached from outside."""
    (tmp_path / "videoanalysis" / "tracking").mkdir(parents=True)
    (tmp_path / "videoanalysis" / "tracking" / "adapter.py").write_text("import ultralytics.trackers.track\n")
    (tmp_path / "videoanalysis" / "tracking" / "objects.py").write_text(
        "from ultralytics.trackers.basetrack import TrackState\nfrom . import _inner\n"
    )
    (tmp_path / "bench").mkdir()
    (tmp_path / "bench" / "probe.py").write_text("from videoanalysis.tracking._inner import cost\n")
    assert tracker_internals_users(tmp_path) == [
        "videoanalysis/tracking/objects.py imports ultralytics.trackers.basetrack"
    ]
    assert private_tracking_importers(tmp_path) == ["bench/probe.py imports videoanalysis.tracking._inner"]


def shipped_tops(root: Path = ROOT) -> set[str]:
    """The top-level packages and modules `pip install .` ships: pyproject's `[tool.setuptools]` lists."""
    listed = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"]
    return {*listed["packages"], *listed.get("py-modules", [])}


def unshipped_imports(root: Path = ROOT) -> list[str]:
    """Imports, from what is shipped, of this tree's own modules that are not shipped (they break an install)."""
    shipped = shipped_tops(root)
    local = {path.name.removesuffix(".py") for path in root.iterdir() if path.suffix == ".py" or path.is_dir()}
    return [
        f"{path.relative_to(root)} imports {module}"
        for path in _python_files(root, tuple(sorted(shipped)))
        for module in sorted(imported_modules(path, root))
        if module.split(".")[0] in local - shipped
    ]


def test_what_is_installed_imports_nothing_that_is_not() -> None:
    """The replay host (devhost), tests, benchmarks and tools stay out of the installed product and its imports."""
    assert "devhost" not in shipped_tops()
    assert unshipped_imports() == []


def test_the_install_rule_sees_an_import_of_the_replay_host(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.setuptools]\npackages = ["runner"]\n')
    (tmp_path / "runner").mkdir()
    (tmp_path / "devhost").mkdir()
    (tmp_path / "runner" / "cli.py").write_text("from devhost.replay import ReplayHost\nimport json\n")
    assert unshipped_imports(tmp_path) == ["runner/cli.py imports devhost.replay"]
