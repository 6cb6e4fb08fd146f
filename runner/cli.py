"""`videoanalysis` (or `python -m runner`): analyse a video on this machine, make synthetic scenes, run the demo.

`analyze` is the composition root of the local runner: it builds the orchestration input, then drives the app's own
orchestrator (`orchestrators.analyze_video`) and activities (`activities`) through `runner.local`.
"""

from __future__ import annotations

import argparse
import errno
import importlib
import json
import multiprocessing.util
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from runner import upload
from scenes.generator import parse_size, write_scene
from videoanalysis import artefacts
from videoanalysis.contracts import BlobRef, Job
from videoanalysis.regions import Line, Regions, Zone, parse_line_spec, parse_zone_spec
from videoanalysis.settings import CHOICES, NO_REGIONS, Settings
from videoanalysis.storage import PARTIAL_SUFFIX, LocalStorage

if TYPE_CHECKING:
    from runner.local import ActivityPool

EXIT_OK, EXIT_ANALYSIS_FAILED, EXIT_BAD_INPUT = 0, 1, 2
# INT8: the fastest on CPU, and its held-out counts are the FP32 model's (docs/decisions/2026-11-30-int8.md)
DEMO_MODEL = Path(__file__).resolve().parent.parent / "models" / "demo-yolo26n-int8.onnx"


class UsageError(Exception):
    """Bad input or options: exit code 2 with one line on stderr."""


class RunError(Exception):
    """The run failed outside the analysis, e.g. the disk filled up: exit code 1 with one line on stderr."""


class Stopped(KeyboardInterrupt):
    """SIGINT (Ctrl-C) or SIGTERM: stop now. The exit code is 128 + the signal's number (130, 143), as shells say."""

    def __init__(self, signum: int) -> None:
        super().__init__("interrupted" if signum == signal.SIGINT else "terminated")
        self.exit_code = 128 + signum


QUIET_NATIVE_LOGS = {"OPENCV_LOG_LEVEL": "ERROR", "OPENCV_FFMPEG_LOGLEVEL": "-8"}
"""OpenCV and FFmpeg print their own warnings ("moov atom not found") to stderr; our error line says it better.
Worker processes inherit them before they import cv2; this process imported it already, see `_quiet_opencv`."""


def main(argv: list[str] | None = None) -> int:
    for name, value in QUIET_NATIVE_LOGS.items():
        os.environ.setdefault(name, value)
    _quiet_opencv()
    parser = build_parser()
    args = parser.parse_args(argv)
    with _stop_on_signals():
        try:
            return args.func(args)
        except (UsageError, ValueError) as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_BAD_INPUT
        except RunError as error:
            print(f"error: {error}", file=sys.stderr)
            return EXIT_ANALYSIS_FAILED
        except Stopped as stop:
            print(stop, file=sys.stderr)
            _exit_now(stop.exit_code)
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return 128 + signal.SIGINT


def entry_point() -> NoReturn:
    """The `videoanalysis` command (and `python -m runner`): `main`, then the process ends without the interpreter's
    teardown, which takes about a second once torch is loaded and would keep the user waiting after the results are
    written and the workers are gone."""
    _exit_now(main())


