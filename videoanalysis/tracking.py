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
    hidden object from opening a second track, which ByteTrack does (models/README.md). The YAMLs count
    `track_buffer` in frames, tuned for 30 fps (ultralytics issue 4284); the horizon is set in seconds here, so it
    means the same at any sampling rate. `TRACKER_GMC=none` turns off TrackTrack's camera-motion compensation,
    which a fixed camera does not need and which costs most of its time (README, Performance).
    """
    if frame_rate <= 0:
        raise ValueError(f"frame_rate must be > 0, got {frame_rate}")
    offline_ultralytics()
    from ultralytics.trackers.track import TRACKER_MAP
    from ultralytics.utils import YAML, IterableSimpleNamespace
    from ultralytics.utils.checks import check_yaml

    cfg = IterableSimpleNamespace(**YAML.load(check_yaml(f"{settings.tracker}.yaml")))
    cfg.track_buffer = max(1, round(settings.track_lost_seconds * frame_rate))
    cfg.gmc_method = settings.tracker_gmc
    return Tracker(TRACKER_MAP[cfg.tracker_type](cfg), cfg.track_buffer)
