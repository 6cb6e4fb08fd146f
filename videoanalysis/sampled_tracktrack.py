"""TrackTrack for sampled frames: a track seen once may find its next detection by distance, not only by overlap.

Ultralytics' TrackTrack confirms a track after `min_track_len` matches, and each match needs the boxes to overlap: its
cost is one minus IoU times vertical IoU. A new track has no velocity yet. At a few analysed frames per second an
object that moves more than about half its height between two of them, such as a car driving up or down the image,
is then detected in every frame and confirmed in none (docs/decisions/2026-11-30-sampled-tracktrack.md). So a track
that is not confirmed yet may also take the nearest detection of its class and size within `NEW_TRACK_REACH` box
sizes; once confirmed, its Kalman filter has the velocity and TrackTrack's own cost follows it.

Imported by `videoanalysis.tracking.new_tracker` only: it imports Ultralytics, and with it torch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ultralytics.trackers.basetrack import TrackState
from ultralytics.trackers.track_tracker import TRACKTRACK, _confidence_distance

from videoanalysis.motion import reaches

NEW_TRACK_REACH = 1.0
"""How far an object may move between two analysed frames, in sizes of its box (the square root of its area), and
still continue a track seen once. Chosen by `make eval` on the tuning split (its decision record, above)."""

SIZE_RATIO = 1.5
"""The largest ratio between the sizes of two boxes that can be one object in consecutive analysed frames."""

REACH_COST = 0.6
"""The cost of a detection at the edge of the reach, growing from 0 at the track's own position: under TrackTrack's
`match_thresh` (0.7), so any detection in reach can match, and the nearest is preferred."""


class SampledTrackTrack(TRACKTRACK):
    """Ultralytics' TrackTrack, whose unconfirmed tracks also match by distance (module docstring)."""

    def _cost_matrix(self, tracks: list[Any], dets: list[Any]) -> np.ndarray:
        cost: np.ndarray = super()._cost_matrix(tracks, dets)
        new = np.array([track.state == TrackState.New for track in tracks], dtype=bool)
        if new.any() and dets:
            unconfirmed = [track for track, is_new in zip(tracks, new, strict=True) if is_new]
            reach = _reach_cost(unconfirmed, dets) + self.conf_weight * _confidence_distance(unconfirmed, dets)
            cost[new] = np.minimum(cost[new], reach)
        return cost


def _reach_cost(tracks: list[Any], dets: list[Any]) -> np.ndarray:
    """`REACH_COST` times the distance in reaches, for detections of the track's class and size within reach; 1
    (no match) for the others."""
    a = np.asarray([track.xyxy for track in tracks], dtype=np.float64)
    b = np.asarray([det.xyxy for det in dets], dtype=np.float64)
    size_a = np.sqrt((a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1]))[:, None]
    size_b = np.sqrt((b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1]))[None, :]
    distance = reaches(a, b) / NEW_TRACK_REACH
    same_class = np.array([track.cls for track in tracks])[:, None] == np.array([det.cls for det in dets])[None, :]
    similar = np.maximum(size_a, size_b) < SIZE_RATIO * np.minimum(size_a, size_b)
    return np.where((distance < 1) & same_class & similar, REACH_COST * distance, 1.0)
