"""Per-class frame statistics: built frame by frame in a chunk, merged over chunks into the video's.

Each chunk counts only the sampled frames of its own core, so the merge equals one sequential pass.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ClassStats:
    """One class's frame statistics: per chunk (built frame by frame) and per video (merged over the chunks)."""

    detections: int = 0
    peak: int = 0
    frames_present: int = 0
    first_seen_ms: int | None = None
    last_seen_ms: int | None = None
    timeline: dict[int, int] = field(default_factory=dict)  # second -> most objects seen in one frame of it

    def add_frame(self, t_ms: int, count: int) -> None:
        """An analysed frame in which `count` objects of the class were detected."""
        self.merge(ClassStats(count, count, 1, t_ms, t_ms, {t_ms // 1000: count}))

    def merge(self, other: ClassStats) -> None:
        self.detections += other.detections
        self.peak = max(self.peak, other.peak)
        self.frames_present += other.frames_present
        self.first_seen_ms = _either(self.first_seen_ms, other.first_seen_ms, min)
        self.last_seen_ms = _either(self.last_seen_ms, other.last_seen_ms, max)
        # A second cut by a chunk boundary has frames in both chunks; the max of their maxima is the max over all.
        for second, count in other.timeline.items():
            self.timeline[second] = max(self.timeline.get(second, 0), count)

    def to_dict(self) -> dict[str, Any]:
        """The chunk result's form (JSON object keys are strings)."""
        return {
            "detections": self.detections,
            "peak": self.peak,
            "frames_present": self.frames_present,
            "first_seen_ms": self.first_seen_ms,
            "last_seen_ms": self.last_seen_ms,
            "timeline": {str(second): count for second, count in self.timeline.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ClassStats:
        return cls(
            detections=int(data["detections"]),
            peak=int(data["peak"]),
            frames_present=int(data["frames_present"]),
            first_seen_ms=None if data["first_seen_ms"] is None else int(data["first_seen_ms"]),
            last_seen_ms=None if data["last_seen_ms"] is None else int(data["last_seen_ms"]),
            timeline={int(second): int(count) for second, count in data["timeline"].items()},
        )


def _either(a: int | None, b: int | None, pick: Callable[[int, int], int]) -> int | None:
    """`pick` of two optional times, ignoring a missing one."""
    return b if a is None else a if b is None else pick(a, b)
