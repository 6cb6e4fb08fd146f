"""The command-line runner under real faults: a worker killed mid-chunk, Ctrl-C, SIGTERM and SIGKILL of the runner,
an --out that cannot be written, and a disk that fills up while results are written; and, to compare, a run that
ends normally.

Every test runs `python -m runner analyze` as a real process with the bundled ONNX model, injects the fault for real
(signals to real processes, real paths, a real write limit) and then looks at what a user would see: the exit code,
stderr, the files left behind, and the processes left running.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DEMO_ONNX, ROOT
from tests.support import clips

FAST_RETRIES = {"CHUNK_RETRY_INTERVAL_SECONDS": "0.2"}


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """30 s, 750 frames: ten 3 s chunks of about a second's work each for two workers."""
    return clips.write_numbered(tmp_path_factory.mktemp("video") / "v.mp4", "h264", 750)


# --- processes ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    started: str  # clock ticks after boot: tells a process from a later one with the same pid
    command: str


def _proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] in "ZX":  # a zombie has exited; an orphan's zombie may wait for a reaper that never comes
        return None
    return Proc(pid, int(fields[1]), fields[19], command)


def _descendants(root: int) -> list[Proc]:
    procs = [proc for entry in os.listdir("/proc") if entry.isdigit() and (proc := _proc(int(entry)))]
    found, frontier = [], {root}
    while frontier:
        children = [proc for proc in procs if proc.ppid in frontier]
        found += children
        frontier = {proc.pid for proc in children}
    return found


def _alive(procs: list[Proc]) -> list[Proc]:
    """Those still running: same pid and start time (an orphan has a new parent, so compare no more than that)."""
    return [proc for proc in procs if (now := _proc(proc.pid)) is not None and now.started == proc.started]


def _workers(runner: int) -> list[Proc]:
    """The runner's activity workers: the children of its fork server."""
    tree = _descendants(runner)
    servers = {proc.pid for proc in tree if proc.ppid == runner and "forkserver" in proc.command}
    return [proc for proc in tree if proc.ppid in servers]


def _wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.02)
    return value


def _wait_for_exit(procs: list[Proc], timeout: float = 5.0) -> None:
    """Until every one of ``procs`` has exited; a failure names those still running then."""
    try:
        _wait_until(lambda: not _alive(procs), timeout, "the children to exit")
    except AssertionError:
        raise AssertionError(f"still running after {timeout:g} s: {_alive(procs)}") from None


# --- the runner --------------------------------------------------------------------------------------------------


@dataclass
class Run:
    process: subprocess.Popen
    out: Path
    stderr_path: Path
    seen: list[Proc] = field(default_factory=list)  # its children, noted while it ran: orphans have no parent to ask

    @property
    def chunks(self) -> Path:
        return self.out.parent / f"{self.out.stem}.chunks"

    @property
    def stderr(self) -> str:
        return self.stderr_path.read_text()

    @property
    def stdout(self) -> str:
        return self.stderr_path.with_suffix(".stdout").read_text()

    def chunk_files(self) -> list[str]:
        return sorted(path.name for path in self.chunks.glob("chunk-*"))

    def wait_for_work(self) -> None:
        """Until the first chunk result is written: workers warm, chunks running, others waiting."""

        def working() -> bool:
            assert self.process.poll() is None, f"the runner ended early: {self.stderr}"
            return any(self.chunks.glob("chunk-*.json"))

        _wait_until(working, 240, "the first chunk result")
        self.seen += _descendants(self.process.pid)

    def summary(self) -> dict[str, Any]:
        return json.loads(self.out.read_text())


def _start(video: Path, out: Path, env: dict[str, str] | None = None) -> Run:
    """Start the runner on ``video`` (two workers, ten chunks), in a process group of its own."""
    command = [sys.executable, "-m", "runner", "analyze", str(video), "--out", str(out), "--model", str(DEMO_ONNX)]
    stderr = out.parent / f"{out.name}.stderr"
    out.parent.mkdir(parents=True, exist_ok=True)
    with stderr.with_suffix(".stdout").open("wb") as stdout, stderr.open("wb") as errors:
        process = subprocess.Popen(
            [*command, "--quiet", "--workers", "2", "--chunk-seconds", "3"],
            cwd=ROOT,
            stdout=stdout,
            stderr=errors,
            env={**_buffered(os.environ), **(env or {})},
            start_new_session=True,  # its own process group, as a shell gives a job; the test can signal it whole
        )
    return Run(process, out, stderr)


