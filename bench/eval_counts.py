"""`python -m bench.eval_counts` (`make eval`): the accuracy evaluation that decides every counting change (issue 12).

Per generated scene (60 s, 1280x720, 25 fps, H.264, cycling through `scenes.scenarios`), against the exact truth:

- the app, through its command line as a user runs it (`python -m runner analyze ... --workers 1`), with one chunk
  and with 10 s (CHUNK_SECONDS' default: "the app"), 5 s and 2.5 s chunks;
- the single-pass Ultralytics script over the same frames with the same model file and sampling
  (`track(stream=True, vid_stride=fps/5)`), with its default tracker and with ByteTrack.

Two seed ranges that never mix: TUNING seeds choose parameters; HELD-OUT seeds only confirm a decision (issue 12:
"a default changes only when the held-out table says it helps"). Neither overlaps the demo model's training seeds
(10000+, validation 20000+), tools/eval_demo_model.py (0-7), bench/common.py's scene (5150) or the tests' seeds.

Every run is a fresh process whose CPU time (user + sys, its whole process tree: the runner's fork server and
workers included) is measured by a small reaper around it. Scenes and the Ultralytics results are cached under
bench/results/tmp/eval/ (keyed by seed, scenario and model file hash), so a rerun only reruns the app. Candidate
settings are compared side by side with `--env KEY=VALUE ... --variant NAME`.

Scene shapes (issue 33): `--shapes NAME,...|all` evaluates other lengths, frame sizes and source rates (`SHAPES`, from
60 s to 10 min, 640x360 to 3840x2160, 10 to 60 fps) on the same two seed ranges, and writes
eval-shapes-<split>[-<variant>][-quick].json/.md: per shape and per length the app's and the script's total error,
the share of scene/class pairs within ±1 and within max(1, 2% of the truth) (with its 90% interval over the scenes
drawn again, `scene_interval`), the relative error per class and the CPU seconds per video-minute, of the app at its
default chunks and the script with its default tracker (the only runs made). `--quick` keeps such a side-by-side run
short: a few scenes per shape. `--scenarios NAME,...` keeps the scenes of some scenarios only (with `--limit N`, the
split's first N of them, beyond the shape's usual scenes): more tuning scenes of one kind where a shape's few show a
problem. It also runs the scenarios outside the cycle (`scenes.scenarios.EXTRA_SCENARIOS`: `parked`), which no other
run includes.

Each finished scene's record is saved, so an evaluation stopped part way loses one scene: `--resume` reads the saved
ones back, `--saved` (with it) reports them and runs nothing more, and `--recount` counts the stored app runs again
with this code, for a change after the chunks (tracking, linking, counting).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Collection, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import RESULTS, ROOT, TMP, prepare_environment, round_floats
from scenes.regions_truth import region_counts
from scenes.scenarios import BY_NAME, EXTRA_SCENARIOS, SCENARIOS, Scenario
from videoanalysis.regions import Line, Regions, Zone

SPLITS: dict[str, range] = {"tune": range(5000, 5120), "heldout": range(6000, 6120)}
"""Each split's seeds, in the order its scenes are taken: a shape's usual scenes are its first `Shape.scenes`; the
rest are there for `--scenarios` with `--limit`, more scenes of one kind where a shape's usual ones show too few."""
CODEC = "h264"
SAMPLE_FPS, CONF, IMGSZ = 5.0, 0.25, 416  # the app's defaults; 416 is the demo model's own size (IMGSZ=0)
CHUNKS: tuple[float, ...] = (1000.0, 10.0, 5.0, 2.5)  # 1000: one chunk for a 60 s scene; 10: CHUNK_SECONDS' default
APP_DEFAULT_CHUNK = 10.0
TRACKERS: dict[str, str | None] = {"ultralytics": None, "bytetrack": "bytetrack.yaml"}  # None: Ultralytics' default
CLASSES = ("car", "person", "bike")
EVAL = TMP / "eval"
RECORDS = EVAL / "records"
"""Each evaluated scene's record, per variant (`--resume`)."""
REGIONS = Regions(
    lines=(Line("vertical", (640.0, 280.0), (640.0, 720.0)), Line("diagonal", (320.0, 700.0), (960.0, 300.0))),
    zones=(Zone("left", ((0.0, 280.0), (400.0, 280.0), (400.0, 720.0), (0.0, 720.0))),),
)
"""What every app run also counts (issue 14), drawn on a 1280x720 frame and scaled to other sizes: a vertical line
mid-frame and a diagonal one over the ground, away from the frame's edges (an object first seen past a line near an
edge has no crossing in the truth), and a zone at the left edge. The truth comes from `scenes.regions_truth`, which
applies its own crossing and inside rules to the generator's exact paths (never the app's)."""


@dataclass(frozen=True)
class Shape:
    """A scene shape: its length, frame size and source frame rate (issue 33: users upload 360p to 4K, 10 to 60 fps,
    minutes to hours). The scene generator plans in frame-relative units, so one seed at two sizes (same length and
    rate) is the same scene scaled, and a shape's table differs from another's by the shape alone."""

    name: str
    seconds: float
    size: tuple[int, int]
    fps: float
    scenes: int  # scenes per split in a full run: the split's first seeds, cycling through the scenarios

    @property
    def suffix(self) -> str:
        """The end of its scenes' cache keys (the default shape's keys are those of the evaluation before shapes)."""
        rate = "" if self.fps == DEFAULT_SHAPE.fps else f"-{self.fps:g}fps"
        return f"{self.seconds:g}s-{self.size[0]}x{self.size[1]}-{CODEC}{rate}"

    @property
    def regions(self) -> Regions:
        """`REGIONS` scaled to this frame size."""
        sx, sy = self.size[0] / 1280.0, self.size[1] / 720.0
        return Regions(
            lines=tuple(
                Line(line.name, (line.a[0] * sx, line.a[1] * sy), (line.b[0] * sx, line.b[1] * sy))
                for line in REGIONS.lines
            ),
            zones=tuple(Zone(zone.name, tuple((x * sx, y * sy) for x, y in zone.points)) for zone in REGIONS.zones),
        )


DEFAULT_SHAPE = Shape("60s-720p25", 60.0, (1280, 720), 25.0, 24)
"""The shape `make eval` tunes and reports on (every scene of both splits)."""

