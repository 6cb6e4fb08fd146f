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


XYXY = tuple[float, float, float, float]


@dataclass(frozen=True)
class TrackedBox:
    """One tracked object in one frame. On the first frame a track is reported in, `before` holds the boxes the
    tracker followed it by before it confirmed it, as (analysed frames ago, box), oldest first."""

    track_id: int
    cls: int
    conf: float
    xyxy: XYXY
    det: int  # the index of the frame's detection it matched
    before: tuple[tuple[int, XYXY], ...] = ()


class Tracker:
    """An Ultralytics tracker fed with `Detections` one frame at a time, in time order, with the camera's motion since
    the previous frame given rather than measured: the chunks measure it where the frames are (`CameraMotion`) and
    store it, and the fan-in's pass over the whole video (`videoanalysis.video_tracks`) reads it back with the
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
        from ultralytics.engine.results import Boxes

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


def new_tracker(frame_rate: float, settings: Settings) -> Tracker:
    """A fresh Ultralytics tracker with its `{TRACKER}.yaml` settings, keeping lost tracks TRACK_LOST_SECONDS.

    `tracktrack` is Ultralytics' default tracker: its track-aware initialisation keeps a second box on a partly
    hidden object from opening a second track, which ByteTrack does (models/README.md). Its new tracks also match
    by distance here, since at the sampled rate a fast object's boxes may not overlap (`SampledTrackTrack`). The
    YAMLs count `track_buffer` in frames, tuned for 30 fps (ultralytics issue 4284); the horizon is set in seconds
    here, so it means the same at any sampling rate. The camera's motion comes with each frame (`Tracker.update`).
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
    cfg.gmc_method = "none"  # its own compensation is replaced by the given motion
    tracker = {**TRACKER_MAP, "tracktrack": SampledTrackTrack}[cfg.tracker_type](cfg)
    return Tracker(tracker, cfg.track_buffer)


CAMERA_SHIFT_SHARE = 0.0016
"""How far the background must move between two analysed frames, as a share of the frame's width, for the camera to
count as moving (2 px at 1280 px): on the evaluation's tuning scenes a fixed camera's background stays well under it,
and a shaking or panning camera moves it several times as far (docs/decisions/2026-11-30-gmc-auto.md)."""

_PROBE_WIDTH = 320
_PROBE_STEP = 24
"""The shift is measured at `_PROBE_WIDTH` px on a grid of points `_PROBE_STEP` px apart: about a hundred points, whose
median ignores the objects moving over the background. A denser grid decides the same on all but a few frames at
the threshold, at several times the cost (docs/decisions/2026-12-01-motion-grid.md)."""


class CameraMotion:
    """The camera's motion between consecutive analysed frames, as the 2x3 affine of Ultralytics' camera-motion
    compensation (sparse optical flow), or None when it did not move.

    Each frame's motion depends on that frame and the one before it only, so a chunk whose window starts one analysed
    frame before its core measures for its core exactly what one pass over the video measures: the fan-in's tracking
    pass reads the motions from the chunks' detections (`videoanalysis.video_tracks`). With TRACKER_GMC=auto, a frame
    whose background moved no more than CAMERA_SHIFT_SHARE of the width has no motion, which skips the compensation,
    most of TrackTrack's time, for a fixed camera; the check costs a pyramidal Lucas-Kanade flow of a fixed grid on a
    small grey frame. `sparseOptFlow` measures every frame, `none` none.
    """

    def __init__(self, method: str):
        self._method = method
        self._gmc: Any = None  # made on the first motion: it imports Ultralytics, and with it torch
        self._previous: np.ndarray | None = None  # the last frame
        self._probe: np.ndarray | None = None  # its grey probe (TRACKER_GMC=auto)
        self._fed = False  # whether the compensation's reference frame is the previous frame

    def __call__(self, frame: np.ndarray) -> np.ndarray | None:
        if self._method == "none":
            return None
        probe = _grey_probe(frame) if self._method == "auto" else None
        previous, self._previous = self._previous, frame  # the reader gives every frame its own array
        previous_probe, self._probe = self._probe, probe
        still = (
            probe is not None
            and previous_probe is not None
            and background_shift(previous_probe, probe) <= CAMERA_SHIFT_SHARE * _PROBE_WIDTH
        )
        if previous is None or still:
            self._fed = False
            return None
        if self._gmc is None:
            offline_ultralytics()
            from ultralytics.trackers.utils.gmc import GMC

            self._gmc = GMC(method="sparseOptFlow")
        if not self._fed:
            self._gmc.reset_params()
            self._gmc.apply(previous)
        self._fed = True
        return np.asarray(self._gmc.apply(frame), dtype=np.float64)


def _grey_probe(frame: np.ndarray) -> np.ndarray:
    import cv2

    height, width = frame.shape[:2]
    grey = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)  # before shrinking: averaging one channel is a third of the work
    return cv2.resize(grey, (_PROBE_WIDTH, max(1, round(height * _PROBE_WIDTH / width))), interpolation=cv2.INTER_AREA)


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
