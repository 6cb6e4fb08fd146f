"""Objects from the video's tracks: each segment of a track is one, and a track seen again joins its object.

The fan-in's tracking pass (`videoanalysis.tracking.video_pass`) gives one track per object the tracker kept; each
class a track takes is a segment of its own (`TrackSegment`). An object hidden for longer than the tracker keeps a
lost track comes back as a new track; `link_across_gaps` then joins the two where the first one's motion carries it
(`videoanalysis.tracking.gaps`).
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np

from videoanalysis.regions import Box, LineTrace, sighting
from videoanalysis.tracking.borders import left_view
from videoanalysis.tracking.gaps import Point, Sighting, gap_links, moved_against, within_reach

STILL: tuple[Point, Point] = ((0.0, 0.0), (0.0, 0.0))
"""The camera's pans at a segment's first and last frames when it did not move (`TrackEnds.pans`)."""


@dataclass(frozen=True)
class TrackSegment:
    """The frames of one class of one track: a track that goes on as another class has mostly switched to another
    object (a car hidden behind a bike, then the bike), since the detector names a box's class far more reliably than
    a tracker keeps an id through an occlusion. So each segment is an object of its own until linked to another.

    `first` and `last` are its first and last frames, (t_ms, box), where linking across gaps looks; `hits` the frames
    it was tracked in, and `boxes` its box in each of them, for checking against a truth (`bench.eval_causes`).
    `thumbnail` is the (chunk, crop id) of the most confident crop of its detections that a chunk kept, and
    `thumbnail_conf` that crop's confidence. `lines` holds its trace of each counting line (lines it was
    never clearly on a side of are left out), `zones` the zones it was inside in at least one frame. `follows` is the
    id of the segment its track was cut from where the track seemed to take over another object
    (`videoanalysis.tracking.switches`): linking joins the two back unless another segment continues this one.
    `pans` holds, for each of its boxes, how far the camera had panned by then since its tracking pass began (the
    offset from the box's frame to the pass's first; empty for a camera that never moved).
    """

    id: int
    cls: str
    first: tuple[int, Box]
    last: tuple[int, Box]
    hits: int
    thumbnail: tuple[int, int] | None = None
    thumbnail_conf: float | None = None
    lines: Mapping[str, LineTrace] = field(default_factory=dict)
    zones: tuple[str, ...] = ()
    boxes: tuple[tuple[int, Box], ...] = field(default=(), compare=False, repr=False)
    follows: int | None = None
    pans: tuple[Point, ...] = field(default=(), compare=False, repr=False)

    @property
    def first_ms(self) -> int:
        return self.first[0]

    @property
    def last_ms(self) -> int:
        return self.last[0]

    @cached_property
    def ends(self) -> TrackEnds:
        """What linking reads of it."""
        widest = max((box[2] - box[0] for _, box in self.boxes), default=0.0)
        return TrackEnds(self.cls, self.first, self.last, widest, (self.pans[0], self.pans[-1]) if self.pans else STILL)


@dataclass(frozen=True)
class TrackEnds:
    """What linking reads of a segment: its class, its first and last frames, the width of its widest box (the most
    of its object it showed, `partly_hidden`), and the camera's pan at its first and last frames
    (`TrackSegment.pans`)."""

    cls: str
    first: tuple[int, Box]
    last: tuple[int, Box]
    widest: float
    pans: tuple[Point, Point] = STILL


@dataclass(frozen=True)
class TrackedObject:
    """One physical object: the segments of its tracks."""

    cls: str
    first_ms: int
    last_ms: int
    hits: int  # analysed frames it was tracked in
    counted: bool  # tracked long enough to count (see `join_segments`'s min_hits)
    best: tuple[int, int] | None = None  # (chunk, crop id) of its most confident thumbnail
    # Its segments in time order: the summary joins their line traces.
    segments: tuple[TrackSegment, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class VideoObjects:
    objects: list[TrackedObject]

    @property
    def unique(self) -> dict[str, int]:
        """Distinct counted objects per class, the headline count."""
        return dict(sorted(Counter(obj.cls for obj in self.objects if obj.counted).items()))


def most_confident(crops: Iterable[tuple[float, tuple[int, int]]]) -> tuple[float, tuple[int, int]] | None:
    """The most confident of (confidence, (chunk, crop id)) crops; a tie goes to the earliest chunk, then crop."""
    return max(crops, key=lambda crop: (crop[0], -crop[1][0], -crop[1][1]), default=None)


def best_thumbnail(members: Sequence[TrackSegment]) -> tuple[int, int] | None:
    """The most confident thumbnail of an object's segments; None when none has one."""
    best = most_confident(
        (s.thumbnail_conf, s.thumbnail) for s in members if s.thumbnail is not None and s.thumbnail_conf is not None
    )
    return None if best is None else best[1]


