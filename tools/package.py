"""Build the deployment zip: the app as `.funcignore` selects it, its Python packages for Linux, and the model.

    .venv/bin/python tools/package.py                        # `make package`: out/package/videoanalysis.zip
    .venv/bin/python tools/package.py --requirements requirements.txt --out out/package-cuda

The zip is what Azure runs: the app files at its root (`function_app.py`, `host.json`, ...), the packages under
`.python_packages/lib/site-packages` (where the Python worker looks), installed by pip for Linux x86_64, CPython
3.11 (`--platform manylinux... --python-version 3.11 --implementation cp --only-binary=:all: --target`), whatever
machine builds it. Deploy it as it is (`az functionapp deployment source config-zip --src ...`), or unzip it and run
`func azure functionapp publish APP --no-build` in that folder.

The requirements are the app's runtime only (the local runner's and development's are in requirements-runner.txt and
requirements-dev.txt). Two changes to what pip installs, for the Functions Linux image:
- opencv-python (which Ultralytics requires) links the system's libGL, libX11 and glib, which the Functions image
  does not have; its headless build of the same version, the same `cv2` without a GUI, takes its place;
- every module is compiled to `__pycache__` with hash-checked .pyc files: the package is mounted read-only, so a
  worker could never write them, and would compile every module it imports on every cold start; hash-checked ones
  stay valid whatever timestamps the zip keeps.

When pip cannot build the profile, the error is one line: where PyTorch's index (requirements-cpu.txt's
--extra-index-url) cannot be reached, at once, before pip's minutes of retries, naming the alternative
(`make package PACKAGE_REQUIREMENTS=requirements.txt`, PyPI's CUDA build of torch); otherwise pip's last error, with
its whole output kept in `<out>/cache/pip.log`.

The packages are installed once per requirements profile: the site-packages part of the zip is cached under
`<out>/cache/`, keyed by a digest of the requirement files and the pip options, and a second build only adds the
app files to a copy of it. pip's own cache keeps the downloads.
"""

from __future__ import annotations

import argparse
import compileall
import fnmatch
import hashlib
import os
import py_compile
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_REQUIREMENTS = "requirements-cpu.txt"
ZIP_NAME = "videoanalysis.zip"
SITE_PACKAGES = ".python_packages/lib/site-packages"
PYTHON_VERSION = "3.11"
PLATFORMS = (
    # The Functions Python 3.11 image is Debian with glibc >= 2.31; pip takes a wheel only for the tags listed.
    *(f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)),
    "manylinux2014_x86_64",  # = manylinux_2_17; pip adds manylinux2010 and manylinux1
)
HEADLESS = {"opencv-python": "opencv-python-headless"}
"""Distributions replaced by a build of the same version that needs no display libraries."""
NOT_PUBLISHED = (".funcignore",)
"""Development files that `.funcignore` cannot name: itself (in an unpacked package it would hide the packages)."""
REQUIRED = ("function_app.py", "host.json", "requirements.txt")


# --- which app files are published: .funcignore, as Core Tools reads it ---------------------------------------------