SHAPES: tuple[Shape, ...] = (
    DEFAULT_SHAPE,
    Shape("60s-360p25", 60.0, (640, 360), 25.0, 12),
    Shape("60s-1080p30", 60.0, (1920, 1080), 30.0, 12),
    Shape("60s-720p60", 60.0, (1280, 720), 60.0, 12),
    Shape("60s-720p10", 60.0, (1280, 720), 10.0, 12),
    Shape("3min-360p25", 180.0, (640, 360), 25.0, 12),
    Shape("5min-360p10", 300.0, (640, 360), 10.0, 4),
    Shape("10min-360p25", 600.0, (640, 360), 25.0, 3),
    Shape("10min-1080p30", 600.0, (1920, 1080), 30.0, 2),
    Shape("60s-2160p30", 60.0, (3840, 2160), 30.0, 12),
    Shape("30min-360p25", 1800.0, (640, 360), 25.0, 1),
    Shape("60min-360p25", 3600.0, (640, 360), 25.0, 1),
)
"""Every shape `--shapes all` evaluates. The 60 s shapes share the default shape's seeds (the same scenes scaled, or
at another rate); the 360p25 ladder (60 s, 3 min, 10 min, 30 min, an hour) isolates length. Shapes of 12 scenes
see every scenario once; those of 5 minutes and more, the first few, for the machine's time."""
SHAPE_BY_NAME = {shape.name: shape for shape in SHAPES}
QUICK_SCENES = 2
"""Scenes per shape with `--quick`."""
DEFAULT_MODEL = ROOT / "models" / "demo-yolo26n-int8.onnx"  # the demo default (runner.cli.DEMO_MODEL)


@dataclass(frozen=True)
class Method:
    """One column of the tables: what ran and how it is labelled."""

    key: str
    label: str


METHODS: tuple[Method, ...] = (
    Method("app_10", "app, 10 s chunks (CHUNK_SECONDS default)"),
    Method("app_1000", "app, one chunk"),
    Method("app_5", "app, 5 s chunks"),
    Method("app_2.5", "app, 2.5 s chunks"),
    Method("ultralytics", "Ultralytics script, default tracker"),
    Method("bytetrack", "Ultralytics script, ByteTrack"),
)


def app_key(chunk_seconds: float) -> str:
    return f"app_{chunk_seconds:g}"


# A reaper around each measured run: it becomes the "child subreaper" of its process tree (Linux prctl), so
# processes orphaned by the run (the runner's multiprocessing fork server, whose children are the workers) are
# reparented to it and reaped; RUSAGE_CHILDREN then holds the CPU time of the whole tree, which a plain
# wait4 on the runner misses. Stdout/stderr pass through; the usage is written as JSON to argv[2].
_REAPER = """
import ctypes, json, os, resource, subprocess, sys, time
try:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
except Exception:
    pass
code = subprocess.call(json.loads(sys.argv[1]))
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        pid, _ = os.waitpid(-1, os.WNOHANG)
    except ChildProcessError:
        break
    if pid == 0:
        time.sleep(0.05)
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
with open(sys.argv[2], "w") as out:
    json.dump({"returncode": code, "user_s": usage.ru_utime, "sys_s": usage.ru_stime}, out)
"""


@dataclass(frozen=True)
class Measured:
    """A finished run: exit status, wall seconds, CPU seconds of its process tree, its stdout and stderr tail."""

    returncode: int
    wall_s: float
    cpu_s: float
    stdout: str
    stderr: str


def measure(args: Sequence[str], env: dict[str, str] | None = None, timeout: float = 3600.0) -> Measured:
    """Run ``args`` from the repository root under the reaper; CPU = user + sys of every process it started."""
    with tempfile.TemporaryDirectory(prefix="eval-run-") as folder:
        usage_path = Path(folder) / "usage.json"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", _REAPER, json.dumps(list(args)), str(usage_path)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, **(env or {})},
        )
        wall = time.perf_counter() - start
        usage = json.loads(usage_path.read_text()) if usage_path.is_file() else {"returncode": done.returncode}
    code = usage["returncode"] if done.returncode == 0 else done.returncode
    cpu = usage.get("user_s", 0.0) + usage.get("sys_s", 0.0)
    return Measured(code, wall, cpu, done.stdout, done.stderr[-3000:])


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@dataclass(frozen=True)
class SceneSpec:
    """One evaluation scene: its seed and scenario, and where its cached video and truth live."""

    seed: int
    scenario: str
    knobs_hash: str
    shape: Shape = DEFAULT_SHAPE

    @classmethod
    def of(cls, seed: int, scenario: Scenario, shape: Shape) -> SceneSpec:
        """The scene of `seed` under `scenario` at `shape`; its knobs (and the generator's format) name its cache."""
        from scenes.generator import FORMAT

        return cls(seed, scenario.name, hashlib.sha256(f"{FORMAT}|{scenario!r}".encode()).hexdigest()[:8], shape)

    @property
    def key(self) -> str:
        return f"{self.seed}-{self.scenario}-{self.knobs_hash}-{self.shape.suffix}"

    @property
    def video(self) -> Path:
        return EVAL / "scenes" / f"{self.key}.mp4"

    @property
    def truth_path(self) -> Path:
        return self.video.with_suffix(".truth.json")


