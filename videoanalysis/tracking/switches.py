"""Where a track took over another object: the rest of it belongs to the object another track was following.

A tracker that loses an object behind a pillar can go on with another object that comes out there: two walkers
crossing behind a pillar, a bike coming to the border where another just left. One track then holds two objects, and
the one it took over was another track's until just before. Linking (`objects.link_across_gaps`) joins tracks that
follow each other in time, so it could not give that track's rest back to the one it belongs to; cut there, it can.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence

from videoanalysis.regions import sighting
from videoanalysis.tracking.borders import TURN_FRAMES
from videoanalysis.tracking.gaps import miss
from videoanalysis.tracking.objects import STILL, TrackEnds, TrackSegment, continues


def switches(segments: Sequence[TrackSegment], gap_ms: int, frame_size: tuple[int, int]) -> dict[int, int]:
    """Each segment that took over another's object: its index in `segments`, and that of its first box of that object.

    A segment took over at its box k when another segment of its class ended while it ran, at most `gap_ms` before box
    k, and continues it from box k on (`objects.continues`), while its own boxes before k do not (their motion is
    against it or out of reach). Of several such segments, the one that carries it closest; of its boxes, the one its
    own motion broke most at (`_Parts._break`).
    """
    if gap_ms <= 0:
        return {}
    order = sorted(range(len(segments)), key=lambda k: segments[k].last_ms)
    ends = [segments[k].last_ms for k in order]
    found = {}
    for k, segment in enumerate(segments):
        ended = [
            segments[other].ends
            for other in order[bisect.bisect_right(ends, segment.first_ms) : bisect.bisect_left(ends, segment.last_ms)]
            if other != k and segments[other].cls == segment.cls
        ]
        if ended and (claims := _Parts(segment).claims(ended, gap_ms, frame_size)):
            found[k] = min(claims)[1]
    return found


class _Parts:
    """A segment's boxes before and from each of them, as linking reads them."""

    def __init__(self, segment: TrackSegment) -> None:
        self.segment = segment
        self.times = [t_ms for t_ms, _ in segment.boxes]
        widths = [box[2] - box[0] for _, box in segment.boxes]
        self.widest_before = list(itertools.accumulate(widths, max))
        self.widest_from = list(itertools.accumulate(reversed(widths), max))[::-1]

    def _break(self, k: int) -> float:
        """How far, in box sizes, the track's motion broke between its boxes k - 1 and k: how far box k lies from
        where the motion of the `TURN_FRAMES` boxes before it carried it, plus how far box k - 1 lies from where the
        motion of the boxes from k on came from (the same, read backwards in time). Where the track went on with
        another object, its motion broke; a side with no motion to read (one box) adds nothing."""
        boxes = self.segment.boxes
        if k == 0:
            return 0.0
        before, last, first = boxes[max(k - 1 - TURN_FRAMES, 0)], boxes[k - 1], boxes[k]
        after = boxes[min(k + TURN_FRAMES, len(boxes) - 1)]
        forward = miss(sighting(*before), sighting(*last), sighting(*first))
        back = miss(sighting(-after[0], after[1]), sighting(-first[0], first[1]), sighting(-last[0], last[1]))
        return (forward or 0.0) + (back or 0.0)

    def claims(self, ended: Sequence[TrackEnds], gap_ms: int, frame_size: tuple[int, int]) -> list[tuple[float, int]]:
        """(how far it carries, k) for each of the `ended` segments that the segment's boxes from some k on continue
        and its own boxes before k do not: of those k, the one where its own motion broke most."""
        found = []
        for earlier in ended:
            taken = []
            for k in self._after(earlier.last[0], gap_ms):
                after = self.starting(k)
                how_far = continues(earlier, after, frame_size)
                if how_far is not None and continues(self.before(k), after) is None:
                    taken.append((self._break(k), how_far, k))
            if taken:
                _, how_far, k = max(taken)
                found.append((how_far, k))
        return found

    def _after(self, t_ms: int, gap_ms: int) -> range:
        """The indices of the boxes after `t_ms`, at most `gap_ms` after it, leaving at least one box before them."""
        return range(max(bisect.bisect_right(self.times, t_ms), 1), bisect.bisect_right(self.times, t_ms + gap_ms))

    def before(self, k: int) -> TrackEnds:
        return self._ends(0, k - 1, self.widest_before[k - 1])

    def starting(self, k: int) -> TrackEnds:
        return self._ends(k, -1, self.widest_from[k])

    def _ends(self, first: int, last: int, widest: float) -> TrackEnds:
        boxes, pans = self.segment.boxes, self.segment.pans
        return TrackEnds(
            self.segment.cls, boxes[first], boxes[last], widest, (pans[first], pans[last]) if pans else STILL
        )
