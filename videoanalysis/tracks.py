"""Cross-chunk track stitching.

Every chunk runs its own tracker, and Ultralytics track ids restart in each process (ultralytics issue 11867), so
the same object gets a new id in every chunk it crosses. Neighbouring chunks analyse the same overlap frames; a
track of chunk i-1 and a track of chunk i that cover the same object there have near-identical boxes on those
frames. This module matches them by box IoU and merges the matches into one object per physical object.

An object hidden for longer than the tracker keeps a lost track comes back as a new track, in the same chunk or a
later one; `link_across_gaps` then joins the two where the first one's motion carries it (`videoanalysis.motion`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import lap
import numpy as np

from videoanalysis.contracts import Box, ChunkResult, TrackSegment
from videoanalysis.motion import gap_links, within_reach
from videoanalysis.regions import sighting

MIN_IOU = 0.5
"""Mean IoU over the common frames a pair needs to be merged: the two trackers saw the same decoded frames, so a
true pair scores close to 1 and neighbours that merely touch score well below."""

MIN_COMMON_FRAMES = 1
"""Common overlap frames a pair needs; with sparse sampling the overlap may hold a single sampled frame."""

_NO_PAIR_COST = 2.0
"""Cost of a pair that may not match; above any cost limit (at most 1), so the solver leaves both unmatched."""


@dataclass(frozen=True)
class StitchedObject:
    """One physical object: the merged segments of consecutive chunks."""

    cls: str  # the class of most of its core frames (`_class_of`)
    first_ms: int
    last_ms: int
    chunks: tuple[int, ...]
    hits: int  # analysed frames it was tracked in, each frame once (core frames only)
    counted: bool  # tracked long enough to count (see `stitch`'s min_hits)
    best: tuple[int, int] | None = None  # (chunk, segment id) of the segment whose thumbnail is the most confident
    # Its segments in time order (by chunk, then start): the summary joins their line traces as one pass would.
    segments: tuple[TrackSegment, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class StitchResult:
    objects: list[StitchedObject]

    @property
    def unique(self) -> dict[str, int]:
        """Distinct counted objects per class, the headline count."""
        return dict(sorted(Counter(obj.cls for obj in self.objects if obj.counted).items()))


def mean_iou(a: Mapping[int, Box], b: Mapping[int, Box], min_common_frames: int = MIN_COMMON_FRAMES) -> float | None:
    """Mean box IoU over the frames both tracks have; None when they share fewer than min_common_frames."""
    common = sorted(a.keys() & b.keys())
    if not common or len(common) < min_common_frames:
        return None
    boxes_a = np.array([a[t] for t in common], dtype=np.float64)
    boxes_b = np.array([b[t] for t in common], dtype=np.float64)
    left_top = np.maximum(boxes_a[:, :2], boxes_b[:, :2])
    right_bottom = np.minimum(boxes_a[:, 2:], boxes_b[:, 2:])
    inter = np.prod(np.clip(right_bottom - left_top, 0.0, None), axis=1)
    area_a = np.prod(np.clip(boxes_a[:, 2:] - boxes_a[:, :2], 0.0, None), axis=1)
    area_b = np.prod(np.clip(boxes_b[:, 2:] - boxes_b[:, :2], 0.0, None), axis=1)
    union = area_a + area_b - inter
    iou = np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)
    return float(iou.mean())


def _match_boundary(
    previous: list[TrackSegment], current: list[TrackSegment], min_iou: float, min_common_frames: int
) -> list[tuple[TrackSegment, TrackSegment]]:
    """Optimal one-to-one matching of two neighbouring chunks' segments by their boxes alone.

    Optimal rather than greedy: two objects side by side can make one cross pair score highest, and taking it first
    would leave the other object unmatched and counted twice. Classes are not compared: the boxes on shared frames
    are what identifies an object, and each tracker names a segment's class from the detections it matched, which
    two trackers may match differently.
    """
    if not previous or not current:
        return []
    ious = np.full((len(previous), len(current)), -1.0)
    for i, a in enumerate(previous):
        for j, b in enumerate(current):
            score = mean_iou(a.boxes, b.boxes, min_common_frames)
            if score is not None:
                ious[i, j] = score
    cost = np.where(ious >= min_iou, 1.0 - ious, _NO_PAIR_COST)
    # The small margin keeps a pair scoring exactly min_iou: lap breaks the tie with "unmatched" otherwise.
    _, row_to_col, _ = lap.lapjv(cost, extend_cost=True, cost_limit=1.0 - min_iou + 1e-9)
    return [(previous[i], current[j]) for i, j in enumerate(row_to_col) if j >= 0 and ious[i, j] >= min_iou]


def best_thumbnail(members: Sequence[TrackSegment]) -> tuple[int, int] | None:
    """(chunk, segment id) of the segment with the most confident crop: segments are merged only here, so the best
    frame of an object is chosen here and not per chunk. Ties go to the earliest chunk; None when no segment has one."""
    cropped = [s for s in members if s.best_conf is not None]
    if not cropped:
        return None
    best = max(cropped, key=lambda s: (s.best_conf, -s.chunk, -s.id))
    return best.chunk, best.id


def stitch(
    chunks: Sequence[ChunkResult],
    *,
    min_iou: float = MIN_IOU,
    min_common_frames: int = MIN_COMMON_FRAMES,
    min_hits: int = 1,
    link_gap_ms: int = 0,
    frame_size: tuple[int, int] | None = None,
    edges_ms: tuple[int, int] | None = None,
) -> StitchResult:
    """Merge the tracks of all chunk results into objects; an object counts if tracked in >= min_hits frames.

    min_hits suppresses the fragments a tracker leaves behind (a false positive seen twice, the stub of an id
    switch in an occlusion), which would otherwise each count as an object. An object the video's start or end cut
    short could not be seen that long, so it counts from half as many: one seen before `edges_ms[0]` or from
    `edges_ms[1]` on (the video's first and last sampling intervals).

    A segment with core_hits == 0 lies only in its chunk's overlap head, whose frames the previous chunk owns and
    tracked itself, so it is dropped. Only chunks with consecutive indexes that both succeeded are matched: a
    failed or missing chunk breaks the chain, and an object crossing it is counted on each side.

    Then objects out of sight for at most `link_gap_ms` are linked (`link_across_gaps`), so that an object hidden
    behind something for longer than the tracker keeps a lost track counts once; with the video's `frame_size`
    (width, height), one that left the view through its border is not.
    """
    if not 0.0 <= min_iou <= 1.0:
        raise ValueError(f"min_iou must be in [0, 1], got {min_iou}")
    ok_chunks = sorted((c for c in chunks if c.status == "ok"), key=lambda c: c.index)
    segments = {c.index: [seg for seg in c.tracks if seg.core_hits > 0] for c in ok_chunks}
    by_key = {(seg.chunk, seg.id): seg for segs in segments.values() for seg in segs}
    merged = _Groups(by_key)
    for prev_index, index in pairwise(segments):
        if index != prev_index + 1:
            continue
        for a, b in _match_boundary(segments[prev_index], segments[index], min_iou, min_common_frames):
            merged.union((a.chunk, a.id), (b.chunk, b.id))
    seamed = [[by_key[key] for key in group] for group in merged.groups()]
    linked = _Groups(range(len(seamed)))
    for earlier, later in link_across_gaps(seamed, link_gap_ms, frame_size):
        linked.union(earlier, later)
    objects = [_stitched([seg for k in group for seg in seamed[k]], min_hits, edges_ms) for group in linked.groups()]
    objects.sort(key=lambda o: (o.first_ms, o.cls, o.chunks))
    return StitchResult(objects=objects)


LINK_TOLERANCE = 0.5
"""How far, in box sizes (times ``0.5 + gap in seconds / 2``, `motion.within_reach`), a track may begin from where an
earlier one's motion carries it to be taken for the same object. Chosen on the evaluation's tuning scenes (`make
eval`): from 0.25 to 0.5 the error was nearly the same there; looser tolerances join different objects."""

SPEED_CHANGE = 0.5
"""How much slower or faster than its average an object may have moved while out of sight, as a share of that speed
(`motion.miss`): objects that stop, start or speed up behind something were counted twice at a constant speed.
Chosen on the tuning scenes with `bench.eval_restitch`: 0.25 to 0.5 gave the least error, 0.75 and 1 more."""


EDGE_MARGIN_PX = 2.0
"""A box this close to the frame's border touches it: detections are clipped to the frame."""


def link_across_gaps(
    objects: Sequence[Sequence[TrackSegment]], gap_ms: int, frame_size: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """(earlier, later) pairs of objects, each given by its segments, that are one object seen twice: the later one,
    of the same class, begins at most `gap_ms` after the earlier one's last core frame, where the earlier one's
    motion from its first core frame to its last carries it (`videoanalysis.motion`).

    An object that left the view (`left_view`, given the frame's size) ends no link: what comes in there next is
    another object, as such links mostly were on the evaluation's tuning scenes (README, Counting you can trust).
    """
    firsts = [_core_frame(members, last=False) for members in objects]
    lasts = [_core_frame(members, last=True) for members in objects]
    classes = [_class_of(members) for members in objects]

    def candidate(i: int, j: int) -> float | None:
        first, last, later = firsts[i], lasts[i], firsts[j]
        if classes[i] != classes[j] or first is None or last is None or later is None:
            return None
        if frame_size is not None and left_view(first[1], last[1], frame_size):
            return None
        return within_reach(sighting(*first), sighting(*last), sighting(*later), LINK_TOLERANCE, SPEED_CHANGE)

    end_times = [None if last is None else last[0] for last in lasts]
    start_times = [None if first is None else first[0] for first in firsts]
    return gap_links(end_times, start_times, gap_ms, candidate)


def left_view(first: Box, last: Box, frame_size: tuple[int, int]) -> bool:
    """Whether an object seen from box `first` to box `last` left the view: `last` touches the border it was heading
    for, the one that its motion, continued from the centre of `last`, reaches first.

    Only that border: a walker near the camera whose feet the bottom border cuts off, walking along it, drifts down as
    the cut box grows or shrinks, yet heads for a side border.
    """
    width, height = frame_size
    x, y = (last[0] + last[2]) / 2, (last[1] + last[3]) / 2
    dx = x - (first[0] + first[2]) / 2
    dy = y - (first[1] + first[3]) / 2
    ahead = []  # (how far along the motion, whether `last` touches that border)
    if dx < 0:
        ahead.append((x / -dx, last[0] <= EDGE_MARGIN_PX))
    if dx > 0:
        ahead.append(((width - x) / dx, last[2] >= width - EDGE_MARGIN_PX))
    if dy < 0:
        ahead.append((y / -dy, last[1] <= EDGE_MARGIN_PX))
    if dy > 0:
        ahead.append(((height - y) / dy, last[3] >= height - EDGE_MARGIN_PX))
    return bool(ahead) and min(ahead)[1]


def _core_frame(members: Sequence[TrackSegment], *, last: bool) -> tuple[int, Box] | None:
    """The object's first (or last) core frame, (t_ms, box); None for segments stored without them."""
    seen = [seg.last_core if last else seg.first_core for seg in members]
    if not seen or any(s is None for s in seen):
        return None
    return (max if last else min)((s for s in seen if s is not None), key=lambda s: s[0])


def _class_of(members: Sequence[TrackSegment]) -> str:
    """The class of most of its core frames; a tie goes to the class it was first seen as, if tied, else by name.

    Its segments hold one class each, but stitching matches neighbouring chunks' segments by their boxes alone, and
    where a fresh tracker at a seam first sees an object is an accident of where the seam falls. Every core frame is
    owned by one chunk, so the votes are the same whatever the chunking.
    """
    votes: Counter[str] = Counter()
    for segment in members:
        votes[segment.cls] += segment.core_hits
    first = min(members, key=lambda s: (s.first_ms, s.chunk)).cls
    most = max(votes.values(), default=0)
    return max(votes, key=lambda name: (votes[name] == most, name == first, name), default=first)


def hits_needed(min_hits: int, *, cut_short: bool) -> int:
    """The analysed frames an object needs to count: half of `min_hits` (rounded up) when the video cut it short."""
    return (min_hits + 1) // 2 if cut_short else min_hits


def _cut_short(members: Sequence[TrackSegment], edges_ms: tuple[int, int] | None) -> bool:
    """Whether the object was seen in the video's first or last sampling interval (its core frames)."""
    if edges_ms is None:
        return False
    first, last = _core_frame(members, last=False), _core_frame(members, last=True)
    return (first is not None and first[0] < edges_ms[0]) or (last is not None and last[0] >= edges_ms[1])


def _stitched(members: list[TrackSegment], min_hits: int, edges_ms: tuple[int, int] | None) -> StitchedObject:
    members.sort(key=lambda s: (s.chunk, s.first_ms))
    hits = sum(s.core_hits for s in members)
    return StitchedObject(
        cls=_class_of(members),
        first_ms=min(s.first_ms for s in members),
        last_ms=max(s.last_ms for s in members),
        chunks=tuple(sorted({s.chunk for s in members})),
        hits=hits,
        counted=hits >= hits_needed(min_hits, cut_short=_cut_short(members, edges_ms)),
        best=best_thumbnail(members),
        segments=tuple(members),
    )


class _Groups:
    """Union-find over hashable keys; `groups` lists each group's keys in the order the keys were given."""

    def __init__(self, keys: Iterable[Hashable]) -> None:
        self._parent: dict[Hashable, Hashable] = {key: key for key in keys}

    def _find(self, key: Hashable) -> Hashable:
        while self._parent[key] != key:
            self._parent[key] = self._parent[self._parent[key]]
            key = self._parent[key]
        return key

    def union(self, into: Hashable, key: Hashable) -> None:
        self._parent[self._find(key)] = self._find(into)

    def groups(self) -> list[list[Any]]:
        found: dict[Hashable, list[Any]] = defaultdict(list)
        for key in self._parent:
            found[self._find(key)].append(key)
        return list(found.values())
