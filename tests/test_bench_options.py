"""`python -m bench` options that change what its medians are taken over."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bench import eval_counts
from bench.__main__ import parse_args
from bench.common import Context


def test_repeats_sets_the_runs_behind_each_median_of_wall_times() -> None:
    args = parse_args(["throughput", "--repeats", "7"])
    context = Context(Path("m.pt"), Path("m.onnx"), wall_repeats=args.repeats)
    assert context.repeats == 7
    assert Context(Path("m.pt"), Path("m.onnx")).repeats == 3
    assert Context(Path("m.pt"), Path("m.onnx"), quick=True, wall_repeats=7).repeats == 1  # a smoke run stays one


def test_fewer_than_one_repeat_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--repeats", "0"])
    assert exit_.value.code == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err


def test_eval_quick_runs_the_app_default_and_the_script_on_a_few_scenes_of_each_shape() -> None:
    args = eval_counts.parse_args(["--shapes", "60s-360p25,5min-360p10", "--quick"])
    assert [shape.name for shape in args.shapes] == ["60s-360p25", "5min-360p10"]
    assert (args.chunks, args.trackers, args.limit) == ((10.0,), ("ultralytics",), eval_counts.QUICK_SCENES)
    full = eval_counts.parse_args(["--shapes", "all"])  # the shapes' tables compare the app's default and the script
    assert full.shapes == eval_counts.SHAPES and full.limit is None
    assert (full.chunks, full.trackers) == ((10.0,), ("ultralytics",))
    default = eval_counts.parse_args([])  # `make eval`: the default shape alone, every chunking and both trackers
    assert default.shapes is None
    assert (default.chunks, default.trackers) == (eval_counts.CHUNKS, tuple(eval_counts.TRACKERS))


def test_an_unknown_shape_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        eval_counts.parse_args(["--shapes", "60s-720p25,4k"])
    assert "--shapes takes 'all' or names from 60s-720p25" in capsys.readouterr().err


def test_shapes_cover_the_issues_sizes_rates_and_lengths_with_splits_apart() -> None:
    shapes = eval_counts.SHAPES
    assert {s.size[0] for s in shapes} >= {640, 1280, 1920} and {s.fps for s in shapes} >= {10.0, 25.0, 30.0, 60.0}
    assert min(s.seconds for s in shapes) == 60 and max(s.seconds for s in shapes) >= 600
    keys = set()
    for shape in shapes:
        tune = {spec.seed for spec in eval_counts.scenes_for("tune", None, shape)}
        heldout = {spec.seed for spec in eval_counts.scenes_for("heldout", None, shape)}
        assert tune and heldout and not tune & heldout
        keys |= {spec.key for split in ("tune", "heldout") for spec in eval_counts.scenes_for(split, None, shape)}
    assert len(keys) == sum(2 * s.scenes for s in shapes) and eval_counts.DEFAULT_SHAPE.scenes == 24
    # The default shape's scenes keep the names they were cached and stored under before shapes existed.
    assert eval_counts.scenes_for("tune", 1)[0].key.endswith("-60s-1280x720-h264")


def test_scenarios_pick_their_scenes_of_the_split(capsys: pytest.CaptureFixture[str]) -> None:
    shape = eval_counts.SHAPE_BY_NAME["3min-360p25"]
    args = eval_counts.parse_args(["--scenarios", "poles,plain"])
    usual = eval_counts.scenes_for("tune", None, shape, args.scenarios)
    assert [(s.seed, s.scenario) for s in usual] == [(5000, "plain"), (5004, "poles")]
    beyond = eval_counts.scenes_for("tune", 4, shape, {"poles"})
    assert [(s.seed, s.scenario) for s in beyond] == [
        (5004, "poles"),
        (5016, "poles"),
        (5028, "poles"),
        (5040, "poles"),
    ]
    # A scenario outside the cycle takes the split's seeds from the first, only when named.
    parked = eval_counts.scenes_for("tune", 3, shape, eval_counts.parse_args(["--scenarios", "parked"]).scenarios)
    assert [(s.seed, s.scenario) for s in parked] == [(5000, "parked"), (5001, "parked"), (5002, "parked")]
    assert parked[0].key != eval_counts.scenes_for("tune", 1, shape)[0].key
    assert [s.seed for s in eval_counts.scenes_for("tune", None, eval_counts.DEFAULT_SHAPE, {"parked"})] == [5000, 5001]
    assert all(s.scenario != "parked" for s in eval_counts.scenes_for("tune", 120, shape))
    both = eval_counts.scenes_for("tune", 2, shape, {"poles", "parked"})
    assert [(s.seed, s.scenario) for s in both] == [
        (5004, "poles"),
        (5016, "poles"),
        (5000, "parked"),
        (5001, "parked"),
    ]
    with pytest.raises(SystemExit):
        eval_counts.parse_args(["--scenarios", "poles,pillars"])
    assert "unknown scenarios ['pillars']" in capsys.readouterr().err


def test_regions_scale_with_the_frame() -> None:
    small = eval_counts.SHAPE_BY_NAME["60s-360p25"].regions
    assert small.lines[0].a == (320.0, 140.0) and small.lines[0].b == (320.0, 360.0)
    assert small.zones[0].points[2] == (200.0, 360.0)
    assert eval_counts.DEFAULT_SHAPE.regions == eval_counts.REGIONS


def _scene(shape: str, seconds: float, truth: tuple[int, int, int], app: tuple[int, int, int], cpu: float) -> Any:
    classes = eval_counts.CLASSES
    return {
        "seed": 1,
        "scenario": "plain",
        "shape": shape,
        "seconds": seconds,
        "truth": dict(zip(classes, truth, strict=True)),
        "runs": {
            "app_10": {"unique": dict(zip(classes, app, strict=True)), "cpu_s": cpu},
            "ultralytics": {"unique": dict(zip(classes, (t + 2 for t in truth), strict=True)), "cpu_s": 2 * cpu},
        },
    }


def test_shapes_report_per_shape_and_length() -> None:
    scenes = [
        _scene("60s-360p25", 60.0, (10, 5, 0), (11, 5, 0), 20.0),
        _scene("60s-1080p30", 60.0, (10, 5, 0), (10, 3, 1), 40.0),
        _scene("10min-360p25", 600.0, (100, 50, 20), (102, 50, 19), 300.0),
    ]
    report = eval_counts.shapes_report(scenes, [])
    assert report["app"] == "app_10" and report["methods"] == ["app_10", "ultralytics"]
    long = report["shape"]["10min-360p25"]["app_10"]
    # 102 of 100 cars is within 2% of the truth, not within ±1.
    assert (long["abs_error"], long["signed_error"], long["within_1"], long["within_target"]) == (3, 1, 2 / 3, 1.0)
    assert long["relative"] == {"car": 0.02, "person": 0.0, "bike": 0.05}
    assert long["cpu_s_per_video_min"] == 30.0
    minute = report["length"]["60 s"]
    assert minute["scenes"] == 2 and minute["app_10"]["abs_error"] == 4 and minute["ultralytics"]["abs_error"] == 12
    assert minute["app_10"]["relative"]["bike"] is None  # no bike in the truth
    assert minute["app_10"]["cpu_s_per_video_min"] == 30.0 and minute["ultralytics"]["cpu_s_per_video_min"] == 60.0
    report["config"] = {}
    markdown = eval_counts.render_shapes_markdown(
        {
            "config": {
                "command": "python -m bench.eval_counts --shapes all",
                "split": "heldout",
                "variant": "defaults",
                "env": {},
                "model": "m.onnx",
                "model_sha256": "abc",
                "chunks": [10.0],
                "git": "abc",
                "cores": 2,
                "wall_s": 60.0,
                "shapes": [{"name": "60s-360p25", "seconds": 60.0, "size": [640, 360], "fps": 25.0, "seeds": [1]}],
            },
            "shapes": report,
            "scenes": scenes,
        }
    )
    assert "| 10min-360p25 | 1 | 3 (+1) | 6 (+6) | 0.50 | 67% of 3 | 100% [100%, 100%] | 2% / 0% / 5% |" in markdown
    # Drawn again, the two 60 s scenes (3 and 2 pairs within the target) give 4 to 6 of 6.
    assert "| 60 s | 2 | 4 (+0) | 12 (+12) | 0.33 | 83% of 6 | 83% [67%, 100%] |" in markdown


def test_a_change_every_scene_shares_has_no_spread() -> None:
    assert eval_counts.scene_interval([-1] * 12) == (-12.0, -12.0)
    assert eval_counts.scene_interval([]) == (0.0, 0.0)


def test_a_change_that_one_scene_makes_is_within_another_draw_of_the_scenes() -> None:
    """One scene of 20 gaining 6: about a third of the draws leave it out, so the interval reaches 0, and beyond the
    gain on the other side."""
    low, high = eval_counts.scene_interval([0] * 19 + [-6])
    assert low <= -12.0 and high == 0.0


def test_a_change_spread_over_many_scenes_is_beyond_the_noise() -> None:
    low, high = eval_counts.scene_interval([-1, -1, 0, -1, -2, 0, -1, -1, 0, -1] * 4)
    assert low < -32.0 < high < 0.0


def test_a_scene_run_with_other_chunks_keeps_the_record_of_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--resume` reads back each job's own record: the chunkings' run does not replace the shapes' run's."""
    monkeypatch.setattr(eval_counts, "RECORDS", tmp_path)

    def evaluated(spec: eval_counts.SceneSpec, *job: Any) -> dict[str, Any]:
        """Stands in for rendering and running the scene (minutes); the test is of the records, not of the runs."""
        return {"seed": spec.seed, "git": "now", "chunks": list(job[3])}

    monkeypatch.setattr(eval_counts, "evaluate_scene", evaluated)
    spec = eval_counts.scenes_for("tune", 1)[0]
    model = tmp_path / "m.onnx"
    model.write_bytes(b"model")
    shapes, chunkings = (eval_counts.parse_args(["--resume", *extra]) for extra in ([], ["--chunks", "1000,10"]))
    for args in (shapes, chunkings):
        assert eval_counts.saved_scene(spec, model, args) is None
        eval_counts._scene_or_error(spec, model, args)
    assert eval_counts.saved_scene(spec, model, shapes) == {
        "seed": spec.seed,
        "git": "now",
        "chunks": list(eval_counts.CHUNKS),
    }
    assert eval_counts.saved_scene(spec, model, chunkings) == {
        "seed": spec.seed,
        "git": "now",
        "chunks": [1000.0, 10.0],
    }
