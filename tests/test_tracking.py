"""The tracker factory: Ultralytics trackers configured from `Settings`, the lost-track horizon in seconds."""

from __future__ import annotations

import numpy as np
import pytest

from videoanalysis.detector import Detections
from videoanalysis.settings import CHOICES, Settings
from videoanalysis.tracking import new_tracker


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


@pytest.mark.parametrize(
    ("kind", "gmc"), [(kind, "sparseOptFlow") for kind in CHOICES["tracker"]] + [("tracktrack", "none")]
)
def test_tracker_keeps_ids_through_a_short_gap(kind: str, gmc: str) -> None:
    tracker = new_tracker(5.0, Settings(tracker=kind, tracker_gmc=gmc, track_lost_seconds=1.0))
    frame = np.zeros((360, 640, 3), np.uint8)
    ids = set()
    for step in range(12):
        if step in (6, 7):  # two sampled frames without detections: shorter than the buffer of 5
            dets = Detections.empty()
        else:
            x = 20.0 + 15 * step
            dets = Detections(
                xyxy=np.array([[x, 100, x + 60, 130], [500 - x, 200, 540 - x, 300]], np.float32),
                conf=np.array([0.9, 0.8], np.float32),
                cls=np.array([0, 1], np.int64),
            )
        for t in tracker.update(dets, frame):
            ids.add((t.track_id, t.cls))
            assert len(t.xyxy) == 4 and 0 < t.conf <= 1
    assert len(ids) == 2 and {c for _, c in ids} == {0, 1}


def test_camera_motion_compensation_can_be_turned_off() -> None:
    """TRACKER_GMC=none reaches the tracker: TrackTrack then estimates no camera motion (its costliest step)."""
    assert new_tracker(5.0, Settings(tracker_gmc="sparseOptFlow"))._tracker.gmc.method == "sparseOptFlow"
    assert new_tracker(5.0, Settings(tracker_gmc="none"))._tracker.gmc.method is None
    assert Settings.from_env({"TRACKER_GMC": "none"}).tracker_gmc == "none"
    with pytest.raises(ValueError, match="TRACKER_GMC must be one of sparseOptFlow, none"):
        Settings.from_env({"TRACKER_GMC": "ecc"})