def _exit_now(code: int) -> NoReturn:
    """End the process once the clean-up is done (workers dead, temp files removed, output flushed), skipping the
    interpreter's teardown of native libraries: 0.2-1 s on a busy machine, which also keeps a stop within 2 s.

    multiprocessing's exit hook is skipped with it, so its finalizers run here: they remove its temp folder (the fork
    server's socket, `$TMPDIR/pymp-*`), which would otherwise be left behind by every run."""
    with suppress(Exception):
        multiprocessing.util._run_finalizers()  # type: ignore[attr-defined]  # the exit hook's own clean-up
    for stream in (sys.stdout, sys.stderr):
        with suppress(Exception):
            stream.flush()
    os._exit(code)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """SIGINT and SIGTERM raise `Stopped` once: the run stops its workers and exits; a second signal is ignored so
    that it cannot break off that clean-up. (SIGTERM would otherwise kill this process without any clean-up.)"""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        if not stopping:
            stopping = True
            raise Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        if not stopping:  # once stopping, stay deaf to signals until the process exits
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _quiet_opencv() -> None:
    """OpenCV reads OPENCV_LOG_LEVEL when it is imported, here before `main` ran: apply the level now as well."""
    import cv2.utils.logging as opencv_logging

    if os.environ["OPENCV_LOG_LEVEL"].upper() == "ERROR":
        opencv_logging.setLogLevel(opencv_logging.LOG_LEVEL_ERROR)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="videoanalysis", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    analyze = commands.add_parser(
        "analyze",
        help="analyse video files and folders: per-class counts, a summary, chart and report per video, "
        "and for many videos one table (batch.csv, batch.json, index.html)",
    )
    analyze.add_argument(
        "paths", type=Path, nargs="+", metavar="PATH", help="a video file, or a folder searched recursively for videos"
    )
    _add_analysis_options(analyze)
    analyze.add_argument("--force", action="store_true", help="analyse every video again, even one done before")
    analyze.set_defaults(func=analyze_main)
    demo = commands.add_parser("demo", help="make a synthetic scene and analyse it with the bundled demo model")
    demo.add_argument("--out", type=Path, default=Path("out/demo"), help="folder for the scene and the results")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--seconds", type=float, default=40.0)
    demo.add_argument("--workers", type=int, default=None)
    demo.set_defaults(func=demo_main)
    _register_synth(commands)
    upload.register(commands)
    return parser


