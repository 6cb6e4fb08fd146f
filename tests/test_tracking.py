"""The tracker factory: Ultralytics trackers configured from `Settings`, the lost-track horizon in seconds."""

from __future__ import annotations

import re
from importlib.metadata import version
from itertools import pairwise

import cv2
import numpy as np
import pytest

from scenes.generator import Scene
from scenes.scenarios import scenario
from tests.conftest import ROOT
from videoanalysis.detector import Detections
from videoanalysis.settings import CHOICES, Settings
from videoanalysis.tracking.adapter import WRITTEN_FOR, Tracker
from videoanalysis.tracking.camera_motion import CameraMotion, background_shift
from videoanalysis.tracking.tracker import new_tracker


def test_the_adapter_was_written_for_the_ultralytics_installed_and_pinned() -> None:
    """The adapter relies on Ultralytics' private API (its docstring lists what): an upgrade of the pin in
    requirements.txt fails here until the adapter is checked against the new release and `WRITTEN_FOR` moves."""
    pinned = re.search(r"^ultralytics==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE)
    assert pinned is not None, "requirements.txt pins no ultralytics version"
    assert (version("ultralytics"), pinned.group(1)) == (WRITTEN_FOR, WRITTEN_FOR)


@pytest.mark.parametrize("kind", CHOICES["tracker"])
def test_lost_track_horizon_is_seconds_at_any_sampling_rate(kind: str) -> None:
    settings = Settings(tracker=kind, track_lost_seconds=1.0)
    assert new_tracker(30.0, settings).track_buffer == 30
    assert new_tracker(5.0, settings).track_buffer == 5
    assert new_tracker(0.5, settings).track_buffer == 1
    assert new_tracker(5.0, Settings(tracker=kind, track_lost_seconds=3.0)).track_buffer == 15
    with pytest.raises(ValueError):
        new_tracker(0, settings)


def test_unknown_tracker_is_refused_by_the_settings() -> None:
    with pytest.raises(ValueError, match="TRACKER must be one of tracktrack, bytetrack"):
        Settings(tracker="deepocsort")


@pytest.mark.parametrize(("kind", "shift"), [(kind, 3.0) for kind in CHOICES["tracker"]] + [("tracktrack", None)])
def test_tracker_keeps_ids_through_a_short_gap(kind: str, shift: float | None) -> None:
    """With the camera's motion given (a pan of `shift` px per frame that the boxes follow) or not."""
    tracker = new_tracker(5.0, Settings(tracker=kind, track_lost_seconds=1.0))
    motion = None if shift is None else np.array([[1.0, 0.0, shift], [0.0, 1.0, 0.0]])
    ids = set()
    for step in range(12):
        if step in (6, 7):  # two sampled frames without detections: shorter than the buffer of 5
            dets = Detections.empty()
        else:
            x = 20.0 + (15 + (shift or 0.0)) * step
            dets = Detections(
                xyxy=np.array([[x, 100, x + 60, 130], [500 - x, 200, 540 - x, 300]], np.float32),
                conf=np.array([0.9, 0.8], np.float32),
                cls=np.array([0, 1], np.int64),
            )
        for t in tracker.update(dets, (360, 640), motion):
            ids.add((t.track_id, t.cls))
            assert len(t.xyxy) == 4 and 0 < t.conf <= 1
    assert len(ids) == 2 and {c for _, c in ids} == {0, 1}


def _drive_down(tracker: Tracker, step: float, classes: tuple[int, ...] = (2,)) -> list[list[int]]:
    """A 160x80 box moving `step` px down per analysed frame, its class cycling through `classes`, after an empty
    first frame (TrackTrack reports a first frame's tracks unconfirmed): the ids reported in each frame."""
    tracker.update(Detections.empty(), (720, 1280))
    reported = []
    for k in range(12):
        y = 10.0 + step * k
        dets = Detections(
            xyxy=np.array([[600, y, 760, y + 80]], np.float32),
            conf=np.array([0.88], np.float32),
            cls=np.array([classes[k % len(classes)]], np.int64),
        )
        reported.append([t.track_id for t in tracker.update(dets, (720, 1280))])
    return reported


def test_a_fast_new_track_is_confirmed_though_its_boxes_barely_overlap() -> None:
    """At 5 fps a car driving down the image moves 36 px per analysed frame on an 80 px box: Ultralytics' TrackTrack
    never confirms it, ours does from the third frame, as a slow one, and keeps one id."""
    from ultralytics.trackers.track_tracker import TRACKTRACK

    settings = Settings()
    ours = new_tracker(5.0, settings)
    assert _drive_down(ours, 36)[2:] == [[1]] * 10
    assert _drive_down(new_tracker(5.0, settings), 8)[2:] == [[1]] * 10
    plain = Tracker(TRACKTRACK(ours._tracker.args), ours.track_buffer)
    assert _drive_down(plain, 36) == [[]] * 12


def test_a_new_track_comes_with_the_boxes_it_was_followed_by_before_it_was_confirmed() -> None:
    """TrackTrack reports a track from its third matched frame on; the first report carries the two boxes before."""
    tracker = new_tracker(5.0, Settings())
    tracker.update(Detections.empty(), (720, 1280))  # a first frame's tracks are reported at once
    reports = []
    for k in range(5):
        xyxy = np.array([[600, 10 + 8 * k, 760, 90 + 8 * k]], np.float32)
        dets = Detections(xyxy, np.array([0.9], np.float32), np.array([2], np.int64))
        reports.append([(t.track_id, t.before) for t in tracker.update(dets, (720, 1280))])
    assert reports[:2] == [[], []]
    ((track_id, before),) = reports[2]
    assert before == ((2, (600.0, 10.0, 760.0, 90.0)), (1, (600.0, 18.0, 760.0, 98.0)))
    assert reports[3:] == [[(track_id, ())], [(track_id, ())]]


@pytest.mark.parametrize(("step", "classes"), [(200, (2,)), (36, (2, 0))])
def test_a_new_track_does_not_reach_a_far_detection_or_another_class(step: float, classes: tuple[int, ...]) -> None:
    assert _drive_down(new_tracker(5.0, Settings()), step, classes) == [[]] * 12


def test_camera_motion_can_be_turned_off() -> None:
    """TRACKER_GMC=none: no frame has a motion, and the tracker compensates for none (its costliest step)."""
    scene = Scene(21, 2.0, 25.0, (640, 360), scenario=scenario("shaky"))
    motion = CameraMotion("none")
    assert all(motion(scene.frame(index).image) is None for index in range(0, scene.n_frames, 5))
    assert Settings.from_env({"TRACKER_GMC": "none"}).tracker_gmc == "none"
    with pytest.raises(ValueError, match="TRACKER_GMC must be one of sparseOptFlow, none, auto"):
        Settings.from_env({"TRACKER_GMC": "ecc"})


def test_background_shift_measures_a_moved_view() -> None:
    image = Scene(21, 2.0, 25.0, (640, 360)).frame(0).image
    grey = cv2.cvtColor(cv2.resize(image, (320, 180)), cv2.COLOR_BGR2GRAY)
    moved = cv2.warpAffine(grey, np.float32([[1, 0, 4], [0, 1, -3]]), (320, 180), borderMode=cv2.BORDER_REFLECT)
    assert background_shift(grey, moved) == pytest.approx(5.0, abs=0.3)
    assert background_shift(grey, grey) < 0.05


def test_auto_motion_stays_off_for_a_fixed_camera() -> None:
    motion = CameraMotion("auto")
    scene = Scene(21, 6.0, 25.0, (640, 360), scenario=scenario("crowded"))  # many objects, a fixed background
    assert all(motion(scene.frame(index).image) is None for index in range(0, scene.n_frames, 5))
    assert motion._gmc is None, "nor is Ultralytics' compensation ever made"


@pytest.mark.parametrize("method", ["auto", "sparseOptFlow"])
def test_motion_follows_a_shaking_camera(method: str) -> None:
    scene = Scene(21, 6.0, 25.0, (640, 360), scenario=scenario("shaky"))
    motion = CameraMotion(method)
    indexes = range(0, scene.n_frames, 5)
    errors = []
    for previous, index in pairwise(indexes):
        if previous == 0:
            assert motion(scene.frame(previous).image) is None, "no frame before the first"
        warp = motion(scene.frame(index).image)
        if warp is not None:
            # The view moved by the camera's offset; the content, and the warp, the other way.
            (x0, y0), (x1, y1) = scene.camera_offset(previous), scene.camera_offset(index)
            errors.append(np.hypot(warp[0, 2] + (x1 - x0), warp[1, 2] + (y1 - y0)))
    assert len(errors) >= 20
    assert np.median(errors) < 1.0


def test_a_frames_motion_depends_on_it_and_the_frame_before_only() -> None:
    """What makes a chunk's motions those of one pass: started one frame before, a fresh one measures the same."""
    scene = Scene(21, 4.0, 25.0, (640, 360), scenario=scenario("shaky"))
    frames = [scene.frame(index).image for index in range(0, scene.n_frames, 5)]
    whole = CameraMotion("auto")
    one_pass = [whole(frame) for frame in frames]
    for start in (5, 11):
        part = CameraMotion("auto")
        measured = [part(frame) for frame in frames[start - 1 :]][1:]
        for a, b in zip(one_pass[start:], measured, strict=True):
            assert (a is None and b is None) or np.array_equal(a, b)
    assert sum(m is not None for m in one_pass) >= 10