def _buffered(environment: Mapping[str, str]) -> dict[str, str]:
    """The environment without PYTHONUNBUFFERED, which some shells and CI set: output to a file or pipe is then
    buffered, as for most users, and a runner that exits without flushing it loses it."""
    return {name: value for name, value in environment.items() if name != "PYTHONUNBUFFERED"}


def _one_line(stderr: str) -> str:
    """stderr must be exactly one line, and no traceback."""
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in stderr, stderr
    return lines[0]


def _partials(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.partial"))


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    """Runs started by a test; any still going (or their children) are killed when it ends, pass or fail."""
    started: list[Run] = []
    yield started
    for run in started:
        leftovers = [*run.seen, *_descendants(run.process.pid)]
        if run.process.poll() is None:
            run.process.kill()
            run.process.wait()
        for proc in _alive(leftovers):
            os.kill(proc.pid, signal.SIGKILL)


# --- 0. nothing goes wrong ---------------------------------------------------------------------------------------


def test_a_finished_run_has_printed_and_written_everything_and_leaves_no_process(
    video: Path, tmp_path: Path, runs: list[Run]
) -> None:
    """The runner ends without the interpreter's teardown (`entry_point`): nothing may be lost to that, and nothing
    left behind that the teardown would have removed (multiprocessing's temp folder with the fork server's socket)."""
    temp = tmp_path / "temp"
    temp.mkdir()
    run = _start(video, tmp_path / "s.json", {"TMPDIR": str(temp)})
    runs.append(run)
    run.wait_for_work()
    assert run.process.wait(timeout=240) == 0, run.stderr
    assert run.stdout.splitlines()[-1] == f"report:  {run.out.with_suffix('.html')}"
    assert run.summary()["status"] == "succeeded"
    assert run.out.with_suffix(".png").is_file() and run.out.with_suffix(".html").is_file()
    assert not _partials(tmp_path)
    _wait_for_exit(run.seen)
    assert not list(temp.glob("pymp-*")), "multiprocessing's temp folder is removed"


# --- 1. a worker dies ----------------------------------------------------------------------------------------------


def test_a_worker_killed_mid_chunk_is_replaced_and_the_run_succeeds(
    video: Path, tmp_path: Path, runs: list[Run]
) -> None:
    run = _start(video, tmp_path / "s.json", env=FAST_RETRIES)
    runs.append(run)
    run.wait_for_work()
    first = _workers(run.process.pid)
    assert len(first) == 2
    os.kill(first[0].pid, signal.SIGKILL)  # as the OOM killer would
    _wait_until(
        lambda: run.process.poll() is not None or {w.pid for w in _workers(run.process.pid)} - {w.pid for w in first},
        60,
        "a new worker",
    )
    assert run.process.wait(timeout=240) == 0, run.stderr
    summary = run.summary()
    assert summary["status"] == "succeeded"
    assert [chunk["status"] for chunk in summary["chunks"]] == ["ok"] * 10
    assert not _partials(tmp_path)


def test_with_one_attempt_only_the_chunk_of_the_killed_worker_fails(
    video: Path, tmp_path: Path, runs: list[Run]
) -> None:
    """CHUNK_RETRY_ATTEMPTS=1 makes the attempt count visible: the chunk that was running in the killed worker fails
    (its one attempt is spent), and the chunks that were waiting run normally (no attempt was charged to them)."""
    run = _start(video, tmp_path / "s.json", env={"CHUNK_RETRY_ATTEMPTS": "1"})
    runs.append(run)
    run.wait_for_work()
    time.sleep(0.3)  # both workers are in the middle of a chunk (each takes about a second)
    os.kill(_workers(run.process.pid)[0].pid, signal.SIGKILL)
    assert run.process.wait(timeout=240) == 1, run.stderr
    chunks = run.summary()["chunks"]
    failed = [chunk for chunk in chunks if chunk["status"] != "ok"]
    assert len(chunks) == 10 and len(failed) == 1, failed
    assert "killed by SIGKILL while running analyze_chunk" in failed[0]["error"]
    assert not _partials(tmp_path)


# --- 2 and 3. the runner is interrupted, terminated or killed ------------------------------------------------------


STOPS = {
    "sigint-to-the-runner": (signal.SIGINT, False, 130),
    "ctrl-c-to-the-process-group": (signal.SIGINT, True, 130),
    "sigterm-to-the-runner": (signal.SIGTERM, False, 143),
    "sigterm-to-the-process-group": (signal.SIGTERM, True, 143),
}
"""How a run is stopped: the signal, whether it goes to the whole process group, and the exit code expected."""


@pytest.mark.parametrize(("signum", "whole_group", "code"), STOPS.values(), ids=STOPS.keys())
def test_an_interrupted_run_stops_within_2s_and_leaves_nothing_behind(
    signum: int, whole_group: bool, code: int, video: Path, tmp_path: Path, runs: list[Run]
) -> None:
    run = _start(video, tmp_path / "s.json")
    runs.append(run)
    run.wait_for_work()
    children = _descendants(run.process.pid)
    assert len(_workers(run.process.pid)) == 2 and len(children) >= 4  # fork server, resource tracker, 2 workers
    started = time.monotonic()
    if whole_group:  # as a terminal's Ctrl-C, or a service manager's stop: every process in the job gets it
        os.killpg(run.process.pid, signum)
    else:
        os.kill(run.process.pid, signum)
    returncode = run.process.wait(timeout=30)
    elapsed = time.monotonic() - started
    assert returncode == code, run.stderr
    assert elapsed < 2.0, f"took {elapsed:.1f} s to exit"
    assert _one_line(run.stderr) == ("interrupted" if signum == signal.SIGINT else "terminated")
    written = run.chunk_files()
    _wait_for_exit(children)
    time.sleep(0.5)
    assert run.chunk_files() == written, "nothing is written after the runner exits"
    assert len([name for name in written if name.endswith(".json")]) < 10, "pending chunks were cancelled, not run"
    assert not _partials(tmp_path)
    assert not run.out.exists() and not run.out.with_suffix(".png").exists()


@pytest.mark.parametrize(("signum", "line"), [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")])
def test_a_stop_while_the_runner_is_still_importing_prints_one_line(signum: int, line: str, video: Path) -> None:
    """Before: a Ctrl-C in the first second, while OpenCV and numpy were importing, printed a KeyboardInterrupt
    traceback from inside an import. The signal is sent once numpy is being loaded (its library is mapped)."""
    command = [sys.executable, "-m", "runner", "analyze", str(video), "--model", str(DEMO_ONNX), "--quiet"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    maps = Path(f"/proc/{process.pid}/maps")
    _wait_until(lambda: process.poll() is not None or "numpy" in maps.read_text(), 30, "numpy to load")
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 128 + signum and _one_line(stderr) == line


def test_a_runner_killed_with_sigkill_takes_all_its_children_with_it(
    video: Path, tmp_path: Path, runs: list[Run]
) -> None:
    run = _start(video, tmp_path / "s.json")
    runs.append(run)
    run.wait_for_work()
    children = _descendants(run.process.pid)
    commands = " ".join(proc.command for proc in children)
    assert len(_workers(run.process.pid)) == 2 and "forkserver" in commands and "resource_tracker" in commands
    os.kill(run.process.pid, signal.SIGKILL)
    run.process.wait(timeout=10)
    _wait_for_exit(children)


# --- 4. bad --out ------------------------------------------------------------------------------------------------


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE = 24, 1  # linux/prctl.h, linux/capability.h


def _without_root_write_override() -> None:
    """Root writes into any folder whatever its mode: drop that one capability (CAP_DAC_OVERRIDE) from the runner,
    which stays root otherwise, so a read-only folder is read-only for it."""
    if os.geteuid() == 0:
        unsigned = ctypes.c_ulong
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(ctypes.c_int(PR_CAPBSET_DROP), unsigned(CAP_DAC_OVERRIDE), unsigned(0), unsigned(0), unsigned(0)):
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP, CAP_DAC_OVERRIDE)")


@pytest.fixture
def folder(tmp_path: Path, video: Path) -> Path:
    """The video, an existing folder, a regular file and a read-only folder."""
    (tmp_path / "results").mkdir()
    (tmp_path / "notes.txt").write_text("a regular file\n")
    (tmp_path / "read-only").mkdir()
    (tmp_path / "read-only").chmod(0o555)
    (tmp_path / "v.mp4").write_bytes(video.read_bytes())
    return tmp_path


BAD_OUTS: dict[str, Callable[[Path], Path]] = {
    "an-existing-folder": lambda folder: folder / "results",
    "a-path-under-a-regular-file": lambda folder: folder / "notes.txt" / "s.json",
    "under-proc": lambda folder: Path("/proc/s.json"),
    "under-proc-self": lambda folder: Path("/proc/self/s.json"),
    "under-sys": lambda folder: Path("/sys/kernel/s.json"),
    "a-read-only-folder": lambda folder: folder / "read-only" / "s.json",
}


def _analyze(video: Path, out: Path, env: dict[str, str] | None = None, **kwargs: Any) -> tuple[int, str]:
    """Run the runner to the end: (exit code, stderr)."""
    command = [sys.executable, "-m", "runner", "analyze", str(video), "--out", str(out), "--model", str(DEMO_ONNX)]
    result = subprocess.run(
        [*command, "--quiet", "--workers", "2", "--chunk-seconds", "3"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        **kwargs,
    )
    return result.returncode, result.stderr


def _snapshot(folder: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in folder.rglob("*")}


@pytest.mark.parametrize("bad", BAD_OUTS.values(), ids=BAD_OUTS.keys())
def test_a_bad_out_is_refused_before_any_work_with_one_line(bad: Callable[[Path], Path], folder: Path) -> None:
    """Today's runner analysed the whole video first, then failed with a traceback and left a .partial file."""
    before = _snapshot(folder)
    code, stderr = _analyze(folder / "v.mp4", bad(folder), preexec_fn=_without_root_write_override)
    assert code == 2, stderr
    assert _one_line(stderr).startswith("error: --out ")
    assert _snapshot(folder) == before, "nothing written: no summary, chart, chunk folder or temp file"


@pytest.mark.parametrize("out", ["/proc/self/fd/1", "/dev/stdout"])
def test_an_out_that_names_the_output_stream_is_refused_before_any_work(out: str, video: Path, tmp_path: Path) -> None:
    """With stdout a file, such an --out resolves to that file: the runner analysed the video, replaced the file by
    the summary (unlinking what stdout wrote to) and ended in a traceback."""
    log = tmp_path / "stdout.log"
    command = [sys.executable, "-m", "runner", "analyze", str(video), "--out", out, "--model", str(DEMO_ONNX)]
    with log.open("w") as stdout:
        done = subprocess.run(command, cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE, text=True, timeout=300)
    assert done.returncode == 2, done.stderr
    assert (
        _one_line(done.stderr)
        == f"error: --out {out}: /{out.split('/')[1]} belongs to the kernel, not a place for results"
    )
    assert log.read_text() == "" and log.is_file()


# --- 5. the disk fills up ------------------------------------------------------------------------------------------


def _file_size_limit(limit: int) -> Callable[[], None]:
    """RLIMIT_FSIZE for the runner and the processes it starts: a write past ``limit`` bytes fails with EFBIG, as
    one on a full disk fails with ENOSPC (a real full disk needs a small file system, which we may not mount here)."""
    return lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


@pytest.fixture(scope="module")
def settled_caches() -> None:
    """Matplotlib's font cache is written on first import: write it now, not in a run whose writes are limited."""
    subprocess.run([sys.executable, "-c", "import matplotlib.font_manager, ultralytics"], check=True, timeout=120)


DISK_FULL_AT = {
    "the-first-write": 512,  # the job spec, written while planning, in the runner itself
    "the-chunk-results": 2048,  # each chunk's detections, written by the workers
    "the-chart": 12 * 1024,  # all but the chart fit
}


@pytest.mark.parametrize("limit", DISK_FULL_AT.values(), ids=DISK_FULL_AT.keys())
def test_a_full_disk_gives_one_line_exit_1_and_no_partial_files(
    limit: int, video: Path, tmp_path: Path, settled_caches: None
) -> None:
    one_attempt = {"CHUNK_RETRY_ATTEMPTS": "1"}  # a chunk whose results cannot be written fails at once
    code, stderr = _analyze(video, tmp_path / "s.json", env=one_attempt, preexec_fn=_file_size_limit(limit))
    assert code == 1, stderr
    assert _one_line(stderr).startswith("error: no space for the results: "), stderr
    assert not _partials(tmp_path)


def test_a_failed_write_removes_its_temp_file_and_keeps_the_old_file(tmp_path: Path) -> None:
    """LocalStorage itself, in a process of its own with a 1 KiB file-size limit, overwriting a 100-byte file."""
    target = tmp_path / "s.json"
    target.write_text("old" * 33 + "\n")
    script = (
        "import sys\n"
        "from videoanalysis.contracts import BlobRef\n"
        "from videoanalysis.storage import LocalStorage\n"
        "try:\n"
        "    LocalStorage({'out': sys.argv[1]}).write_bytes(BlobRef('out', 's.json'), b'x' * 4096)\n"
        "except OSError as error:\n"
        "    print(error.errno, error.filename)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        preexec_fn=_file_size_limit(1024),
        check=True,
    )
    assert result.stdout.split() == ["27", str(target)], result  # EFBIG, naming the file, not its temp file
    assert target.read_text() == "old" * 33 + "\n"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["s.json"]