def _add_analysis_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="model file (.pt, .onnx or export folder); default: MODEL_PATH")
    parser.add_argument(
        "--out",
        type=Path,
        help="one video: its summary JSON (chart and HTML report beside it; default out/<video>.json); "
        "many videos or a folder: the output folder (default out/)",
    )
    parser.add_argument("--chunk-seconds", type=float)
    parser.add_argument("--max-chunks", type=int)
    parser.add_argument("--sample-fps", type=float, help="frames per second to analyse; 0 = every frame")
    parser.add_argument("--conf", type=float, dest="confidence")
    parser.add_argument("--imgsz", type=int)
    parser.add_argument(
        "--end2end", action=argparse.BooleanOptionalAction, help="YOLO26 NMS-free head (default: END2END, false)"
    )
    parser.add_argument(
        "--backend",
        choices=CHOICES["backend"],
        help="auto: ONNX Runtime for .onnx, Ultralytics otherwise (default: BACKEND)",
    )
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--classes", help="comma-separated class names to count (default: all)")
    parser.add_argument(
        "--line",
        dest="regions",
        action=AddRegion,
        const=parse_line_spec,
        metavar="NAME=x1,y1,x2,y2",
        help='count crossings of this directed segment (pixels); "in" is from its left to its right; repeatable',
    )
    parser.add_argument(
        "--zone",
        dest="regions",
        action=AddRegion,
        const=parse_zone_spec,
        metavar="NAME=x1,y1,x2,y2,x3,y3[,...]",
        help="count objects entering this polygon (pixels); repeatable; with --line, replaces COUNT_REGIONS",
    )
    parser.add_argument("--workers", type=int, help="worker processes (default: number of cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


class AddRegion(argparse.Action):
    """`--line` and `--zone`: each adds its region (parsed by `const`) to the run's set, checked as it comes, so that
    a bad spec, a name given twice or one region over the caps is an argparse error: exit 2, one line that says why."""

    def __call__(
        self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, _: Any = None
    ) -> None:
        regions = getattr(namespace, self.dest) or NO_REGIONS
        try:
            region = self.const(values)
            lines = (*regions.lines, region) if isinstance(region, Line) else regions.lines
            zones = (*regions.zones, region) if isinstance(region, Zone) else regions.zones
            regions = Regions(lines, zones)
        except ValueError as error:
            raise argparse.ArgumentError(self, str(error)) from None
        setattr(namespace, self.dest, regions)


OPTION_SETTINGS = (
    "chunk_seconds",
    "max_chunks",
    "sample_fps",
    "confidence",
    "imgsz",
    "end2end",
    "backend",
    "batch_size",
)
"""Command-line options that override the setting of the same name; an option left out keeps the setting."""


def analyze_main(args: argparse.Namespace) -> int:
    environment = Settings.env_values()
    options = run_options(args)
    settings = Settings(**{**environment, **options})
    auto_chunks = "chunk_seconds" not in environment and "chunk_seconds" not in options
    if len(args.paths) > 1 or args.paths[0].is_dir():
        return batch_main(args, settings, auto_chunks)
    video = args.paths[0]
    out = args.out or Path("out") / f"{video.name}.json"
    outcome = analyze_file(video, out, settings, args.workers, not args.quiet, auto_chunks)
    return report(outcome, out)


def batch_main(args: argparse.Namespace, settings: Settings, auto_chunks: bool) -> int:
    """Many videos into one folder; the exit code is 0 when every video succeeded, 1 when any did not."""
    from runner.batch import analyze_batch, exit_code, problem_lines, table_lines

    out = args.out or Path("out")
    table = analyze_batch(args.paths, out, settings, args.workers, not args.quiet, args.force, auto_chunks)
    print("\n".join(table_lines(table, out)))
    for line in problem_lines(table):
        print(line, file=sys.stderr)
    return exit_code(table)


def run_options(args: argparse.Namespace) -> dict[str, Any]:
    """The settings the command line sets for this run; they override the environment's. Any `--line` or `--zone`
    replaces all of COUNT_REGIONS: the regions of a run are the ones its command names."""
    options = {name: getattr(args, name) for name in OPTION_SETTINGS if getattr(args, name) is not None}
    if args.model is not None:
        options["model_path"] = args.model
    if args.classes:
        options["classes"] = tuple(name.strip() for name in args.classes.split(",") if name.strip())
    if args.regions is not None:
        options["count_regions"] = args.regions
    return options


def analyze_file(
    video: Path,
    out: Path,
    settings: Settings,
    workers: int | None = None,
    progress: bool = True,
    auto_chunks: bool = False,
) -> dict[str, Any]:
    """Analyse one local file with the app's orchestrator; returns the orchestration output.

    ``auto_chunks`` sizes the chunks for the local workers (`chunk_seconds_for_workers`) instead of CHUNK_SECONDS,
    which is made for fanning out over many machines.
    """
    if not video.is_file():
        raise UsageError(f"no such video file: {video}")
    check_model(settings)
    check_out(out)
    out = out.resolve()
    with worker_pool(settings, workers, [out.parent, artefacts.local_results_folder(out)], out) as run:
        from runner.progress import ProgressBars

        with ProgressBars(enabled=progress) as bars:
            return run.analyze(video, out, settings, auto_chunks, bars.status, bars.result)


def check_model(settings: Settings) -> None:
    if not Path(settings.model_path).exists():
        raise UsageError(f"no model file {settings.model_path!r}: pass --model or set MODEL_PATH (never downloaded)")


@dataclass
class PoolRun:
    """The worker pool of a run and what every video analysed on it shares: the tracker's import, and the folders
    to clear of unfinished writes when the run ends.

    `spread` is how many workers one video's chunks are sized for (`auto_chunks`): all of them for a video alone;
    one in a batch, whose other videos keep the rest busy, so no chunk pays a seek it does not need.
    """

    pool: ActivityPool
    workers: int
    tracker: threading.Thread
    scratch: list[Path]
    spread: int

    def analyze(
        self,
        video: Path,
        out: Path,
        settings: Settings,
        auto_chunks: bool,
        on_status: Callable[[Any], None],
        on_result: Callable[[str, Any], None],
    ) -> dict[str, Any]:
        """Build the job and drive the app's orchestrator over the pool, planning and summarising in this process."""
        from activities import plan_chunks, summarize
        from orchestrators.analyze_video import analyze_video
        from runner.local import LocalContext, run_orchestrator

        if auto_chunks:
            settings = _chunks_for_workers(video, settings, self.spread)
        storage = LocalStorage({"videos": video.resolve().parent, "out": out.parent})
        summary = BlobRef("out", out.name)
        job = Job(
            video=BlobRef("videos", video.name),
            summary=summary,
            results=artefacts.local_results(summary),
            settings=settings,
            storage=storage.spec(),
        )

        def summarize_when_imported(payload: dict[str, Any]) -> dict[str, Any]:
            self.tracker.join()  # two threads importing Ultralytics at once can deadlock on its module locks
            return summarize(payload)

        inline = {"plan_chunks": plan_chunks, "summarize": summarize_when_imported}
        context = LocalContext(job.to_dict(), self.pool, on_status=on_status, on_result=on_result, inline=inline)
        return run_orchestrator(analyze_video, context)


@contextmanager
def worker_pool(settings: Settings, workers: int | None, scratch: list[Path], out: Path) -> Iterator[PoolRun]:
    """Start the workers (each loads the model once) for every analysis of this run, and stop them at its end.

    On Ctrl-C, SIGTERM or any error the pool kills its workers at once: nothing goes on writing after we exit. A
    write that fails for want of space or rights ends the run with one line that names the file (`RunError`).
    """
    from runner.local import activity_pool, default_workers
    from videoanalysis.models import WORKER_IMPORTS, offline_ultralytics, warm_up

    workers = workers or default_workers()
    threads = max(1, default_workers() // workers)
    preload = partial(warm_up, settings.model_path, settings.end2end, settings.backend)
    offline_ultralytics()  # before the workers' shared imports load Ultralytics
    pool = activity_pool(workers, "activities", threads, preload, WORKER_IMPORTS)
    try:
        with pool:
            # The workers' start-up is the longest step before the first chunk: import the rest while it runs,
            # including the chart library (about 1 s) for the summary, which this process writes at the end.
            import matplotlib.figure  # noqa: F401

            # Planning and summarising need no model: planning runs here while the workers are still starting, and
            # the summary here at the end. Its tracking pass needs Ultralytics' tracker, and with it torch (the
            # workers need neither with an .onnx model): imported beside the chunks.
            tracker = threading.Thread(
                target=importlib.import_module, args=("videoanalysis.tracking.adapter",), daemon=True
            )
            tracker.start()
            yield PoolRun(pool, workers, tracker, scratch, spread=workers)
    except OSError as error:
        raise _run_error(error, out) from error
    finally:
        _remove_partials(scratch, [os.getpid(), *pool.started_pids])


KERNEL_FILESYSTEMS = (Path("/proc"), Path("/sys"), Path("/dev"))
"""Folders whose files are the kernel's, not ours: writing there fails, or worse, does something (`/dev/stdout` and
`/proc/self/fd/1` name whatever the output is, a file that the summary's atomic write would unlink from under it)."""


def check_out(out: Path) -> None:
    """Refuse an --out that cannot take the results before any work, rather than fail after the analysis.

    Checks the summary, its chart and report (same name, .png and .html) and the chunk results folder (<stem>.chunks,
    thumbnails included) beside it, then creates and removes a probe file in the nearest existing folder: the one
    writing will create folders in.
    """
    try:
        problem = _kernel_problem(Path(os.path.abspath(out))) or _out_problem(out.resolve())
    except OSError as error:  # e.g. a folder on the way that we may not search
        problem = error.strerror or str(error)
    if problem:
        raise UsageError(f"--out {out}: {problem}")


def _out_problem(out: Path) -> str | None:
    if out.is_dir():
        return f"is a folder; give a file name, such as {out / 'summary.json'}"
    for path in (out, out.with_suffix(".png"), out.with_suffix(".html")):
        if path.exists() and not path.is_file():
            return f"{path} exists and is not a regular file"
    results = artefacts.local_results_folder(out)
    if results.exists() and not results.is_dir():
        return f"{results}, for the chunk results, exists and is not a folder"
    folder = next(parent for parent in out.parents if parent.exists())
    if not folder.is_dir():
        return f"{folder} is not a folder"
    if problem := _kernel_problem(folder):
        return problem
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".videoanalysis-probe-"):
            return None
    except OSError as error:
        return f"cannot create files in {folder}: {error.strerror or error}"


def _kernel_problem(path: Path) -> str | None:
    """Checked on the path as given and as resolved: a link in /proc or /dev may resolve to an ordinary file."""
    for root in KERNEL_FILESYSTEMS:
        if path == root or root in path.parents:
            return f"{root} belongs to the kernel, not a place for results"
    return None


NO_SPACE = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}
"""A full disk, a full quota, or a file-size limit (ulimit -f): the same advice for all three."""


