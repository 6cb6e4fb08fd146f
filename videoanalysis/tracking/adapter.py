"""Ultralytics' trackers behind our own interface: the only module that touches their internals.

What it relies on beyond Ultralytics' documented API, all written against `WRITTEN_FOR` (a test pins it to the
installed version and to requirements.txt, so an upgrade comes back here first):
- the tracker's `gmc` attribute, its camera-motion compensation, replaced by the motion measured beforehand;
- `frame_id`, `tracked_stracks` and TrackTrack's `_history` on a track, for the boxes a new track was followed by;
- TrackTrack's `_cost_matrix` and `_confidence_distance`, and a track's `state`, `xyxy` and `cls`, for the sampled
  TrackTrack (`videoanalysis.tracking._sampled_tracktrack`);
- the tracker YAMLs, `TRACKER_MAP`, and `GMC(method="sparseOptFlow")` for measuring camera motion.

Importing it imports Ultralytics, and with it torch: the rest of the package imports it inside functions
(`tracker.new_tracker`, `camera_motion.CameraMotion`), after `offline_ultralytics`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ultralytics.engine.results import Boxes
from ultralytics.trackers.basetrack import TrackState
from ultralytics.trackers.track import TRACKER_MAP
from ultralytics.trackers.track_tracker import TRACKTRACK, _confidence_distance
from ultralytics.trackers.utils.gmc import GMC
from ultralytics.utils import YAML, IterableSimpleNamespace
from ultralytics.utils.checks import check_yaml

from videoanalysis.detector import Detections
from videoanalysis.tracking._sampled_tracktrack import reach_cost
from videoanalysis.tracking.tracker import XYXY, TrackedBox

WRITTEN_FOR = "8.4.190"
"""The Ultralytics release this module was written and checked against."""


class Tracker:
    """An Ultralytics tracker fed with `Detections` one frame at a time, in time order, with the camera's motion since
    the previous frame given rather than measured: the chunks measure it where the frames are (`CameraMotion`) and
    store it, and the fan-in's pass over the whole video (`videoanalysis.tracking.video_pass`) reads it back with the
    detections, so the same stored frames give the same tracks.

    TrackTrack reports a new track only once it has matched it in `min_track_len` analysed frames (3), so the object
    was seen in two frames before its first report: their boxes come with it (`TrackedBox.before`). An object's span
    then starts where the tracker first saw it, and so does linking across a gap, which is where the new track of a
    walker that stopped or started again begins (docs/decisions/2026-12-01-fragment-rule.md)."""

    def __init__(self, tracker: Any, track_buffer: int):
        self._tracker = tracker
        self._motion = _GivenMotion()
        tracker.gmc = self._motion
        self.track_buffer = track_buffer  # frames a lost track is kept before it is dropped
        self._reported: set[int] = set()  # ids of the tracks reported so far

    def update(
        self, dets: Detections, frame_shape: tuple[int, int], motion: np.ndarray | None = None
    ) -> list[TrackedBox]:
        """Advance one (sampled) frame of `frame_shape` (height, width); `motion` is the camera's 2x3 affine since the
        previous frame, None when it did not move. Returns the confirmed tracks present in the frame."""
        data = np.concatenate([dets.xyxy, dets.conf[:, None], dets.cls[:, None].astype(np.float32)], axis=1)
        self._motion.warp = motion
        rows = self._tracker.update(Boxes(data, frame_shape), _NO_IMAGE)
        tracked = []
        for r in np.asarray(rows).reshape(-1, 8).tolist():
            track_id = int(r[4])
            before = () if track_id in self._reported else self._before(track_id)
            self._reported.add(track_id)
            box = (r[0], r[1], r[2], r[3])
            tracked.append(TrackedBox(track_id, int(r[6]), float(r[5]), box, int(r[7]), before))
        return tracked

    def _before(self, track_id: int) -> tuple[tuple[int, XYXY], ...]:
        """The boxes of a newly reported track's frames before this one, from TrackTrack's own record of its recent
        matches (`_history`: (frame number, box)); none for a tracker that keeps no such record (ByteTrack)."""
        now = self._tracker.frame_id
        track = next((t for t in self._tracker.tracked_stracks if t.track_id == track_id), None)
        history = getattr(track, "_history", ())
        return tuple((now - frame, _xyxy(box)) for frame, box in history if frame < now)


def _xyxy(box: np.ndarray) -> XYXY:
    x1, y1, x2, y2 = (float(v) for v in box)
    return (x1, y1, x2, y2)


_NO_IMAGE = np.empty((0, 0, 3), dtype=np.uint8)
"""What the tracker is given for the frame: only its camera-motion step would read it, and that is `_GivenMotion`."""


class _GivenMotion:
    """Stands in for TrackTrack's camera-motion compensation: answers with the motion measured beforehand."""

    def __init__(self) -> None:
        self.warp: np.ndarray | None = None

    @property
    def method(self) -> str | None:
        return None if self.warp is None else "given"  # None: the tracker skips compensation for this frame

    def apply(self, raw_frame: np.ndarray, detections: Any = None) -> np.ndarray:
        return np.eye(2, 3) if self.warp is None else self.warp

    def reset_params(self) -> None:
        self.warp = None


class SampledTrackTrack(TRACKTRACK):
    """Ultralytics' TrackTrack, whose unconfirmed tracks also match by distance
    (`videoanalysis.tracking._sampled_tracktrack`)."""

    def _cost_matrix(self, tracks: list[Any], dets: list[Any]) -> np.ndarray:
        cost: np.ndarray = super()._cost_matrix(tracks, dets)
        new = np.array([track.state == TrackState.New for track in tracks], dtype=bool)
        if new.any() and dets:
            unconfirmed = [track for track, is_new in zip(tracks, new, strict=True) if is_new]
            reach = reach_cost(
                np.asarray([track.xyxy for track in unconfirmed], dtype=np.float64),
                np.asarray([det.xyxy for det in dets], dtype=np.float64),
                np.array([track.cls for track in unconfirmed])[:, None] == np.array([det.cls for det in dets])[None, :],
            )
            cost[new] = np.minimum(cost[new], reach + self.conf_weight * _confidence_distance(unconfirmed, dets))
        return cost


def ultralytics_tracker(name: str, track_buffer: int) -> Tracker:
    """A fresh Ultralytics tracker `name` with its `{name}.yaml` settings, keeping lost tracks `track_buffer` frames;
    TrackTrack is the sampled one, and the camera's motion comes with each frame."""
    cfg = IterableSimpleNamespace(**YAML.load(check_yaml(f"{name}.yaml")))
    cfg.track_buffer = track_buffer
    cfg.gmc_method = "none"  # its own compensation is replaced by the given motion
    tracker = {**TRACKER_MAP, "tracktrack": SampledTrackTrack}[cfg.tracker_type](cfg)
    return Tracker(tracker, cfg.track_buffer)


def sparse_optical_flow() -> Any:
    """Ultralytics' camera-motion compensation by sparse optical flow: `apply(frame)` gives the 2x3 affine from the
    frame it was given before, `reset_params()` forgets that frame."""
    return GMC(method="sparseOptFlow")