def join_segments(
    segments: Sequence[TrackSegment],
    *,
    min_hits: int = 1,
    link_gap_ms: int = 0,
    frame_size: tuple[int, int] | None = None,
    edges_ms: tuple[int, int] | None = None,
) -> VideoObjects:
    """Join the segments into objects; an object counts if tracked in >= min_hits frames.

    Objects out of sight for at most `link_gap_ms` are linked (`link_across_gaps`), so that an object hidden behind
    something for longer than the tracker keeps a lost track counts once; with the video's `frame_size` (width,
    height), one that left the view through its border is not.

    min_hits suppresses the fragments a tracker leaves behind (a false positive seen twice, the stub of an id switch
    in an occlusion, a class a track took for a frame or two), which would otherwise each count as an object. An
    object the video's start or end cut short could not be seen that long, so it counts from half as many: one seen
    before `edges_ms[0]` or from `edges_ms[1]` on (the video's first and last sampling intervals).
    """
    linked = _Groups(range(len(segments)))
    for earlier, later in link_across_gaps(segments, link_gap_ms, frame_size):
        linked.union(earlier, later)
    objects = [_joined([segments[k] for k in group], min_hits, edges_ms) for group in linked.groups()]
    objects.sort(key=lambda o: (o.first_ms, o.cls, o.segments[0].id))
    return VideoObjects(objects=objects)


LINK_TOLERANCE = 0.75
"""How far, in box sizes (times ``0.5 + gap in seconds / 2``, `gaps.within_reach`), a track may begin from where an
earlier one's motion carries it to be taken for the same object. Chosen on the evaluation's tuning scenes of four
shapes, 60 s to 10 min, with the rules that keep other objects apart (`AGAINST_MOVE`, `borders.turns`): 0.625 to 1
gave nearly the same error there, 0.5 split more objects (docs/decisions/2026-12-07-long-scenes.md)."""

SPEED_CHANGE = 0.5
"""How much slower or faster than its average an object may have moved while out of sight, as a share of that speed
(`gaps.miss`): objects that stop, start or speed up behind something were counted twice at a constant speed.
Chosen on the tuning scenes with `bench.eval_refanin`: 0.25 to 0.5 gave the least error, 0.75 and 1 more."""

AGAINST_MOVE = 0.5
"""How far, in box sizes, two tracks must each have moved for a later one going against the earlier one's direction
to be another object (`gaps.moved_against`): on a two-way road, a car that comes in where another left. From 0.25 to
1 the tuning scenes' error was the same."""