def _run_error(error: OSError, out: Path) -> RunError:
    """One line that names the file (or, when the error does not say, the results and the temp folder)."""
    where = error.filename or f"{out} (or the temp folder {tempfile.gettempdir()})"
    if error.errno in NO_SPACE:
        return RunError(f"no space for the results: {where}: {error.strerror}; free some space or choose another --out")
    return RunError(f"cannot write the results: {where}: {error.strerror or error}")


def _remove_partials(folders: Iterable[Path], pids: Iterable[int]) -> None:
    """Temp files of writes that never finished: workers killed mid-write (Ctrl-C, the OOM killer) leave theirs."""
    pids = list(pids)
    for folder in folders:
        for pid in pids:
            for path in folder.glob(f".*.{pid}{PARTIAL_SUFFIX}"):
                path.unlink(missing_ok=True)


def _chunks_for_workers(video: Path, settings: Settings, workers: int) -> Settings:
    from videoanalysis.chunking import chunk_seconds_for_workers
    from videoanalysis.video import VideoError, covered_seconds, probe

    try:
        info = probe(str(video), settings.max_pixels)  # planning's probe then finds it cached
    except VideoError:  # the orchestration reports it, with a summary
        return settings
    # the seconds that hold frames: chunks are cut over those only, and a gap of hours would make one chunk of all
    return settings.replace(chunk_seconds=chunk_seconds_for_workers(covered_seconds(info), workers))


