"""Tracking on top of Ultralytics' trackers, fed with our own `Detections` (any backend), one frame at a time.

Ultralytics is imported inside functions, so importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from videoanalysis.detector import Detections
from videoanalysis.models import offline_ultralytics

if TYPE_CHECKING:
    from videoanalysis.settings import Settings


@dataclass(frozen=True)
class TrackedBox:
    """One tracked object in one frame."""

    track_id: int
    cls: int
    conf: float
    xyxy: tuple[float, float, float, float]


class Tracker:
    """An Ultralytics tracker fed with `Detections`; one per analysed window, fed frames in time order."""

    def __init__(self, tracker: Any, track_buffer: int):
        self._tracker = tracker
        self.track_buffer = track_buffer  # frames a lost track is kept before it is dropped

    def update(self, dets: Detections, frame: np.ndarray) -> list[TrackedBox]:
        """Advance one (sampled) frame; returns the confirmed tracks present in it."""
        from ultralytics.engine.results import Boxes

        data = np.concatenate([dets.xyxy, dets.conf[:, None], dets.cls[:, None].astype(np.float32)], axis=1)
        rows = self._tracker.update(Boxes(data, frame.shape[:2]), frame)
        return [
            TrackedBox(track_id=int(r[4]), cls=int(r[6]), conf=float(r[5]), xyxy=(r[0], r[1], r[2], r[3]))
            for r in np.asarray(rows).reshape(-1, 8).tolist()
        ]


def new_tracker(frame_rate: float, settings: Settings) -> Tracker:
    """A fresh Ultralytics tracker with its `{TRACKER}.yaml` settings, keeping lost tracks TRACK_LOST_SECONDS.

    `tracktrack` is Ultralytics' default tracker: its track-aware initialisation keeps a second box on a partly
    hidden object from opening a second track, which ByteTrack does (models/README.md). Its new tracks also match
    by distance here, since at the sampled rate a fast object's boxes may not overlap (`SampledTrackTrack`). The
    YAMLs count `track_buffer` in frames, tuned for 30 fps (ultralytics issue 4284); the horizon is set in seconds
    here, so it means the same at any sampling rate. `TRACKER_GMC=none` turns off TrackTrack's camera-motion
    compensation, which a fixed camera does not need and which costs most of its time (README, Performance); `auto`
    turns it on in a chunk once the camera is seen to move (`CameraMotionGate`).
    """
    if frame_rate <= 0:
        raise ValueError(f"frame_rate must be > 0, got {frame_rate}")
    offline_ultralytics()
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    from videoanalysis.sampled_tracktrack import SampledTrackTrack

    cfg = IterableSimpleNamespace(**YAML.load(check_yaml(f"{settings.tracker}.yaml")))
    cfg.track_buffer = max(1, round(settings.track_lost_seconds * frame_rate))
    cfg.gmc_method = "sparseOptFlow" if settings.tracker_gmc == "auto" else settings.tracker_gmc
    tracker = {**TRACKER_MAP, "tracktrack": SampledTrackTrack}[cfg.tracker_type](cfg)
    if settings.tracker_gmc == "auto" and hasattr(tracker, "gmc"):
        tracker.gmc = CameraMotionGate(tracker.gmc)
    return Tracker(tracker, cfg.track_buffer)


CAMERA_SHIFT_SHARE = 0.0016
"""How far the background must move between two analysed frames, as a share of the frame's width, for the camera to
count as moving (2 px at 1280 px). On the evaluation's tuning scenes the median background shift of fixed-camera
frames stays under 0.8 px, and shaking or panning cameras move it 4-7 px per analysed frame."""

_PROBE_WIDTH = 320
_PROBE_STEP = 12
"""The shift is measured at `_PROBE_WIDTH` px on a grid of points `_PROBE_STEP` px apart: a few hundred points, whose
median ignores the objects moving over the background."""


class CameraMotionGate:
    """TRACKER_GMC=auto: Ultralytics' camera-motion compensation (sparse optical flow), switched on the first time the
    camera is seen to move, and the identity until then.

    Compensation is most of TrackTrack's time and does nothing for a fixed camera, so a chunk of a fixed camera skips
    it; the check costs a pyramidal Lucas-Kanade flow of a fixed grid on a small grey frame. Once on it stays on for
    the tracker's life (one chunk): a camera that moved once is likely to move again.
    """

    method = "auto"  # not None: the tracker calls `apply` on every frame

    def __init__(self, gmc: Any):
        self._gmc = gmc
        self._previous: tuple[np.ndarray, np.ndarray] | None = None  # the last frame and its grey probe
        self.moving = False

    def apply(self, raw_frame: np.ndarray, detections: Any = None) -> np.ndarray:
        if self.moving:
            return np.asarray(self._gmc.apply(raw_frame, detections))
        probe = _grey_probe(raw_frame)
        previous, self._previous = self._previous, (raw_frame, probe)
        if previous is None or background_shift(previous[1], probe) <= CAMERA_SHIFT_SHARE * _PROBE_WIDTH:
            return np.eye(2, 3)
        self.moving = True
        self._gmc.reset_params()
        self._gmc.apply(previous[0])  # the compensation's reference frame: the one before the move was seen
        return np.asarray(self._gmc.apply(raw_frame, detections))

    def reset_params(self) -> None:
        self._gmc.reset_params()
        self._previous = None
        self.moving = False


def _grey_probe(frame: np.ndarray) -> np.ndarray:
    import cv2

    height, width = frame.shape[:2]
    small = cv2.resize(
        frame, (_PROBE_WIDTH, max(1, round(height * _PROBE_WIDTH / width))), interpolation=cv2.INTER_AREA
    )
    return cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)


def background_shift(previous: np.ndarray, current: np.ndarray) -> float:
    """Median displacement in pixels of a grid of points between two grey frames of one size: the background's,
    as long as moving objects cover less than half of the frame."""
    import cv2

    height, width = previous.shape[:2]
    margin = _PROBE_STEP // 2
    ys, xs = np.mgrid[margin : height - margin : _PROBE_STEP, margin : width - margin : _PROBE_STEP]
    points = np.stack([xs.ravel(), ys.ravel()], axis=1).astype(np.float32)
    if len(points) == 0:
        return 0.0
    moved, status, _ = cv2.calcOpticalFlowPyrLK(
        previous, current, points, np.empty_like(points), winSize=(15, 15), maxLevel=2
    )
    found = status.ravel() == 1
    if not found.any():
        return float("inf")  # nothing to follow (a flat frame): compensate, as Ultralytics would by default
    return float(np.hypot(*np.median(moved[found] - points[found], axis=0)))
