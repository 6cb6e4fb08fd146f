"""The whole pipeline on real videos with the bundled model: chunked counts you can trust, and bad input handled.

Every run here goes through the app's orchestrator and activities: the local runner (process pool) or the durable
SDK replay (devhost/replay.py), with real OpenCV decoding and real YOLO26 inference.
"""

from __future__ import annotations

import base64
import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from activities import ACTIVITIES
from bench.eval_refanin import resummarised
from devhost.replay import ReplayHost
from orchestrators.analyze_video import analyze_video
from runner.cli import analyze_file
from scenes.generator import Actor, Scene, write_scene
from scenes.regions_truth import region_counts, seen_objects
from scenes.writer import write_video
from tests.conftest import DEMO_MODEL, DEMO_ONNX, ROOT
from tests.support import clips
from videoanalysis.contracts import BlobRef, ChunkOutcome, Job
from videoanalysis.regions import Line, Regions, Zone, trace
from videoanalysis.settings import Settings
from videoanalysis.storage import LocalStorage
from videoanalysis.video import FrameReader, _probe_file

HELD_OUT_SEED = 424242  # never used for training (tools/train_demo_model.py trains on 10000+)
SETTINGS = Settings(model_path=str(DEMO_MODEL), chunk_seconds=6.0, sample_fps=5.0)
ONE_CHUNK = SETTINGS.replace(chunk_seconds=1000.0)


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    folder = tmp_path_factory.mktemp("scene")
    video = folder / "held out scene.mp4"
    truth = write_scene(video, folder / "truth.json", seed=HELD_OUT_SEED, seconds=24, codec="h264")
    return video, truth


