"""The tracker the package works with: what it reports per frame (`TrackedBox`), and how one is made.

The tracker itself is Ultralytics', behind `videoanalysis.tracking.adapter`, imported here only when a tracker is
made, so importing this module stays cheap.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from videoanalysis.models import offline_ultralytics

if TYPE_CHECKING:
    from videoanalysis.settings import Settings
    from videoanalysis.tracking.adapter import Tracker


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


def new_tracker(frame_rate: float, settings: Settings) -> Tracker:
    """A fresh `{TRACKER}` tracker fed at `frame_rate`, keeping lost tracks TRACK_LOST_SECONDS.

    `tracktrack` is Ultralytics' default tracker: its track-aware initialisation keeps a second box on a partly
    hidden object from opening a second track, which ByteTrack does (models/README.md). Its new tracks also match
    by distance here, since at the sampled rate a fast object's boxes may not overlap (the sampled TrackTrack). The
    YAMLs count `track_buffer` in frames, tuned for 30 fps (ultralytics issue 4284); the horizon is set in seconds
    here, so it means the same at any sampling rate. The camera's motion comes with each frame (`Tracker.update`).
    """
    if frame_rate <= 0:
        raise ValueError(f"frame_rate must be > 0, got {frame_rate}")
    offline_ultralytics()
    from videoanalysis.tracking.adapter import ultralytics_tracker

    return ultralytics_tracker(settings.tracker, max(1, round(settings.track_lost_seconds * frame_rate)))