def link_across_gaps(
    segments: Sequence[TrackSegment], gap_ms: int, frame_size: tuple[int, int] | None = None
) -> list[tuple[int, int]]:
    """(earlier, later) pairs of segments that are one object seen twice: the later one begins at most `gap_ms` after
    the earlier one's last frame, and `continues` it. A segment seen in one frame, itself continuing another, is carried
    by the motion from that one's first frame. Last, a segment cut from its track where the track seemed to take over
    another object (`follows`) is joined back to the part before it where neither was linked otherwise; and segments
    of something that stayed put are joined however long apart (`still_links`).
    """
    end_times = [segment.last_ms for segment in segments]
    start_times = [segment.first_ms for segment in segments]
    links = gap_links(
        end_times, start_times, gap_ms, lambda i, j: continues(segments[i].ends, segments[j].ends, frame_size)
    )
    continued = {later: earlier for earlier, later in links}
    ended, began = set(continued.values()), set(continued)

    def carried(i: int, j: int) -> float | None:
        """A segment seen in one frame has no motion of its own: the one it continues lends it its first frame."""
        if i in ended or j in began or i not in continued or segments[i].first_ms < segments[i].last_ms:
            return None
        return continues(segments[i].ends, segments[j].ends, frame_size, since=segments[continued[i]].ends)

    links += gap_links(end_times, start_times, gap_ms, carried)
    ended, began = {i for i, _ in links}, {j for _, j in links}
    position = {segment.id: k for k, segment in enumerate(segments)}
    for j, segment in enumerate(segments):
        i = None if segment.follows is None else position.get(segment.follows)
        if i is not None and i not in ended and j not in began:
            links.append((i, j))
    if gap_ms > 0:
        links += still_links(segments)
    return links


STILL_SECONDS = 5.0
"""How long a segment must have stood without moving where it ends or begins (`still_box`) to be taken for something
that stays put: longer than most pauses of a walker or a car that stops, as short as a background feature's tracks
between losses. On the tuning scenes with parked objects, 4 to 10 s and the other constants' values nearby counted
about as well, and looser ones joined other objects (docs/decisions/2026-12-07-things-that-stay-put.md)."""

STILL_MOVE = 0.5
"""How far, in box widths across and heights down, a still stretch's box centres may lie from its median box's."""

STILL_OVERLAP = 0.5
"""How much (intersection over union) two still stretches' median boxes must overlap to be one thing
(`still_links`)."""


def still_links(segments: Sequence[TrackSegment]) -> list[tuple[int, int]]:
    """(earlier, later) pairs of segments that are one thing that stayed put: the earlier one still where it ends and
    the later one still where it begins (`still_box`), of one class, at the same place, however long apart. A parked
    car or a standing walker is tracked again each time the tracker lost it behind something passing, and so is a
    background feature that the detector takes for an object now and then (a patch of wall for a walker); linking by
    motion gives up after `link_gap_ms`."""
    ends = {k: box for k, segment in enumerate(segments) if (box := still_box(segment, at_end=True)) is not None}
    starts = [(k, box) for k, segment in enumerate(segments) if (box := still_box(segment, at_end=False)) is not None]
    links = []
    for j, box in starts:
        earlier = [
            (segments[i].last_ms, i)
            for i, end in ends.items()
            if segments[i].cls == segments[j].cls
            and segments[i].last_ms < segments[j].first_ms
            and _overlap(end, box) >= STILL_OVERLAP
        ]
        if earlier:
            links.append((max(earlier)[1], j))
    return links


def still_box(segment: TrackSegment, at_end: bool) -> Box | None:
    """The median box, where the scene has it (the camera's pan taken out), of a segment's last (`at_end`) or first
    `STILL_SECONDS` when its box centres all lie within `STILL_MOVE` of that box's then; None where it moved then or
    was tracked for less."""
    if segment.last_ms - segment.first_ms < STILL_SECONDS * 1000 or not segment.boxes:
        return None
    times = np.asarray([t for t, _ in segment.boxes], dtype=np.float64)
    boxes = np.asarray([box for _, box in segment.boxes], dtype=np.float64)
    if segment.pans:
        boxes += np.tile(np.asarray(segment.pans, dtype=np.float64), 2)
    window = STILL_SECONDS * 1000
    boxes = boxes[times >= times[-1] - window] if at_end else boxes[times <= times[0] + window]
    median = np.median(boxes, axis=0)
    size = median[2:] - median[:2]
    moved = np.abs((boxes[:, :2] + boxes[:, 2:]) - (median[:2] + median[2:])) / 2
    if (moved > STILL_MOVE * size).any():
        return None
    x1, y1, x2, y2 = (float(v) for v in median)
    return (x1, y1, x2, y2)


