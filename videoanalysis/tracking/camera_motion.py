"""The camera's motion between analysed frames, measured where the frames are (the chunks) and stored with the
detections, so that the fan-in's tracking pass can compensate for it without the images.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from videoanalysis.models import offline_ultralytics

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
    pass reads the motions from the chunks' detections (`videoanalysis.tracking.video_pass`). With TRACKER_GMC=auto,
    a frame whose background moved no more than CAMERA_SHIFT_SHARE of the width has no motion, which skips the
    compensation, most of TrackTrack's time, for a fixed camera; the check costs a pyramidal Lucas-Kanade flow of a
    fixed grid on a small grey frame. `sparseOptFlow` measures every frame, `none` none.
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
            from videoanalysis.tracking.adapter import sparse_optical_flow

            self._gmc = sparse_optical_flow()
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