def funcignore_patterns(root: Path = ROOT) -> list[str]:
    lines = (root / ".funcignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def ignored(path: str, patterns: list[str]) -> bool:
    """gitignore-style, as far as .funcignore uses it: `dir/` ignores the folder, globs match a path or a parent.

    `path` is relative to the app root with `/` separators; a folder is given with a trailing `/`.
    """
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


def app_files(root: Path = ROOT, patterns: list[str] | None = None) -> list[str]:
    """Every file under `root` that a publish would upload, as sorted relative paths (the working tree, not git:
    your own weights under models/ are published as Core Tools would publish them)."""
    patterns = funcignore_patterns(root) if patterns is None else patterns
    found = []
    for folder, subfolders, files in os.walk(root):
        relative = Path(folder).relative_to(root).as_posix()
        prefix = "" if relative == "." else f"{relative}/"
        subfolders[:] = sorted(name for name in subfolders if not ignored(f"{prefix}{name}/", patterns))
        for name in sorted(files):
            path = f"{prefix}{name}"
            if not ignored(path, patterns) and path not in NOT_PUBLISHED and not os.path.islink(root / path):
                found.append(path)
    return found


# --- the packages -----------------------------------------------------------------------------------------------


def pip_options() -> list[str]:
    platforms = [option for platform in PLATFORMS for option in ("--platform", platform)]
    return [
        *platforms,
        *("--python-version", PYTHON_VERSION, "--implementation", "cp", "--only-binary=:all:"),
        "--no-compile",  # compiled below, hash-checked
        "--no-warn-conflicts",  # pip would compare with this interpreter's own packages, not the target's
        "--disable-pip-version-check",
    ]


def requirement_files(requirements: Path) -> list[Path]:
    """The file and every file it includes with -r / -c, recursively."""
    seen: list[Path] = []
    pending = [requirements.resolve()]
    while pending:
        path = pending.pop()
        if path in seen:
            continue
        seen.append(path)
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].split()
            if len(words) == 2 and words[0] in ("-r", "--requirement", "-c", "--constraint"):
                pending.append((path.parent / words[1]).resolve())
    return seen


def profile_key(requirements: Path) -> str:
    digest = hashlib.sha256()
    for path in requirement_files(requirements):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    digest.update(" ".join([*pip_options(), *HEADLESS, f"python{sys.version_info[:2]}"]).encode())
    return digest.hexdigest()[:16]


def install_packages(requirements: Path, target: Path, log: Callable[[str], None]) -> None:
    pip = [sys.executable, "-m", "pip", "install", "--quiet", *pip_options(), "--target", str(target)]
    pip_log = target.parent.parent / "pip.log"  # beside the cache's zips: kept after the build folder is deleted
    run_pip([*pip, "-r", str(requirements)], requirements, pip_log)
    for name, headless in HEADLESS.items():
        version = remove_distribution(target, name)
        if version is not None:
            log(f"replacing {name} {version} with {headless} {version}")
            run_pip([*pip, "--no-deps", f"{headless}=={version}"], requirements, pip_log)
    if sys.version_info[:2] == tuple(int(part) for part in PYTHON_VERSION.split(".")):
        compileall.compile_dir(
            target, quiet=2, workers=0, invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH
        )
    else:
        log(f"not compiling the packages: this is Python {sys.version_info[0]}.{sys.version_info[1]}")


def run_pip(command: list[str], requirements: Path, log_file: Path) -> None:
    """Run pip; on failure, one line: pip's own last error, or that PyTorch's index cannot be reached. pip's whole
    output goes to `log_file`."""
    result = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode == 0:
        return
    log_file.write_text(f"{' '.join(command)}\n{result.stdout}")
    if any(sign in result.stdout for sign in UNREACHABLE) and any(extra_index_urls(requirements).values()):
        raise PackageError(unreachable_message(requirements, "pip could not connect"))
    errors = [line for line in result.stdout.splitlines() if line.startswith("ERROR:")]
    reason = errors[-1].removeprefix("ERROR:").strip() if errors else f"exit status {result.returncode}"
    raise PackageError(f"pip failed: {reason} (pip's output: {_relative(log_file)})")


UNREACHABLE = ("Failed to establish a new connection", "Name or service not known", "Network is unreachable")
"""What pip's output says when an index cannot be reached (it retries five times first, about two minutes)."""
CUDA_ALTERNATIVE = "make package PACKAGE_REQUIREMENTS=requirements.txt"
CUDA_SIZE = "about 3.1 GiB zipped against about 484 MiB: PyPI's CUDA build of torch"
"""The CUDA profile's package size, from the wheel sizes pip resolves for it (docs/deploy.md, The package)."""


def extra_index_urls(requirements: Path) -> dict[Path, list[str]]:
    """The --extra-index-url / --index-url lines of the requirement files, by file."""
    found: dict[Path, list[str]] = {}
    for path in requirement_files(requirements):
        urls = []
        for line in path.read_text().splitlines():
            words = line.split("#", 1)[0].replace("=", " ", 1).split()
            if len(words) == 2 and words[0] in ("--extra-index-url", "--index-url", "-i"):
                urls.append(words[1])
        found[path] = urls
    return found