@pytest.fixture(scope="module")
def chunked_run(scene: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The summary of a chunked run, its chunk results and detections beside it."""
    out = tmp_path_factory.mktemp("chunked") / "summary.json"
    outcome = analyze_file(scene[0], out, SETTINGS, workers=2, progress=False)
    assert outcome["status"] == "succeeded", outcome
    return out


@pytest.fixture(scope="module")
def chunked(chunked_run: Path) -> dict:
    return json.loads(chunked_run.read_text())


def test_a_recount_from_the_stored_chunks_is_the_runs_summary(chunked_run: Path, chunked: dict) -> None:
    """`bench.eval_counts --recount` reports what the app gives from a run's stored chunks: the same summary, but for
    the thumbnails' names, which a recount does not write."""
    recount = resummarised(chunked_run.parent)
    assert [obj.pop("thumbnail") for obj in recount["objects"]] == [None] * len(chunked["objects"])
    assert recount == {
        **chunked,
        "objects": [{k: v for k, v in o.items() if k != "thumbnail"} for o in chunked["objects"]],
    }


def test_the_runner_probes_a_video_once_when_it_sizes_the_chunks(tmp_path: Path) -> None:
    """Sizing the chunks for the workers and planning them both need the probe, which decodes the video's tail."""
    video = tmp_path / "clip.mp4"
    write_scene(video, tmp_path / "truth.json", seed=HELD_OUT_SEED, seconds=3)
    settings = SETTINGS.replace(model_path=str(DEMO_ONNX))
    before = _probe_file.cache_info().misses
    outcome = analyze_file(video, tmp_path / "s.json", settings, workers=1, progress=False, auto_chunks=True)
    assert outcome["status"] == "succeeded", outcome
    assert _probe_file.cache_info().misses == before + 1


@pytest.fixture(scope="module")
def single(scene: tuple[Path, dict], tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("single") / "summary.json"
    analyze_file(scene[0], out, ONE_CHUNK, workers=1, progress=False)
    return json.loads(out.read_text())


def _unique(summary: dict) -> dict[str, int]:
    return {name: stats["unique"] for name, stats in summary["classes"].items()}


def test_counts_match_ground_truth(scene: tuple[Path, dict], chunked: dict) -> None:
    truth = scene[1]["unique"]
    counted = _unique(chunked)
    assert chunked["totals"]["chunks"] == 4
    for name, expected in truth.items():
        assert abs(counted.get(name, 0) - expected) <= max(1, round(0.05 * expected)), (name, counted, truth)


def test_chunked_run_equals_one_chunk(chunked: dict, single: dict) -> None:
    assert single["totals"]["chunks"] == 1
    assert chunked["totals"]["frames_analyzed"] == single["totals"]["frames_analyzed"]
    for name in chunked["classes"].keys() | single["classes"].keys():
        ours, one = chunked["classes"][name], single["classes"][name]
        assert (ours["peak"], ours["detections"], ours["frames_present"]) == (
            one["peak"],
            one["detections"],
            one["frames_present"],
        )
        assert ours["timeline"] == one["timeline"]
        assert ours["unique"] == one["unique"], name


def _without_chunks(summary: dict) -> list[dict]:
    """Its objects as one pass sees them: which chunks saw them, and the crop (each chunk crops its own), aside."""
    return [{k: v for k, v in obj.items() if k not in ("chunks", "thumbnail")} for obj in summary["objects"]]


def test_chunked_run_tracks_every_object_as_one_chunk_does(chunked: dict, single: dict) -> None:
    """The fan-in tracks over every chunk's detections in one pass: seams change no object, and every object that
    counts has a crop."""
    assert _without_chunks(chunked) == _without_chunks(single)
    assert all(obj["thumbnail"] is not None for obj in chunked["objects"] if obj["counted"])


def test_objects_crossing_a_boundary_are_counted_once(chunked: dict, single: dict) -> None:
    crossing = [obj for obj in chunked["objects"] if len(obj["chunks"]) > 1]
    assert crossing, "the scene has objects on screen across chunk boundaries"
    assert sum(_unique(chunked).values()) <= sum(_unique(single).values()) + 1


def test_an_object_hidden_across_a_seam_is_one_object(tmp_path: Path) -> None:
    """A bike passes behind a parked car from 4.8 s to 5.9 s and a seam falls at 5.4 s. The fan-in's one tracker
    sees it go and come back, as in one chunk and as in the truth. (Chunks that tracked their own windows, ending
    at the core, counted two bikes here.)"""
    parked_car = Actor(
        id=1, cls="car", height=0.26, aspect=2.2, bottom=0.97, drift=0.0, direction=1, speed=0.25, t_enter=-2.0,
        stop_after=2.6, stop_for=math.inf, look=11,
    )  # fmt: skip
    bike = Actor(
        id=2, cls="bike", height=0.14, aspect=1.7, bottom=0.80, drift=0.0, direction=1, speed=0.11, t_enter=0.5,
        stop_after=math.inf, stop_for=0.0, look=5,
    )  # fmt: skip
    scene = Scene(seed=77, seconds=12.0, fps=25.0, size=(1280, 720), actors=(parked_car, bike))
    video = tmp_path / "occluded.mp4"
    write_video(scene.frames(), str(video), scene.fps, "h264")
    assert scene.truth()["unique"] == {"car": 1, "person": 0, "bike": 1}
    for name, chunk_seconds in (("one", 1000.0), ("seam", 5.4)):
        out = tmp_path / f"{name}.json"
        analyze_file(video, out, SETTINGS.replace(chunk_seconds=chunk_seconds), workers=2, progress=False)
        summary = json.loads(out.read_text())
        assert summary["totals"]["chunks"] == (1 if name == "one" else 2)
        assert _unique(summary) == {"bike": 1, "car": 1}, name


REGIONS = Regions(
    (Line("middle", (320, 360), (320, 0)), Line("diagonal", (160, 360), (480, 0))),
    (Zone("right", ((480, 0), (640, 0), (640, 360), (480, 360))),),  # at the frame's right edge
)


def _mover(id: int, cls: str, t_enter: float, bottom: float, direction: int, **plan: float) -> Actor:
    """A car by default, 0.25 frame widths a second; `plan` overrides the speed, size or a stop."""
    values = {"height": 0.15, "aspect": 2.2, "speed": 0.25, "stop_after": math.inf, "stop_for": 0.0, **plan}
    return Actor(id=id, cls=cls, bottom=bottom, drift=0.0, direction=direction, t_enter=t_enter, look=id, **values)


@pytest.fixture(scope="module")
def crossings_clip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict, dict]:
    """12 s at 640x360: four cars (two each way) and a bike cross the vertical and the diagonal line, one car stops on
    the vertical line for 2 s before it goes on, and all drive into the zone at the right edge. Its truth, and the
    summary of one chunk."""
    actors = (
        _mover(1, "car", 0.0, 0.6, 1),
        _mover(2, "car", 1.0, 0.45, -1),
        _mover(3, "bike", 0.5, 0.72, 1, speed=0.11, height=0.14, aspect=1.7),
        _mover(4, "car", 3.0, 0.88, 1, stop_after=2.37, stop_for=2.0),  # its bottom centre stops on x = 320
        _mover(5, "car", 6.0, 0.55, -1),
    )
    scene = Scene(seed=5, seconds=12.0, fps=25.0, size=(640, 360), actors=actors)
    folder = tmp_path_factory.mktemp("crossings")
    video = folder / "crossings.mp4"
    write_video(scene.frames(), str(video), scene.fps, "h264")
    return video, scene.truth(), _regions_run(video, folder / "one.json", 1000.0)


def _regions_run(video: Path, out: Path, chunk_seconds: float) -> dict:
    settings = SETTINGS.replace(model_path=str(DEMO_ONNX), chunk_seconds=chunk_seconds, count_regions=REGIONS)
    assert analyze_file(video, out, settings, workers=2, progress=False)["status"] == "succeeded"
    return json.loads(out.read_text())


def _counted(counts: dict) -> dict:
    """Per region, the classes with anything counted (the truth lists every class, the summary those it saw)."""
    return {name: {cls: n for cls, n in per_class.items() if any(n.values())} for name, per_class in counts.items()}


def test_line_and_zone_counts_equal_the_truth(crossings_clip: tuple[Path, dict, dict]) -> None:
    """Every crossing and every zone count of the truth, each crossing at the frame where the app's rule puts it on
    the truth's boxes (the truth times it without the margin, up to a frame earlier): the clip's objects are large and
    apart, so the model finds each in every analysed frame (a missed or shifted box could move a crossing by a frame
    or lose an entry; on busier scenes the counts are within the evaluation's tolerance, not exact)."""
    _, truth, one = crossings_clip
    expected = region_counts(truth, REGIONS, SETTINGS.sample_fps)
    assert _counted({name: line["classes"] for name, line in one["lines"].items()}) == _counted(expected["lines"])
    assert _counted({name: zone["classes"] for name, zone in one["zones"].items()}) == _counted(expected["zones"])
    assert one["lines"]["middle"]["classes"] == {"bike": {"in": 1, "out": 0}, "car": {"in": 2, "out": 2}}
    seen = [obj for obj in seen_objects(truth, SETTINGS.sample_fps) if obj.counted]
    crossings = sorted(
        (c.t_ms, obj.id, c.direction) for obj in seen for c in trace(REGIONS.lines[0], obj.frames).crossings
    )
    by_the_rule = [(t_ms / 1000, direction) for t_ms, _, direction in crossings]
    assert [(c["t_s"], c["direction"]) for c in one["lines"]["middle"]["crossings"]] == by_the_rule


@pytest.mark.parametrize("chunk_seconds", [2.6, 1.2])
def test_line_and_zone_counts_do_not_depend_on_the_seams(
    chunk_seconds: float, crossings_clip: tuple[Path, dict, dict], tmp_path: Path
) -> None:
    """2.6 s chunks put a seam exactly on the frame of the first crossing (2.6 s), 1.2 s chunks one on the frame of
    the second (3.6 s) and nine in all: every crossing is counted once, at the same frame."""
    video, _, one = crossings_clip
    chunks = math.floor(12 / chunk_seconds + 0.5)
    seams = {round(chunk_seconds * k, 3) for k in range(1, chunks)}
    assert seams & {c["t_s"] for c in one["lines"]["middle"]["crossings"]}, "a seam right on a crossing"
    chunked = _regions_run(video, tmp_path / "chunked.json", chunk_seconds)
    assert chunked["totals"]["chunks"] == chunks > 3
    assert chunked["lines"] == one["lines"] and chunked["zones"] == one["zones"]


def test_summary_files_and_per_frame_detections(tmp_path: Path, scene: tuple[Path, dict]) -> None:
    out = tmp_path / "s.json"
    analyze_file(scene[0], out, SETTINGS.replace(sample_fps=2.0), workers=1, progress=False)
    summary = json.loads(out.read_text())
    assert summary["schema_version"] == 1 and summary["video"]["name"] == scene[0].name
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    lines = [json.loads(line) for path in sorted((tmp_path / "s.chunks").glob("*.jsonl")) for line in path.open()]
    assert len(lines) == summary["totals"]["frames_analyzed"]
    assert sum(len(line["detections"]) for line in lines) == summary["totals"]["detections"]
    report = out.with_suffix(".html").read_text()
    counted = [obj for obj in summary["objects"] if obj["counted"]]
    assert counted and all((tmp_path / obj["thumbnail"]).is_file() for obj in counted)
    assert all(base64.b64encode((tmp_path / obj["thumbnail"]).read_bytes()).decode() in report for obj in counted)


@pytest.mark.parametrize("kind", ["mp4v", "h264", "vfr"])
def test_chunked_run_analyses_exactly_the_sequential_frames(kind: str, tmp_path: Path) -> None:
    timestamps = clips.vfr_timestamps(150) if kind == "vfr" else None
    video = clips.write_numbered(tmp_path / f"{kind}.mp4", "h264" if kind == "vfr" else kind, 150, timestamps)
    settings = SETTINGS.replace(chunk_seconds=1.7, sample_fps=7.0)
    analyze_file(video, tmp_path / "s.json", settings, workers=2, progress=False)
    analysed = [
        json.loads(line)["t_ms"] for path in sorted((tmp_path / "s.chunks").glob("*.jsonl")) for line in path.open()
    ]
    sequential = [frame.t_ms for frame in FrameReader(str(video), sample_fps=settings.sample_fps)]
    assert analysed == sequential
    assert json.loads((tmp_path / "s.json").read_text())["totals"]["chunks"] > 2


def test_durable_replay_with_real_activities_gives_the_local_runners_summary(
    scene: tuple[Path, dict], chunked: dict, tmp_path: Path
) -> None:
    storage = LocalStorage({"videos": scene[0].parent, "out": tmp_path})
    job = Job(
        video=BlobRef("videos", scene[0].name),
        summary=BlobRef("out", "summary.json"),
        results=BlobRef("out", "summary.chunks"),  # where the runner puts them: thumbnails are named alike
        settings=SETTINGS,
        storage=storage.spec(),
    )
    replay = ReplayHost(analyze_video, ACTIVITIES, completions_per_episode=2).run(job.to_dict())
    assert replay.error is None and replay.output["status"] == "succeeded"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["classes"] == chunked["classes"]
    assert summary["objects"] == chunked["objects"]
    # History keeps each chunk's outcome, never its statistics or crops: those stay in the stored chunk result.
    results = [json.loads(event["Result"]) for event in replay.history if "Result" in event]
    outcomes = [ChunkOutcome.from_dict(result) for result in results if "frames_analyzed" in result]
    assert len(outcomes) == summary["totals"]["chunks"] > 1
    for outcome in outcomes:
        stored = (tmp_path / "summary.chunks" / f"chunk-{outcome.index:05d}.json").read_text()
        assert len(json.dumps(outcome.to_dict())) < 300 < len(stored)


def _cli(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "runner", "analyze", *args, "--model", str(DEMO_MODEL), "--quiet"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize(
    ("make", "code"),
    [
        (lambda folder: clips.write_empty(folder / "empty.mp4"), 2),
        (lambda folder: clips.write_text(folder / "notes.mp4"), 2),
        (lambda folder: folder / "missing.mp4", 2),
        (lambda folder: clips.write_truncated(clips.write_numbered(folder / "w.mp4", "mp4v", 50), folder / "t.mp4"), 2),
    ],
    ids=["empty", "text-named-mp4", "missing", "mp4v-cut-in-half"],
)
def test_bad_input_gives_one_clear_line_and_exit_code(make, code: int, tmp_path: Path) -> None:
    result = _cli(str(make(tmp_path)), "--out", str(tmp_path / "s.json"))
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith("error: ")


def test_lines_or_zones_outside_the_frame_end_in_a_failed_summary_and_exit_2(tmp_path: Path) -> None:
    """Only the probed frame size shows it, so planning refuses it: no chunk runs, the summary says why."""
    video = clips.write_numbered(tmp_path / "v.mp4", "mp4v", 25)  # 320 x 240
    result = _cli(str(video), "--out", str(tmp_path / "s.json"), "--zone", "far=0,0,400,0,400,100")
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert result.stderr.startswith("error: ")
    assert "zone 'far': the point (400, 0) is outside the 320x240 frame" in result.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["status"] == "failed" and summary["chunks"] == [] and "outside" in summary["error"]


def test_truncated_video_is_analysed_up_to_the_damage(tmp_path: Path) -> None:
    """A fast-start H.264 file cut in half still opens: the frames before the cut are analysed."""
    whole = clips.write_numbered(tmp_path / "whole.mp4", "h264", 250)
    cut = clips.write_truncated(whole, tmp_path / "cut.mp4")
    result = _cli(str(cut), "--out", str(tmp_path / "s.json"), "--chunk-seconds", "3")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    summary = json.loads((tmp_path / "s.json").read_text())
    assert 0 < summary["video"]["frame_count"] < summary["video"]["claimed_frame_count"] == 250
    assert summary["totals"]["frames_analyzed"] > 0 and summary["status"] == "partial"
    (warning,) = summary["warnings"]
    assert "the video ended early" in warning and "10.0 s (250 frames) its container claims" in warning
    assert "ended early" in result.stderr


def test_unloadable_model_fails_the_analysis_not_the_worker_pool(tmp_path: Path) -> None:
    """Workers preload the model when they start; a bad file must surface as the chunks' error, not a broken pool."""
    model = tmp_path / "model.pt"
    model.write_bytes(b"not a model")
    video = clips.write_numbered(tmp_path / "v.mp4", "mp4v", 50)
    command = [sys.executable, "-m", "runner", "analyze", str(video), "--model", str(model), "--quiet"]
    result = subprocess.run(
        [*command, "--out", str(tmp_path / "s.json")], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "MODEL_PATH" in result.stderr and "cannot be loaded" in result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["status"] == "failed"


def test_the_cli_gives_each_worker_one_chunk_unless_told_otherwise(tmp_path: Path) -> None:
    """Locally, CHUNK_SECONDS' many small chunks only add seeks: the runner plans one chunk per worker."""
    video = clips.write_numbered(tmp_path / "v.mp4", "h264", 750, fps=25.0)  # 30 s
    for extra, chunks in (((), 2), (("--chunk-seconds", "6"), 5)):  # CHUNK_SECONDS' default 10 would make 3
        result = _cli(str(video), "--out", str(tmp_path / "s.json"), "--workers", "2", *extra)
        assert result.returncode == 0, result.stderr
        assert json.loads((tmp_path / "s.json").read_text())["totals"]["chunks"] == chunks