def scenes_for(
    split: str, limit: int | None, shape: Shape = DEFAULT_SHAPE, scenarios: Collection[str] | None = None
) -> list[SceneSpec]:
    """The split's scenes of `shape`, cycling through the scenarios from the first seed: the first N with ``limit``,
    without it the shape's usual `shape.scenes`. With `scenarios`, only those scenarios' scenes: the first N of the
    split's with ``limit``, else those among the usual ones. A scenario outside the cycle
    (`scenes.scenarios.EXTRA_SCENARIOS`) comes only when named, after them, on the split's seeds from the first: N
    with ``limit``, else as many as the cycle gives each of its scenarios."""
    specs = [SceneSpec.of(seed, SCENARIOS[k % len(SCENARIOS)], shape) for k, seed in enumerate(SPLITS[split])]
    if limit is None:
        specs = specs[: shape.scenes]
    cycled = [spec for spec in specs if scenarios is None or spec.scenario in scenarios][:limit]
    extra_seeds = SPLITS[split][: limit or max(1, shape.scenes // len(SCENARIOS))]
    named = [chosen for chosen in EXTRA_SCENARIOS if scenarios and chosen.name in scenarios]
    return cycled + [SceneSpec.of(seed, chosen, shape) for chosen in named for seed in extra_seeds]


def ensure_scene(spec: SceneSpec) -> dict[str, Any]:
    """Render the scene once (in a child process, so renders run in parallel) and return its truth. The video and its
    truth are written under names of this process and thread, then renamed: evaluations that run at once may render
    the same scene, and neither may read the other's half-written files."""
    if not (spec.video.is_file() and spec.truth_path.is_file()):
        spec.video.parent.mkdir(parents=True, exist_ok=True)
        writer = f"{os.getpid()}-{threading.get_ident()}"
        partial = spec.video.with_name(f".{writer}-{spec.video.name}")
        partial_truth = spec.truth_path.with_name(f".{writer}-{spec.truth_path.name}")
        code = (
            "import sys; from scenes.generator import write_scene; from scenes.scenarios import scenario; "
            f"write_scene(sys.argv[1], sys.argv[2], seed={spec.seed}, seconds={spec.shape.seconds!r}, "
            f"fps={spec.shape.fps!r}, size={spec.shape.size!r}, codec={CODEC!r}, scenario=scenario({spec.scenario!r}))"
        )
        run = measure([sys.executable, "-c", code, str(partial), str(partial_truth)])
        if run.returncode != 0:
            raise RuntimeError(f"rendering scene {spec.key} failed: {run.stderr.strip()[-1500:]}")
        partial.replace(spec.video)
        partial_truth.replace(spec.truth_path)
    return json.loads(spec.truth_path.read_text())


SHORT_HITS = 5  # a counted object seen in at most this many analysed frames (1 s at 5 fps) is a likely fragment


def run_app(spec: SceneSpec, chunk_seconds: float, model: Path, env: dict[str, str], variant: str) -> dict[str, Any]:
    """The app's command line on one scene; counts, chunks, CPU, and what its objects say about fragments."""
    # A fresh folder per run: the app reuses a completed chunk result of the same job (settings, model file, library
    # version), which would hide a code change and its CPU cost.
    folder = EVAL / "runs" / variant / spec.key / f"chunks-{chunk_seconds:g}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    out = folder / "summary.json"
    shutil.rmtree(out.with_suffix(".chunks"), ignore_errors=True)  # else the runner reuses its completed chunks
    args = [
        *(sys.executable, "-m", "runner", "analyze", str(spec.video), "--model", str(model), "--out", str(out)),
        *("--quiet", "--workers", "1", "--chunk-seconds", f"{chunk_seconds:g}"),
        *region_args(spec.shape.regions),
    ]
    run = measure(args, env)
    if run.returncode != 0 or not out.is_file():
        return {"error": f"exit {run.returncode}: {run.stderr.strip()[-1500:]}", "wall_s": run.wall_s}
    summary = json.loads(out.read_text())
    return {**summary_counts(summary), "wall_s": run.wall_s, "cpu_s": run.cpu_s, "summary": str(out.relative_to(ROOT))}


def summary_counts(summary: dict[str, Any]) -> dict[str, Any]:
    """What the tables read of an app run's summary: its counts, chunks, likely fragments and regions."""
    objects = [o for o in summary.get("objects", []) if o.get("counted", True)]
    return {
        "unique": {c: summary["classes"].get(c, {}).get("unique", 0) for c in CLASSES},
        "chunks": summary["totals"]["chunks"],
        "short_counted": {c: sum(o["cls"] == c and o["hits"] <= SHORT_HITS for o in objects) for c in CLASSES},
        "across_chunks": {c: sum(o["cls"] == c and len(o["chunks"]) > 1 for o in objects) for c in CLASSES},
        "regions": _region_counts(summary),
    }


def region_args(regions: Regions) -> list[str]:
    """The command line's --line/--zone options for `regions`."""
    args = []
    for line in regions.lines:
        args += ["--line", f"{line.name}=" + ",".join(f"{v:g}" for v in (*line.a, *line.b))]
    for zone in regions.zones:
        args += ["--zone", f"{zone.name}=" + ",".join(f"{v:g}" for point in zone.points for v in point)]
    return args


def _region_counts(summary: dict[str, Any]) -> dict[str, Any]:
    """The summary's line and zone counts in `scenes.regions_truth.region_counts`' shape, every class listed."""
    lines = {
        name: {c: row["classes"].get(c, {"in": 0, "out": 0}) for c in CLASSES}
        for name, row in summary.get("lines", {}).items()
    }
    zones = {
        name: {c: row["classes"].get(c, {"entered": 0, "peak": 0}) for c in CLASSES}
        for name, row in summary.get("zones", {}).items()
    }
    return {"lines": lines, "zones": zones}


def run_ultralytics(spec: SceneSpec, tracker: str, model: Path, stride: int) -> dict[str, Any]:
    """The single-pass script (`bench.throughput.baseline`), cached per scene, model file and tracker."""
    cache = EVAL / "ultralytics" / f"{spec.key}-{model.stem}-{file_hash(model)}-{tracker}-s{stride}.json"
    if cache.is_file():
        return {**json.loads(cache.read_text()), "cached": True}
    code = (
        "import json, sys; from bench.throughput import baseline; print(json.dumps(baseline(*json.loads(sys.argv[1]))))"
    )
    options = [str(spec.video), str(model), IMGSZ, CONF, stride, TRACKERS[tracker]]
    run = measure([sys.executable, "-c", code, json.dumps(options)])
    if run.returncode != 0:
        return {"error": f"exit {run.returncode}: {run.stderr.strip()[-1500:]}", "wall_s": run.wall_s}
    found = json.loads(run.stdout.strip().splitlines()[-1])
    result = {
        "unique": {c: found["unique"].get(c, 0) for c in CLASSES},
        "frames": found["frames"],
        "wall_s": run.wall_s,
        "cpu_s": run.cpu_s,
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return {**result, "cached": False}


def evaluate_scene(
    spec: SceneSpec,
    model: Path,
    env: dict[str, str],
    variant: str,
    chunks: Sequence[float] = CHUNKS,
    trackers: Sequence[str] = tuple(TRACKERS),
) -> dict[str, Any]:
    """Every method on one scene, one after another (scenes run in parallel)."""
    started = time.perf_counter()
    truth = ensure_scene(spec)
    stride = round(truth["fps"] / SAMPLE_FPS)
    runs: dict[str, dict[str, Any]] = {}
    for tracker in trackers:
        runs[tracker] = run_ultralytics(spec, tracker, model, stride)
    for chunk_seconds in chunks:
        runs[app_key(chunk_seconds)] = run_app(spec, chunk_seconds, model, env, variant)
    log(f"scene {spec.key} done in {time.perf_counter() - started:.0f} s: {_brief(truth, runs)}")
    return {
        "git": _git_state(),
        "seed": spec.seed,
        "scenario": spec.scenario,
        "video": str(spec.video.relative_to(ROOT)),
        "truth": {c: truth["unique"][c] for c in CLASSES},
        "shape": spec.shape.name,
        "seconds": spec.shape.seconds,
        "regions_truth": region_counts(truth, spec.shape.regions, SAMPLE_FPS),
        "runs": runs,
    }


def methods_run(scenes: Sequence[dict[str, Any]]) -> list[Method]:
    """The methods every scene ran: all of them, unless `--chunks` chose fewer chunk lengths."""
    return [m for m in METHODS if all(m.key in s["runs"] for s in scenes)]


def _brief(truth: dict[str, Any], runs: dict[str, dict[str, Any]]) -> str:
    parts = [f"truth {[truth['unique'][c] for c in CLASSES]}"]
    for m in methods_run([{"runs": runs}]):
        run = runs[m.key]
        parts.append(f"{m.key} {'ERROR' if 'error' in run else [run['unique'][c] for c in CLASSES]}")
    return ", ".join(parts)


def _scene_or_error(spec: SceneSpec, model: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One scene's record, or its error: a scene that cannot be rendered is reported, not the end of the run.

    Each finished scene's record is saved (`RECORDS`), so that an evaluation stopped part way loses one scene: with
    `--resume`, a scene saved by a run of the same variant, settings, model, chunks and trackers is read back, not
    run again (its record names the code it ran with)."""
    if args.resume and (record := saved_scene(spec, model, args)) is not None:
        log(f"scene {spec.key}: the saved record of code {record['git']}")
        return record
    try:
        scene = evaluate_scene(spec, model, args.env, args.variant, args.chunks, args.trackers)
    except RuntimeError as error:
        log(f"scene {spec.key} failed: {error}")
        return {"seed": spec.seed, "scenario": spec.scenario, "shape": spec.shape.name, "error": str(error)}
    saved = _record_path(spec, model, args)
    saved.parent.mkdir(parents=True, exist_ok=True)
    partial = saved.with_name(f".{os.getpid()}-{threading.get_ident()}-{saved.name}")
    partial.write_text(json.dumps({"job": _job(model, args), "scene": scene}))
    partial.replace(saved)
    return scene


def saved_scene(spec: SceneSpec, model: Path, args: argparse.Namespace) -> dict[str, Any] | None:
    """The saved record of `spec` by a run of the same variant, settings, model, chunks and trackers, if any."""
    saved = _record_path(spec, model, args)
    if not saved.is_file():
        return None
    record = json.loads(saved.read_text())
    return dict(record["scene"]) if record["job"] == _job(model, args) else None


def _record_path(spec: SceneSpec, model: Path, args: argparse.Namespace) -> Path:
    """One record per scene and job: running a scene with other chunks or trackers keeps the record of the first."""
    job = hashlib.sha256(json.dumps(_job(model, args), sort_keys=True).encode()).hexdigest()[:8]
    return RECORDS / args.variant / f"{spec.key}-{job}.json"


def _job(model: Path, args: argparse.Namespace) -> dict[str, Any]:
    return {"env": args.env, "model": file_hash(model), "chunks": list(args.chunks), "trackers": list(args.trackers)}


def recount(scenes: Sequence[dict[str, Any]]) -> None:
    """Count every app run of `scenes` again from its stored chunks with this code (`bench.eval_refanin`), in place:
    for a change after the chunks (tracking, linking, counting), the counts the app gives now from the same
    detections. The CPU and wall times stay the runs'."""
    from bench.eval_refanin import resummarised

    for scene in scenes:
        for key, run in scene["runs"].items():
            if key.startswith("app_") and "error" not in run:
                run.update(summary_counts(resummarised((ROOT / run["summary"]).parent)))


def aggregate(scenes: list[dict[str, Any]], failed_scenes: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """Per-method errors against the truth, seam-induced changes against one chunk, CPU seconds."""
    complete = [s for s in scenes if not any("error" in run for run in s["runs"].values())]
    ran = methods_run(scenes)
    methods: dict[str, dict[str, Any]] = {}
    for m in ran:
        errors = [s["runs"][m.key]["unique"][c] - s["truth"][c] for s in complete for c in CLASSES]
        cpu = [s["runs"][m.key]["cpu_s"] for s in complete]
        methods[m.key] = {
            "label": m.label,
            "abs_error": sum(abs(e) for e in errors),
            "signed_error": sum(errors),
            "within_1": sum(abs(e) <= 1 for e in errors) / len(errors) if errors else None,
            "pairs": len(errors),
            "cpu_s": sum(cpu),
            "cpu_s_per_scene": sum(cpu) / len(cpu) if cpu else None,
            "short_counted": sum(sum(s["runs"][m.key].get("short_counted", {}).values()) for s in complete),
        }
    one = app_key(CHUNKS[0])
    seams: dict[str, dict[str, Any]] = {}
    for chunk_seconds in CHUNKS[1:] if one in methods else ():
        key = app_key(chunk_seconds)
        if key not in methods:
            continue
        changes = sum(abs(s["runs"][key]["unique"][c] - s["runs"][one]["unique"][c]) for s in complete for c in CLASSES)
        n_seams = sum(s["runs"][key]["chunks"] - 1 for s in complete)
        seams[f"{chunk_seconds:g}"] = {
            "seams": n_seams,
            "changes": changes,
            "per_100_seams": 100.0 * changes / n_seams if n_seams else None,
        }
    scenarios: dict[str, dict[str, int]] = {}
    for s in complete:
        row = scenarios.setdefault(s["scenario"], dict.fromkeys([m.key for m in ran], 0))
        for m in ran:
            row[m.key] += sum(abs(s["runs"][m.key]["unique"][c] - s["truth"][c]) for c in CLASSES)
    return {
        "scenes": len(scenes) + len(failed_scenes),
        "complete_scenes": len(complete),
        "failed": [{"seed": s["seed"], "method": "scene", "error": s["error"]} for s in failed_scenes]
        + [
            {"seed": s["seed"], "method": key, "error": run["error"]}
            for s in scenes
            for key, run in s["runs"].items()
            if "error" in run
        ],
        "one_chunk_chunks": sorted({s["runs"][one]["chunks"] for s in complete if one in s["runs"]}),
        "methods": methods,
        "seams": seams,
        "by_scenario": scenarios,
        "regions": aggregate_regions(scenes),
    }


def _differences(found: dict[str, Any], truth: dict[str, Any], kind: str) -> list[tuple[int, ...]]:
    """Per region and class of one run, the differences found - truth of each count ("in"/"out" or
    "entered"/"peak")."""
    keys = ("in", "out") if kind == "lines" else ("entered", "peak")
    return [
        tuple(found[kind][name][c][k] - per_class.get(c, dict.fromkeys(keys, 0))[k] for k in keys)
        for name, per_class in truth[kind].items()
        for c in CLASSES
    ]


def aggregate_regions(scenes: list[dict[str, Any]]) -> dict[str, Any]:
    """Line and zone counts of every app run against the truth, and against one chunk (issue 14's targets: 95% of
    line/class pairs within ±1 in each direction and in in+out; 2.5 s chunks equal to one chunk)."""
    complete = [s for s in scenes if not any("error" in run for run in s["runs"].values())]
    apps = [m.key for m in methods_run(complete) if m.key.startswith("app_")]
    methods = {}
    for key in apps:
        lines = [d for s in complete for d in _differences(s["runs"][key]["regions"], s["regions_truth"], "lines")]
        zones = [d for s in complete for d in _differences(s["runs"][key]["regions"], s["regions_truth"], "zones")]
        methods[key] = {
            "line_pairs": len(lines),
            "line_within_1": sum(abs(i) <= 1 and abs(o) <= 1 and abs(i + o) <= 1 for i, o in lines) / len(lines)
            if lines
            else None,
            "line_abs_error": sum(abs(i) + abs(o) for i, o in lines),
            "line_signed_error": sum(i + o for i, o in lines),
            "zone_pairs": len(zones),
            "entered_abs_error": sum(abs(e) for e, _ in zones),
            "entered_within_1": sum(abs(e) <= 1 for e, _ in zones) / len(zones) if zones else None,
            "peak_abs_error": sum(abs(p) for _, p in zones),
        }
    one = app_key(CHUNKS[0])
    seams = {}
    for key in apps if one in apps else ():
        if key != one:
            changes = 0
            for s in complete:
                reference = s["runs"][one]["regions"]
                for kind in ("lines", "zones"):
                    changes += sum(sum(map(abs, d)) for d in _differences(s["runs"][key]["regions"], reference, kind))
            seams[key] = changes
    return {"methods": methods, "changes_from_one_chunk": seams}


def _cell(found: int, truth: int) -> str:
    diff = found - truth
    return f"{found}" if diff == 0 else f"**{found}** ({diff:+d})"


def render_markdown(report: dict[str, Any]) -> str:
    """Tables that can be pasted into the docs (docs/counting.md): summary, seams, per scenario, per scene and class."""
    agg, cfg = report["aggregate"], report["config"]
    env = " ".join(f"--env {k}={v}" for k, v in cfg["env"].items())
    lines = [
        f"### Count accuracy, {cfg['split']} split ({cfg['variant']})",
        "",
        f"`{cfg['command']}` — {agg['scenes']} scene(s) (seeds {cfg['seeds'][0]}-{cfg['seeds'][-1]}), "
        f"{cfg['seconds']:g} s, {cfg['size'][0]}x{cfg['size'][1]}, {cfg['fps']:g} fps, {CODEC}; "
        f"model `{cfg['model']}` ({cfg['model_sha256']}), "
        f"{SAMPLE_FPS:g} fps sampling, conf {CONF:g}, imgsz {IMGSZ}. "
        f"App runs: `--workers 1`{', ' + env if env else ''}. "
        f"Code: {_code(cfg)}. {cfg['cores']} cores; evaluation wall time {cfg['wall_s'] / 60:.1f} min "
        "(CPU seconds of the Ultralytics script come from its cached run).",
        "",
    ]
    if agg["failed"]:
        lines += [f"**{len(agg['failed'])} run(s) failed; totals cover {agg['complete_scenes']} complete scenes.**", ""]
    lines += [
        "| method | total abs. error | signed | pairs within ±1 | counted fragments (≤5 hits) | CPU s | CPU s/scene |",
        "|---|---|---|---|---|---|---|",
    ]
    ran = methods_run(report["scenes"])
    labels = {m.key: m.label for m in ran}
    for key, m in agg["methods"].items():
        within = f"{100 * m['within_1']:.0f}% of {m['pairs']}" if m["within_1"] is not None else "-"
        fragments = m["short_counted"] if key.startswith("app") else "-"
        per_scene = f"{m['cpu_s_per_scene']:.1f}" if m["cpu_s_per_scene"] is not None else "-"
        lines.append(
            f"| {labels[key]} | {m['abs_error']} | {m['signed_error']:+d} | {within} | {fragments} | "
            f"{m['cpu_s']:.0f} | {per_scene} |"
        )
    lines += [
        "",
        "Seam-induced changes: sum over scene/class of |unique(chunked) - unique(one chunk)|, per seam "
        "(seams = chunks - 1 from the summary's `totals.chunks`).",
        "",
        "| chunk length | seams | count changes | per 100 seams |",
        "|---|---|---|---|",
    ]
    for length, row in agg["seams"].items():
        per100 = f"{row['per_100_seams']:.1f}" if row["per_100_seams"] is not None else "-"
        lines.append(f"| {length} s | {row['seams']} | {row['changes']} | {per100} |")
    lines += _regions_markdown(agg["regions"], labels)
    keys = [m.key for m in ran]
    short = {
        "app_10": "app 10 s",
        "app_1000": "one chunk",
        "app_5": "5 s",
        "app_2.5": "2.5 s",
        "ultralytics": "Ultralytics",
        "bytetrack": "ByteTrack",
    }
    lines += ["", "Total absolute error per scenario:", "", "| scenario | " + " | ".join(short[k] for k in keys) + " |"]
    lines.append("|---" * (len(keys) + 1) + "|")
    for name, row in agg["by_scenario"].items():
        lines.append(f"| {name} | " + " | ".join(str(row[k]) for k in keys) + " |")
    lines += [
        "",
        "Per scene and class (bold: differs from the truth):",
        "",
        "| seed | scenario | class | truth | " + " | ".join(short[k] for k in keys) + " |",
        "|---" * (len(keys) + 4) + "|",
    ]
    for s in report["scenes"]:
        for c in CLASSES:
            cells = []
            for k in keys:
                run = s["runs"][k]
                cells.append("error" if "error" in run else _cell(run["unique"][c], s["truth"][c]))
            lines.append(f"| {s['seed']} | {s['scenario']} | {c} | {s['truth'][c]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _regions_markdown(regions: dict[str, Any], labels: dict[str, str]) -> list[str]:
    if not regions["methods"]:
        return []
    names = ", ".join(
        [f"line `{line.name}` {line.a} -> {line.b}" for line in REGIONS.lines]
        + [f"zone `{zone.name}` {list(zone.points)}" for zone in REGIONS.zones]
    )
    out = [
        "",
        f"Lines and zones (issue 14), against the exact truth of `scenes.regions_truth`: {names}. A line/class pair is "
        'within ±1 when "in", "out" and in+out each are; changes from one chunk sum |difference| of every '
        "in, out, entered and peak.",
        "",
        "| method | line/class pairs within ±1 | line abs. error (in + out) | signed | zone entered abs. error | "
        "entered within ±1 | zone peak abs. error | changes from one chunk |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for key, m in regions["methods"].items():
        within = "-" if m["line_within_1"] is None else f"{100 * m['line_within_1']:.0f}% of {m['line_pairs']}"
        entered = "-" if m["entered_within_1"] is None else f"{100 * m['entered_within_1']:.0f}% of {m['zone_pairs']}"
        changes = regions["changes_from_one_chunk"].get(key, "-")
        out.append(
            f"| {labels[key]} | {within} | {m['line_abs_error']} | {m['line_signed_error']:+d} | "
            f"{m['entered_abs_error']} | {entered} | {m['peak_abs_error']} | {changes} |"
        )
    return out


def within_target(error: int, truth: int) -> bool:
    """Issue 33's per-pair target: a class within max(1, 2% of its truth)."""
    return abs(error) <= max(1.0, 0.02 * truth)


INTERVAL_DRAWS = 4000
"""Draws of the scenes `scene_interval` makes: its bounds move by less than one object between seeds."""


def scene_interval(changes: Sequence[int], level: float = 0.9) -> tuple[float, float]:
    """The `level` interval of the sum of per-scene `changes`, by drawing the scenes again with replacement (a
    bootstrap over scenes, not pairs: a scene's classes share its traffic and move together); each bound is one of the
    sums drawn. Seeded, so a report reads the same on a rerun; (0, 0) for no scenes."""
    if not changes:
        return 0.0, 0.0
    values = np.asarray(changes, dtype=np.float64)
    draws = np.random.default_rng(0).integers(0, len(values), (INTERVAL_DRAWS, len(values)))
    low, high = np.quantile(values[draws].sum(axis=1), [(1 - level) / 2, (1 + level) / 2], method="nearest")
    return float(low), float(high)


def shape_metrics(scenes: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    """One method's accuracy and cost over complete scenes (of one shape or one length): errors, pairs within ±1 and
    within the target, relative error per class (sum of |error| / sum of truth) and CPU seconds per video-minute."""
    per_scene = [[(s["runs"][key]["unique"][c] - s["truth"][c], s["truth"][c]) for c in CLASSES] for s in scenes]
    pairs = [pair for scene in per_scene for pair in scene]
    within = [sum(within_target(*pair) for pair in scene) for scene in per_scene]
    minutes = sum(s["seconds"] for s in scenes) / 60.0
    relative = {}
    for c in CLASSES:
        truth = sum(s["truth"][c] for s in scenes)
        error = sum(abs(s["runs"][key]["unique"][c] - s["truth"][c]) for s in scenes)
        relative[c] = error / truth if truth else None
    return {
        "abs_error": sum(abs(e) for e, _ in pairs),
        "signed_error": sum(e for e, _ in pairs),
        "pairs": len(pairs),
        "within_1": sum(abs(e) <= 1 for e, _ in pairs) / len(pairs) if pairs else None,
        "within_target": sum(within) / len(pairs) if pairs else None,
        "within_target_interval": [v / len(pairs) for v in scene_interval(within)] if pairs else None,
        "relative": relative,
        "cpu_s_per_video_min": sum(s["runs"][key]["cpu_s"] for s in scenes) / minutes if minutes else None,
    }


def shapes_report(scenes: Sequence[dict[str, Any]], failed: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per shape and per length, the app (its default chunks if run, else its first chunking) and the script."""
    complete = [s for s in scenes if not any("error" in run for run in s["runs"].values())]
    keys = [m.key for m in methods_run(complete)]
    app = app_key(APP_DEFAULT_CHUNK) if app_key(APP_DEFAULT_CHUNK) in keys else next(k for k in keys if "app" in k)
    compared = [k for k in (app, "ultralytics") if k in keys]
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {"shape": {}, "length": {}}
    for s in complete:
        groups["shape"].setdefault(s["shape"], []).append(s)
        groups["length"].setdefault(f"{s['seconds']:g} s", []).append(s)
    tables = {
        kind: {
            name: {"scenes": len(rows), **{k: shape_metrics(rows, k) for k in compared}} for name, rows in by.items()
        }
        for kind, by in groups.items()
    }
    errors = [{"seed": s["seed"], "shape": s["shape"], "error": s["error"]} for s in failed] + [
        {"seed": s["seed"], "shape": s["shape"], "method": key, "error": run["error"]}
        for s in scenes
        for key, run in s["runs"].items()
        if "error" in run
    ]
    return {"app": app, "methods": compared, **tables, "failed": errors}


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _shape_row(name: str, row: dict[str, Any], app: str) -> str:
    m, script = row[app], row.get("ultralytics")
    relative = " / ".join(_percent(m["relative"][c]) for c in CLASSES)
    cells = [name, str(row["scenes"]), f"{m['abs_error']} ({m['signed_error']:+d})"]
    if script is None:
        cells += ["-", "-"]
    else:
        ratio = f"{m['abs_error'] / script['abs_error']:.2f}" if script["abs_error"] else "-"
        cells += [f"{script['abs_error']} ({script['signed_error']:+d})", ratio]
    interval = m.get("within_target_interval")  # not in reports saved before it was
    target = _percent(m["within_target"]) + ("" if interval is None else " [{}, {}]".format(*map(_percent, interval)))
    cells += [f"{_percent(m['within_1'])} of {m['pairs']}", target, relative]
    cells.append("-" if script is None else " / ".join(_percent(script["relative"][c]) for c in CLASSES))
    cells.append(f"{m['cpu_s_per_video_min']:.1f}")
    cells.append("-" if script is None else f"{script['cpu_s_per_video_min']:.1f}")
    return "| " + " | ".join(cells) + " |"


def render_shapes_markdown(report: dict[str, Any]) -> str:
    """Issue 33's tables: per shape and per length, the app against the single-pass script; then every pair."""
    cfg, shapes = report["config"], report["shapes"]
    app = shapes["app"]
    env = " ".join(f"--env {k}={v}" for k, v in cfg["env"].items())
    lines = [
        f"### Count accuracy by scene shape, {cfg['split']} split ({cfg['variant']})",
        "",
        f"`{cfg['command']}` — model `{cfg['model']}` ({cfg['model_sha256']}), {SAMPLE_FPS:g} fps sampling, conf "
        f"{CONF:g}; the script at imgsz {IMGSZ}, `vid_stride` round(fps / {SAMPLE_FPS:g}). App runs: `--workers 1`, "
        f"chunks {', '.join(f'{c:g} s' for c in cfg['chunks'])}{', ' + env if env else ''}; the app columns are "
        f"`{app}`. Code: {_code(cfg)}. {cfg['cores']} cores shared with other work; wall time "
        f"{cfg['wall_s'] / 60:.1f} min. CPU s per video-minute: user + sys of the whole process tree (the script's "
        "from its run, cached or not).",
        "",
        "Shapes: "
        + "; ".join(
            f"{s['name']}: {s['seconds']:g} s, {s['size'][0]}x{s['size'][1]}, {s['fps']:g} fps, "
            f"seeds {', '.join(map(str, s['seeds']))}"
            for s in cfg["shapes"]
            if s["seeds"]
        )
        + ".",
        "",
    ]
    if shapes["failed"]:
        lines += [
            f"**{len(shapes['failed'])} run(s) failed:** "
            + "; ".join(
                f"{f['shape']} seed {f['seed']} {f.get('method', 'scene')}: {f['error'][-200:]}"
                for f in shapes["failed"]
            ),
            "",
        ]
    header = (
        "| {} | scenes | app error (signed) | script error (signed) | app / script | app pairs within ±1 | "
        "app pairs within max(1, 2%) [90% interval over the scenes] | app relative error car / person / bike | "
        "script relative error | app CPU s per video-min | script CPU s per video-min |"
    )
    for kind in ("shape", "length"):
        lines += [f"Per {kind}:", "", header.format(kind), "|---" * 11 + "|"]
        lines += [_shape_row(name, row, app) for name, row in shapes[kind].items()]
        lines.append("")
    lines += [
        "Per scene and class (bold: differs from the truth):",
        "",
        "| shape | seed | scenario | class | truth | app | script |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in report["scenes"]:
        for c in CLASSES:
            cells = []
            for key in (app, "ultralytics"):
                run = s["runs"].get(key)
                cells.append(
                    "-" if run is None else "error" if "error" in run else _cell(run["unique"][c], s["truth"][c])
                )
            lines.append(
                f"| {s['shape']} | {s['seed']} | {s['scenario']} | {c} | {s['truth'][c]} | " + " | ".join(cells) + " |"
            )
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _code(cfg: dict[str, Any]) -> str:
    """The code a report's numbers come from: the scenes' runs (some read back with `--resume`), and the recount's."""
    runs = ", ".join(cfg.get("scenes_git", [])) or cfg["git"]
    if cfg.get("recount"):
        return f"runs {runs}; app counts recounted from their stored chunks with {cfg['git']} (`--recount`)"
    return runs


def _git_state() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return head.stdout.strip() + (" + uncommitted changes" if dirty.stdout.strip() else "")


def parse_env(items: Sequence[str]) -> dict[str, str]:
    env = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"--env takes KEY=VALUE, got {item!r}")
        env[key] = value
    return env


def _chunk_lengths(text: str) -> tuple[float, ...]:
    try:
        chosen = {float(item) for item in text.split(",")}
    except ValueError:
        raise argparse.ArgumentTypeError(f"--chunks takes lengths from {CHUNKS}, got {text!r}") from None
    if not chosen or not chosen <= set(CHUNKS):
        raise argparse.ArgumentTypeError(f"--chunks takes lengths from {CHUNKS}, got {text!r}")
    return tuple(c for c in CHUNKS if c in chosen)


def scenario_names(text: str) -> frozenset[str]:
    """`--scenarios NAME,...`: names of known scenarios, in the cycle or out of it."""
    names = frozenset(text.split(","))
    if unknown := names - set(BY_NAME):
        raise argparse.ArgumentTypeError(f"unknown scenarios {sorted(unknown)}")
    return names


def _shapes(text: str) -> tuple[Shape, ...]:
    names = [shape.name for shape in SHAPES] if text == "all" else text.split(",")
    unknown = [name for name in names if name not in SHAPE_BY_NAME]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"--shapes takes 'all' or names from {', '.join(SHAPE_BY_NAME)}, got {text!r}")
    return tuple(SHAPE_BY_NAME[name] for name in names)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.eval_counts", description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune", help="tune (default) or heldout")
    parser.add_argument("--limit", type=int, help="only the first N scenes of the split (a quick check)")
    parser.add_argument("--jobs", type=int, default=2, help="scenes evaluated in parallel (default 2)")
    parser.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="a setting for the app runs")
    parser.add_argument("--variant", default="defaults", help="label of this set of settings (names the output)")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="model file for the app and the script")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for eval-<split>[-<variant>].json/.md")
    parser.add_argument(
        "--no-script", action="store_true", help="skip the Ultralytics script's runs (a comparison among app settings)"
    )
    parser.add_argument(
        "--chunks",
        type=_chunk_lengths,
        metavar="S,S,...",
        help=f"app chunk lengths to run, a subset of {','.join(f'{c:g}' for c in CHUNKS)} (default: all; "
        f"{APP_DEFAULT_CHUNK:g} with --quick or --shapes); seam changes need 1000 (one chunk)",
    )
    parser.add_argument(
        "--shapes",
        type=_shapes,
        metavar="NAME,...|all",
        help="evaluate these scene shapes (lengths, sizes, rates) and write eval-shapes-<split>...: "
        f"{', '.join(SHAPE_BY_NAME)}, or all (default: none, the {DEFAULT_SHAPE.name} evaluation alone)",
    )
    parser.add_argument(
        "--scenarios",
        type=scenario_names,
        metavar="NAME,...",
        help="only the scenes of these scenarios (--limit N: the split's first N of them); "
        f"outside the cycle: {', '.join(s.name for s in EXTRA_SCENARIOS)}",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a short side-by-side run: {QUICK_SCENES} scenes per shape (--limit overrides), the app at its default "
        f"{APP_DEFAULT_CHUNK:g} s chunks and the script with its default tracker only",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="read back the saved record of each scene a run of the same variant, settings, model, chunks and "
        "trackers finished, rather than run it again",
    )
    parser.add_argument(
        "--recount",
        action="store_true",
        help="count every app run again from its stored chunks with this code (a change after the chunks: tracking, "
        "linking, counting); CPU and wall times stay the runs'",
    )
    parser.add_argument(
        "--saved",
        action="store_true",
        help="with --resume: report the scenes that have a saved record, and run no other",
    )
    args = parser.parse_args(argv)
    shaped = args.quick or args.shapes is not None  # the shapes' tables compare the default chunks and tracker only
    if args.chunks is None:
        args.chunks = (APP_DEFAULT_CHUNK,) if shaped else CHUNKS
    args.trackers = () if args.no_script else ("ultralytics",) if shaped else tuple(TRACKERS)
    if args.quick and args.limit is None:
        args.limit = QUICK_SCENES
    try:
        args.env = parse_env(args.env)
    except argparse.ArgumentTypeError as error:
        parser.error(str(error))
    if args.saved and not args.resume:
        parser.error("--saved reads the records --resume reads: give both")
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be at least 1")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    prepare_environment(EVAL / "config")
    started = time.perf_counter()
    model = args.model.resolve()
    shapes = args.shapes or (DEFAULT_SHAPE,)
    specs = [spec for shape in shapes for spec in scenes_for(args.split, args.limit, shape, args.scenarios)]
    if args.saved:
        specs = [spec for spec in specs if saved_scene(spec, model, args) is not None]
    log(f"{len(specs)} {args.split} scenes, variant {args.variant!r}, env {args.env}, {args.jobs} job(s)")
    with ThreadPoolExecutor(max_workers=args.jobs) as pool:
        done = list(pool.map(lambda s: _scene_or_error(s, model, args), specs))
    scenes = [scene for scene in done if "error" not in scene]
    failed = [scene for scene in done if "error" in scene]
    if args.recount:
        recount(scenes)
    command = " ".join(["python -m bench.eval_counts", *(argv if argv is not None else sys.argv[1:])])
    config: dict[str, Any] = {
        "command": command,
        "split": args.split,
        "seeds": [spec.seed for spec in specs],
        "variant": args.variant,
        "env": args.env,
        "model": str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model),
        "model_sha256": file_hash(model),
        "codec": CODEC,
        "sample_fps": SAMPLE_FPS,
        "conf": CONF,
        "imgsz": IMGSZ,
        "chunks": list(args.chunks),
        "cores": len(os.sched_getaffinity(0)),
        "jobs": args.jobs,
        "git": _git_state(),
        "scenes_git": sorted({scene["git"] for scene in scenes if "git" in scene}),
        "recount": args.recount,
    }
    name = f"eval-{args.split}" if args.shapes is None else f"eval-shapes-{args.split}"
    name += ("" if args.variant == "defaults" else f"-{args.variant}") + ("-quick" if args.quick else "")
    name += "".join(f"-{scenario}" for scenario in sorted(args.scenarios or ()))
    name += "" if args.limit is None or (args.quick and args.limit == QUICK_SCENES) else f"-first{args.limit}"
    args.out.mkdir(parents=True, exist_ok=True)
    if args.shapes is not None:
        shaped = [
            {**asdict(shape), "size": list(shape.size), "seeds": [s.seed for s in specs if s.shape == shape]}
            for shape in shapes
        ]
        finished = {
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_s": time.perf_counter() - started,
        }
        report: dict[str, Any] = {
            "config": {**config, "shapes": shaped, **finished},
            "shapes": shapes_report(scenes, failed),
            "scenes": scenes,
        }
        markdown = render_shapes_markdown(report)
        failures = report["shapes"]["failed"]
    else:
        report = _default_shape_report(config, scenes, failed, started)
        markdown = render_markdown(report)
        failures = report["aggregate"]["failed"]
    (args.out / f"{name}.json").write_text(json.dumps(round_floats(report, 3), indent=1) + "\n")
    (args.out / f"{name}.md").write_text(markdown)
    print(markdown)
    log(f"wrote {args.out / name}.json and .md in {(time.perf_counter() - started) / 60:.1f} min")
    return 1 if failures else 0


def _default_shape_report(
    config: dict[str, Any], scenes: list[dict[str, Any]], failed: list[dict[str, Any]], started: float
) -> dict[str, Any]:
    """The report of `make eval`: the default shape's aggregate, seams, regions and every scene."""
    return {
        "config": {
            **config,
            "seconds": DEFAULT_SHAPE.seconds,
            "size": list(DEFAULT_SHAPE.size),
            "fps": DEFAULT_SHAPE.fps,
            "finished": datetime.now(UTC).isoformat(timespec="seconds"),
            "wall_s": time.perf_counter() - started,
        },
        "aggregate": aggregate(scenes, failed),
        "scenes": scenes,
    }


if __name__ == "__main__":
    sys.exit(main())