def report(outcome: dict[str, Any], out: Path) -> int:
    """Print the counts table and where things went; the exit code says how it went."""
    from videoanalysis.table import format_table

    summary = json.loads(out.resolve().read_text())
    if summary["status"] == "failed" and not summary.get("chunks"):
        print(f"error: {summary['error']}", file=sys.stderr)
        return EXIT_BAD_INPUT
    print(format_table(summary))
    print(f"summary: {out}\nchart:   {out.with_suffix('.png')}\nreport:  {out.with_suffix('.html')}")
    if outcome["status"] != "succeeded":
        print(f"error: analysis {outcome['status']}: {outcome['error']}", file=sys.stderr)
        return EXIT_ANALYSIS_FAILED
    return EXIT_OK


def demo_main(args: argparse.Namespace) -> int:
    """The main job end to end: a synthetic scene with known truth, analysed with the bundled model."""
    try:
        args.out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {args.out}: {error.strerror or error}") from error
    video, truth_path = args.out / "scene.mp4", args.out / "scene.truth.json"
    print(f"writing a {args.seconds:g} s synthetic scene (seed {args.seed}) to {video} ...")
    truth = write_scene(video, truth_path, seed=args.seed, seconds=args.seconds)
    settings = Settings.from_env().replace(model_path=str(DEMO_MODEL))
    out = args.out / "scene.json"
    outcome = analyze_file(video, out, settings, args.workers, auto_chunks="chunk_seconds" not in Settings.env_values())
    code = report(outcome, out)
    summary = json.loads(out.read_text())
    print("\nground truth vs counted (unique objects):")
    for name, expected in sorted(truth["unique"].items()):
        counted = summary["classes"].get(name, {}).get("unique", 0)
        print(f"  {name:<8} truth {expected:>3}   counted {counted:>3}")
    return code


def _register_synth(subparsers: Any) -> None:
    p = subparsers.add_parser("synth", help="write a synthetic scene video and its ground-truth JSON")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--seconds", type=float, default=30.0)
    p.add_argument("--fps", type=float, default=25.0)
    p.add_argument("--size", type=parse_size, default=(1280, 720), help="WxH, default 1280x720")
    p.add_argument("--out", required=True, help="video file to write")
    p.add_argument("--truth", default=None, help="ground-truth JSON to write (default: <out>.truth.json)")
    p.add_argument("--codec", choices=("mp4v", "h264"), default="mp4v")
    p.set_defaults(func=synth_main)


def synth_main(args: argparse.Namespace) -> int:
    """Run the ``synth`` command."""
    truth_path = args.truth or f"{args.out}.truth.json"
    truth = write_scene(args.out, truth_path, args.seed, args.seconds, args.fps, args.size, args.codec)
    counts = ", ".join(f"{c}={n}" for c, n in truth["unique"].items())
    print(f"wrote {args.out} ({truth['frames']} frames) and {truth_path}: {counts}")
    return 0
