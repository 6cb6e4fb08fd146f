"""TrackTrack for sampled frames: a track seen once may find its next detection by distance, not only by overlap.

Ultralytics' TrackTrack confirms a track after `min_track_len` matches, and each match needs the boxes to overlap: its
cost is one minus IoU times vertical IoU. A new track has no velocity yet. At a few analysed frames per second an
object that moves more than about half its height between two of them, such as a car driving up or down the image,
is then detected in every frame and confirmed in none (docs/decisions/2026-11-30-sampled-tracktrack.md). So a track
that is not confirmed yet may also take the nearest detection of its class and size within `NEW_TRACK_REACH` box
sizes; once confirmed, its Kalman filter has the velocity and TrackTrack's own cost follows it.

This module holds the cost; `videoanalysis.tracking.adapter.SampledTrackTrack` puts it into TrackTrack's matching.
"""

from __future__ import annotations

import numpy as np

from videoanalysis.tracking.gaps import reaches

NEW_TRACK_REACH = 1.0
"""How far an object may move between two analysed frames, in sizes of its box (the square root of its area), and
still continue a track seen once. Chosen by `make eval` on the tuning split (its decision record, above)."""

SIZE_RATIO = 1.5
"""The largest ratio between the sizes of two boxes that can be one object in consecutive analysed frames."""

REACH_COST = 0.6
"""The cost of a detection at the edge of the reach, growing from 0 at the track's own position: under TrackTrack's
`match_thresh` (0.7), so any detection in reach can match, and the nearest is preferred."""


def reach_cost(tracks: np.ndarray, dets: np.ndarray, same_class: np.ndarray) -> np.ndarray:
    """`REACH_COST` times the distance in reaches from each unconfirmed track's box (n, 4) to each detection's box
    (m, 4), for detections of the track's class (`same_class`, (n, m)) and size within reach; 1 (no match) for the
    others. Shape (n, m)."""
    size_a = np.sqrt((tracks[:, 2] - tracks[:, 0]) * (tracks[:, 3] - tracks[:, 1]))[:, None]
    size_b = np.sqrt((dets[:, 2] - dets[:, 0]) * (dets[:, 3] - dets[:, 1]))[None, :]
    distance = reaches(tracks, dets) / NEW_TRACK_REACH
    similar = np.maximum(size_a, size_b) < SIZE_RATIO * np.minimum(size_a, size_b)
    return np.where((distance < 1) & same_class & similar, REACH_COST * distance, 1.0)