def check_indexes(requirements: Path, timeout: float = 10.0) -> None:
    """Fail at once, in one line, when an extra index of the profile cannot be reached (pip would retry for minutes
    and then report the first package it could not find, which need not be torch)."""
    import urllib.error
    import urllib.request

    for url in (url for urls in extra_index_urls(requirements).values() for url in urls):
        try:
            with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=timeout):
                pass
        except urllib.error.HTTPError:
            continue  # it answered
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise PackageError(unreachable_message(requirements, str(reason))) from None


def unreachable_message(requirements: Path, reason: str) -> str:
    files = [path for path, urls in extra_index_urls(requirements).items() if urls]
    named = ", ".join(_relative(path) for path in files)
    return (
        f"PyTorch's package index, where {named} gets the CPU build of torch, cannot be reached ({reason}); "
        f"build with PyPI's torch instead: {CUDA_ALTERNATIVE} ({CUDA_SIZE})"
    )


def remove_distribution(target: Path, name: str) -> str | None:
    """Delete an installed distribution's files (its RECORD lists them); its version, or None if not there."""
    normalized = name.replace("-", "_").lower()
    for info in target.glob("*.dist-info"):
        dist, _, version = info.name.removesuffix(".dist-info").partition("-")
        if dist.lower() != normalized:
            continue
        for line in (info / "RECORD").read_text().splitlines():
            path = (target / line.rsplit(",", 2)[0]).resolve()
            if path.is_relative_to(target.resolve()) and path.is_file():
                path.unlink()
        shutil.rmtree(info, ignore_errors=True)
        for folder in sorted((p for p in target.iterdir() if p.is_dir()), reverse=True):
            _remove_empty_folders(folder)
        return version
    return None


def _remove_empty_folders(folder: Path) -> None:
    for child in list(folder.iterdir()):
        if child.is_dir() and not child.is_symlink():
            _remove_empty_folders(child)
    if not any(folder.iterdir()):
        folder.rmdir()


def packages_zip(requirements: Path, cache: Path, log: Callable[[str], None]) -> Path:
    """The site-packages part of the zip for this profile, from the cache or built now."""
    cached = cache / f"site-packages-{profile_key(requirements)}.zip"
    if cached.exists():
        log(f"packages: {_relative(cached)} (cached)")
        return cached
    check_indexes(requirements)
    cache.mkdir(parents=True, exist_ok=True)
    log(f"packages: pip install -r {_relative(requirements)} for Linux x86_64, CPython {PYTHON_VERSION} ...")
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=cache, prefix="build-") as scratch:
        target = Path(scratch) / "site-packages"
        install_packages(requirements, target, log)
        installed = time.monotonic()
        log(f"packages installed and compiled in {installed - started:.0f} s; compressing ...")
        partial = Path(scratch) / cached.name
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(_tree(target)):
                archive.write(target / path, f"{SITE_PACKAGES}/{path}")
        for old in cache.glob("site-packages-*.zip"):
            old.unlink()  # one profile's packages at a time: each is hundreds of MB
        partial.replace(cached)
    log(f"packages: {_relative(cached)}, compressed in {time.monotonic() - installed:.0f} s")
    return cached


def _tree(folder: Path) -> Iterator[str]:
    for parent, _, files in os.walk(folder):
        for name in files:
            yield (Path(parent) / name).relative_to(folder).as_posix()


# --- the zip ----------------------------------------------------------------------------------------------------


class PackageError(Exception):
    """The package cannot be built; the message says why."""


@dataclass(frozen=True)
class Package:
    path: Path
    files: int
    size: int  # bytes of the zip
    unpacked: int  # bytes once unpacked
    largest: list[tuple[str, int, int]]  # (distribution, zipped bytes, unpacked bytes), largest first


