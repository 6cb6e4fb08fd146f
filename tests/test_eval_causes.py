"""`bench.eval_causes`: every error of a scene is one of its causes, and the causes add up to the error."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bench import eval_counts, eval_refanin
from bench.eval_causes import SceneCauses, Truth, scene_causes
from videoanalysis.detections_file import FrameRecord
from videoanalysis.regions import Box
from videoanalysis.tracking.objects import TrackedObject, TrackSegment

FPS = 5.0


def _walk(x0: float, frames: range, y: float = 100.0) -> list[tuple[int, Box]]:
    """(t_ms, box) of a 40 px box moving 10 px a frame, at the frames given."""
    return [(round(k * 1000 / FPS), (x0 + 10 * k, y, x0 + 10 * k + 40, y + 40)) for k in frames]


def _truth_object(
    ident: int, cls: str, boxes: list[tuple[int, Box]], visible: int | None = None, hidden: range = range(0)
) -> dict[str, Any]:
    first = round(boxes[0][0] * FPS / 1000)
    return {
        "id": ident,
        "cls": cls,
        "counted": True,
        "first_frame": first,
        "boxes": [list(box) for _, box in boxes],
        "visible": [k not in hidden for k in range(len(boxes))],
        "visible_frames": len(boxes) - len(hidden) if visible is None else visible,
    }


def _object(cls: str, boxes: list[tuple[int, Box]], counted: bool = True) -> TrackedObject:
    segment = TrackSegment(1, cls, boxes[0], boxes[-1], len(boxes), boxes=tuple(boxes))
    return TrackedObject(cls, boxes[0][0], boxes[-1][0], len(boxes), counted, segments=(segment,))


def _causes(
    objects: list[TrackedObject], *truth_objects: dict[str, Any], frames: list[FrameRecord] | None = None
) -> SceneCauses:
    truth = {"scenario": "test", "fps": FPS, "duration_ms": 60_000, "objects": list(truth_objects)}
    return scene_causes(Truth(truth), objects, frames)


def test_a_lost_track_is_a_split_and_an_object_nobody_saw_is_missed() -> None:
    car = _walk(0, range(0, 40))
    walker = _walk(0, range(50, 80), y=400)
    found = _causes(
        [_object("car", car[:15]), _object("car", car[25:])],
        _truth_object(1, "car", car),
        _truth_object(2, "person", walker),
    )
    assert found.counts == {("car", "split"): 1, ("person", "missed"): 1}
    assert (found.error("car"), found.error("person")) == (1, -1)


def test_a_track_that_switched_objects_merges_them_and_an_unmatched_one_is_false() -> None:
    first, second = _walk(0, range(0, 30)), _walk(300, range(30, 60))
    switched = _object("car", first + second[:5])  # mostly the first car, then the second one for a while
    ghost = _object("car", _walk(0, range(100, 110), y=600))
    found = _causes([switched, ghost], _truth_object(1, "car", first), _truth_object(2, "car", second))
    assert found.counts == {("car", "merged"): 1, ("car", "false"): 1}
    assert found.error("car") == 0


def test_a_miss_at_the_videos_end_or_below_the_fragment_length_says_so() -> None:
    late = _walk(0, range(295, 300))  # in view for the last second of the minute
    brief = _walk(0, range(100, 120), y=300)
    found = _causes(
        [_object("bike", brief[:4], counted=False)], _truth_object(1, "bike", late), _truth_object(2, "bike", brief)
    )
    assert found.counts == {("bike", "missed at an edge"): 1, ("bike", "missed, too short"): 1}
    assert found.error("bike") == -2


def test_an_error_says_how_often_the_detector_found_the_object_in_the_frames_that_showed_it() -> None:
    """Hidden frames are not counted, nor are boxes of another class; the track that followed the car too briefly to
    count does not change what the detector found."""
    car = _walk(0, range(0, 20))
    frames = [
        FrameRecord(t_ms, (box, (500.0, 500.0, 540.0, 540.0)), (0.9, 0.9), ("car" if k < 15 else "bike", "car"))
        for k, (t_ms, box) in enumerate(car)
    ]
    found = _causes(
        [_object("car", car[:3], counted=False)], _truth_object(1, "car", car, hidden=range(5, 10)), frames=frames
    )
    assert found.lines == ["missed, too short: car 0.0 s, 3.0 s in view (detected in 10 of 15 analysed frames)"]
    assert found.detected == {"all": {"found": 10, "shown": 15}, "missed, too short": {"found": 10, "shown": 15}}


def test_a_box_of_another_class_or_too_far_off_does_not_match() -> None:
    car = _walk(0, range(0, 20))
    shifted = [(t, (b[0] + 30, b[1], b[2] + 30, b[3])) for t, b in car]  # IoU 1/7 with the truth
    found = _causes([_object("bike", car), _object("car", shifted)], _truth_object(1, "car", car))
    assert found.counts == {("bike", "false"): 1, ("car", "false"): 1, ("car", "missed"): 1}


def test_stored_runs_are_those_of_one_shape(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A seed evaluated at two shapes has a run of each; the causes and recounts read one shape's at a time."""
    monkeypatch.setattr(eval_refanin, "EVAL", tmp_path)
    scenes = {shape: eval_counts.scenes_for("heldout", 1, shape)[0] for shape in eval_counts.SHAPES[:2]}
    for shape, spec in scenes.items():
        (tmp_path / "scenes").mkdir(exist_ok=True)
        (tmp_path / "scenes" / f"{spec.key}.truth.json").write_text(json.dumps({"unique": {"car": shape.size[0]}}))
        run = tmp_path / "runs" / "defaults" / spec.key / "chunks-10"
        run.mkdir(parents=True)
        (run / "summary.json").write_text("{}")
    for shape, spec in scenes.items():
        found = list(eval_refanin.stored_runs("defaults", "heldout", 10.0, shape))
        assert found == [(tmp_path / "runs" / "defaults" / spec.key / "chunks-10", {"car": shape.size[0]})]
    assert not list(eval_refanin.stored_runs("defaults", "tune", 10.0))


def test_stored_runs_of_a_scenario_outside_the_cycle_only_when_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Runs of `parked` scenes must not change the tuning baseline of a recount that does not ask for them."""
    monkeypatch.setattr(eval_refanin, "EVAL", tmp_path)
    specs = [
        *eval_counts.scenes_for("tune", 1, eval_counts.DEFAULT_SHAPE, {"parked"}),
        eval_counts.scenes_for("tune", 1)[0],
    ]
    for spec in specs:
        (tmp_path / "scenes").mkdir(exist_ok=True)
        (tmp_path / "scenes" / f"{spec.key}.truth.json").write_text(json.dumps({"unique": {"car": spec.seed}}))
        run = tmp_path / "runs" / "defaults" / spec.key / "chunks-10"
        run.mkdir(parents=True)
        (run / "summary.json").write_text("{}")
    named = [run.parent.name for run, _ in eval_refanin.stored_runs("defaults", "tune", 10.0, scenarios={"parked"})]
    assert named == [specs[0].key] and specs[0].key.startswith("5000-parked-")
    assert [run.parent.name for run, _ in eval_refanin.stored_runs("defaults", "tune", 10.0)] == [specs[1].key]