def _overlap(a: Box, b: Box) -> float:
    """Intersection over union of two boxes."""
    width = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    height = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - width * height
    return width * height / union if union > 0 else 0.0


def continues(
    earlier: TrackEnds,
    later: TrackEnds,
    frame_size: tuple[int, int] | None = None,
    since: TrackEnds | None = None,
) -> float | None:
    """How far, in box sizes, `later` begins from where the motion of `earlier` (from its first frame, or from the
    first frame of `since`, to its last) carries it (`gaps.within_reach`), give or take what a box narrower than its
    segment's widest hides (`partly_hidden`); None where it is not that object seen again: another class, out of
    reach, or going against it (`gaps.moved_against`). Positions are the scene's: the camera's pan is taken out.

    Given the frame's size, an object that left the view (`left_view`) continues nothing either, as such links mostly
    joined two objects on the evaluation's tuning scenes (docs/decisions/2026-12-01-cut-short-border-speed.md): what
    comes in there next is another object. Unless the camera panned on since (`view_moved`): then the view came back
    to it.
    """
    start = earlier if since is None else since
    if earlier.cls != later.cls:
        return None
    left = frame_size is not None and left_view(start.first[1], earlier.last[1], frame_size)
    if left and not view_moved(earlier, later):
        return None
    first = partly_hidden(*start.first, start.widest, start.pans[0])
    last = partly_hidden(*earlier.last, earlier.widest, earlier.pans[1])
    begins = partly_hidden(*later.first, later.widest, later.pans[0])
    ends = partly_hidden(*later.last, later.widest, later.pans[1])
    if moved_against((first, last), (begins, ends), AGAINST_MOVE):
        return None
    return within_reach(first, last, begins, LINK_TOLERANCE, SPEED_CHANGE)


VIEW_MOVED = 1.0
"""How far, in widths of an object's last box, the camera must have panned between that box and a later track's first
for the object to come back into view although it left it (`continues`)."""


def view_moved(earlier: TrackEnds, later: TrackEnds) -> bool:
    """Whether the camera panned at least `VIEW_MOVED` widths of `earlier`'s last box from it to `later`'s first."""
    (x0, y0), (x1, y1) = earlier.pans[1], later.pans[0]
    box = earlier.last[1]
    return math.hypot(x1 - x0, y1 - y0) >= VIEW_MOVED * (box[2] - box[0])


def partly_hidden(t_ms: int, box: Box, widest: float, pan: Point = (0.0, 0.0)) -> Sighting:
    """The sighting of one of a segment's boxes where the scene has it (the camera's `pan` by then taken out), with
    how far its point may lie from its object's: a box narrower than `widest`, its segment's widest, shows only part
    of the object (the rest behind a pillar, another object or the frame's border), so its centre may be off by up to
    half the difference, either way."""
    seen = sighting(t_ms, box)
    point = seen.point[0] + pan[0], seen.point[1] + pan[1]
    return replace(seen, point=point, hidden=max(widest - (box[2] - box[0]), 0.0) / 2)


def hits_needed(min_hits: int, *, cut_short: bool) -> int:
    """The analysed frames an object needs to count: half of `min_hits` (rounded up) when the video cut it short."""
    return (min_hits + 1) // 2 if cut_short else min_hits


def _cut_short(members: Sequence[TrackSegment], edges_ms: tuple[int, int] | None) -> bool:
    """Whether the object was seen in the video's first or last sampling interval."""
    if edges_ms is None:
        return False
    return min(s.first_ms for s in members) < edges_ms[0] or max(s.last_ms for s in members) >= edges_ms[1]


def _joined(members: list[TrackSegment], min_hits: int, edges_ms: tuple[int, int] | None) -> TrackedObject:
    members.sort(key=lambda s: (s.first_ms, s.id))
    hits = sum(s.hits for s in members)
    return TrackedObject(
        cls=members[0].cls,  # links join one class only
        first_ms=min(s.first_ms for s in members),
        last_ms=max(s.last_ms for s in members),
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