def build(
    root: Path = ROOT,
    out: Path | None = None,
    requirements: Path | None = None,
    log: Callable[[str], None] = print,
) -> Package:
    out = (root / "out" / "package") if out is None else out
    requirements = (root / DEFAULT_REQUIREMENTS) if requirements is None else requirements
    files = app_files(root)
    missing = [name for name in REQUIRED if name not in files]
    if missing:
        raise PackageError(f"the app would be published without {', '.join(missing)}: check .funcignore")
    if not any(name.startswith("models/") and name.endswith(".onnx") for name in files):
        log("warning: no .onnx model under models/ is published; deploy your weights and set MODEL_PATH")
    cached = packages_zip(requirements, out / "cache", log)
    target = out / ZIP_NAME
    partial = target.with_name(f".{target.name}.partial")
    shutil.copyfile(cached, partial)
    with zipfile.ZipFile(partial, "a", zipfile.ZIP_DEFLATED) as archive:
        for name in files:
            archive.write(root / name, name)
            if name.endswith(".py"):
                archive.writestr(_pyc_name(name), _compiled(root / name, name))
    partial.replace(target)
    return describe(target)


def _pyc_name(name: str) -> str:
    folder, _, file = name.rpartition("/")
    pyc = f"__pycache__/{file.removesuffix('.py')}.cpython-{PYTHON_VERSION.replace('.', '')}.pyc"
    return f"{folder}/{pyc}" if folder else pyc


def _compiled(source: Path, name: str) -> bytes:
    with tempfile.TemporaryDirectory() as scratch:
        pyc = Path(scratch) / "module.pyc"
        py_compile.compile(
            str(source), cfile=str(pyc), dfile=name, doraise=True,
            invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
        )  # fmt: skip
        return pyc.read_bytes()


def describe(path: Path) -> Package:
    with zipfile.ZipFile(path) as archive:
        entries = archive.infolist()
        owner = _distributions(archive)
    zipped: dict[str, int] = defaultdict(int)
    unpacked: dict[str, int] = defaultdict(int)
    for entry in entries:
        if entry.filename.startswith(f"{SITE_PACKAGES}/"):
            inner = entry.filename.removeprefix(f"{SITE_PACKAGES}/")
            top = inner.split("/", 1)[0]
            name = owner.get(inner) or owner.get(top) or top
        else:
            name = "(the app)"
        zipped[name] += entry.compress_size
        unpacked[name] += entry.file_size
    largest = sorted(((name, zipped[name], unpacked[name]) for name in zipped), key=lambda row: -row[1])
    return Package(path, len(entries), path.stat().st_size, sum(unpacked.values()), largest)


def _distributions(archive: zipfile.ZipFile) -> dict[str, str]:
    """Installed path (and its top-level folder) -> distribution name, from the RECORD files."""
    owner: dict[str, str] = {}
    for name in archive.namelist():
        if name.startswith(f"{SITE_PACKAGES}/") and name.endswith(".dist-info/RECORD"):
            distribution = name.removeprefix(f"{SITE_PACKAGES}/").split("/")[0].removesuffix(".dist-info")
            distribution = distribution.rpartition("-")[0]
            for line in archive.read(name).decode().splitlines():
                path = line.rsplit(",", 2)[0]
                owner[path] = distribution
                owner.setdefault(path.split("/", 1)[0], distribution)
    return owner


def report(package: Package, top: int = 12) -> str:
    lines = [
        f"{_relative(package.path)}: {package.size / 2**20:.1f} MiB "
        f"({package.unpacked / 2**20:.0f} MiB unpacked, {package.files} files)",
        f"{'largest':<32} {'zipped MiB':>10} {'unpacked MiB':>12}",
    ]
    for name, zipped, unpacked in package.largest[:top]:
        lines.append(f"{name:<32} {zipped / 2**20:>10.1f} {unpacked / 2**20:>12.1f}")
    return "\n".join(lines)


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requirements", type=Path, default=ROOT / DEFAULT_REQUIREMENTS, help="%(default)s")
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "package", help="%(default)s")
    args = parser.parse_args(argv)
    started = time.monotonic()
    try:
        package = build(ROOT, args.out, args.requirements)
    except PackageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(report(package))
    print(f"built in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
