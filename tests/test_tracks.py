"""Cross-chunk stitching on hand-made chunk results: 10 s chunks, 1 s overlap, overlap frames sampled at 2 fps."""

from __future__ import annotations

import json
from typing import Any

import pytest

from videoanalysis.contracts import ChunkResult, TrackSegment
from videoanalysis.tracks import StitchedObject, left_view, mean_iou, stitch

CHUNK_MS = 10_000
OVERLAP_MS = 1_000


def overlap_times(boundary_ms: int) -> list[int]:
    """Sampled frames of the overlap before a chunk boundary (the tail of one chunk, the head of the next)."""
    return [boundary_ms - OVERLAP_MS, boundary_ms - OVERLAP_MS // 2]


def box_at(x: float, y: float = 100.0, w: float = 40.0, h: float = 30.0) -> list[float]:
    return [x, y, x + w, y + h]


def track(
    track_id: int,
    boxes: dict[int, list[float]],
    *,
    cls: str = "car",
    first_ms: int | None = None,
    last_ms: int | None = None,
    core_hits: int = 10,
    best_conf: float | None = None,
) -> dict[str, Any]:
    """One entry of a chunk result's "tracks", keys as strings the way JSON delivers them."""
    times = sorted(boxes)
    return {
        "id": track_id,
        "cls": cls,
        "first_ms": times[0] if first_ms is None else first_ms,
        "last_ms": times[-1] if last_ms is None else last_ms,
        "core_hits": core_hits,
        "boxes": {str(t): b for t, b in boxes.items()},
        "best_conf": best_conf,
    }


def chunk(index: int, tracks: list[dict[str, Any]], *, status: str = "ok") -> ChunkResult:
    """A chunk result parsed from its stored JSON form, as `summarize` reads it."""
    start_ms = index * CHUNK_MS
    return ChunkResult.from_dict(
        {
            "index": index,
            "status": status,
            "error": None if status == "ok" else "decode failed",
            "start_ms": start_ms,
            "end_ms": start_ms + CHUNK_MS,
            "window_start_ms": max(0, start_ms - OVERLAP_MS),
            "tracks": tracks,
        }
    )


def moving(x0: float, times: list[int], speed: float = 20.0, **box: float) -> dict[int, list[float]]:
    """Boxes of an object moving right at `speed` px/s, identical in every chunk that sees the frame."""
    return {t: box_at(x0 + speed * t / 1000, **box) for t in times}


def test_object_crossing_one_boundary_is_counted_once() -> None:
    tail = overlap_times(CHUNK_MS)
    chunks = [
        chunk(0, [track(3, moving(0, tail), first_ms=4000)]),
        chunk(1, [track(1, moving(0, tail), last_ms=15000)]),
    ]

    result = stitch(chunks)

    assert result.unique == {"car": 1}
    assert result.objects == [
        StitchedObject(cls="car", first_ms=4000, last_ms=15000, chunks=(0, 1), hits=20, counted=True)
    ]


def test_object_crossing_three_chunks_is_counted_once() -> None:
    t1, t2 = overlap_times(CHUNK_MS), overlap_times(2 * CHUNK_MS)
    chunks = [
        chunk(0, [track(1, moving(0, t1), first_ms=5000)]),
        chunk(1, [track(1, moving(0, t1 + t2), first_ms=9000, last_ms=19500)]),
        chunk(2, [track(4, moving(0, t2 + overlap_times(3 * CHUNK_MS)), first_ms=19000)]),
        chunk(3, [track(2, moving(0, overlap_times(3 * CHUNK_MS)), last_ms=31000)]),
    ]

    result = stitch(chunks)

    assert result.unique == {"car": 1}
    assert result.objects[0].chunks == (0, 1, 2, 3)
    assert (result.objects[0].first_ms, result.objects[0].last_ms) == (5000, 31000)
    assert [(s.chunk, s.id) for s in result.objects[0].segments] == [(0, 1), (1, 1), (2, 4), (3, 2)]


def test_two_objects_side_by_side_match_optimally_where_greedy_would_fail() -> None:
    # Chunk 1's tracker placed its boxes a little apart from chunk 0's: the highest-scoring pair (a0, b1) is a cross
    # pair, and taking it first would leave b0 and a1 (IoU < 0.5) unmatched: 3 objects instead of 2.
    times = overlap_times(CHUNK_MS)
    a0, b0 = {t: box_at(0, w=20, h=10) for t in times}, {t: box_at(5, w=20, h=10) for t in times}
    a1, b1 = {t: box_at(-3, w=20, h=10) for t in times}, {t: box_at(2, w=20, h=10) for t in times}
    assert mean_iou(a0, b1) > mean_iou(a0, a1) > 0.5
    assert mean_iou(b0, b1) > 0.5 > mean_iou(b0, a1)
    chunks = [
        chunk(0, [track(1, a0, first_ms=1000), track(2, b0, first_ms=2000)]),
        chunk(1, [track(1, b1, last_ms=16000), track(2, a1, last_ms=15000)]),
    ]

    result = stitch(chunks)

    assert result.unique == {"car": 2}
    assert {(o.first_ms, o.last_ms) for o in result.objects} == {(1000, 15000), (2000, 16000)}


def test_a_fresh_tracker_seeing_another_class_first_is_the_same_object() -> None:
    # Chunk 1's tracker first saw the object as a truck; the boxes say it is the car chunk 0 has followed since
    # it appeared, and one pass would have called it a car.
    tail = overlap_times(CHUNK_MS)
    chunks = [
        chunk(0, [track(1, moving(0, tail), cls="car", first_ms=2000)]),
        chunk(1, [track(1, moving(0, tail), cls="truck")]),
    ]

    assert stitch(chunks).unique == {"car": 1}


def test_class_is_the_one_of_most_core_frames() -> None:
    # The object came in at the end of chunk 0, where the detector called it a truck; chunk 1 saw a car for longer.
    tail = overlap_times(CHUNK_MS)
    chunks = [
        chunk(0, [track(1, moving(0, tail), cls="truck", core_hits=2)]),
        chunk(1, [track(1, moving(0, tail), cls="car", core_hits=8)]),
    ]

    assert stitch(chunks).unique == {"car": 1}


def test_a_class_tie_goes_to_the_class_seen_first() -> None:
    # Chunk 0's tracker confirmed the object later than chunk 1's fresh tracker did, on the shared frames.
    tail = overlap_times(CHUNK_MS)
    boxes = moving(0, tail)
    chunks = [
        chunk(0, [track(1, {tail[1]: boxes[tail[1]]}, cls="truck", core_hits=3)]),
        chunk(1, [track(1, boxes, cls="car", core_hits=3)]),
    ]

    assert stitch(chunks).unique == {"car": 1}


def test_segment_without_core_hits_is_dropped() -> None:
    # Chunk 1's tracker saw a leaving object only in its overlap head, with a box chunk 0's track does not match:
    # chunk 0 owns those frames and already counted the object.
    tail = overlap_times(CHUNK_MS)
    chunks = [
        chunk(0, [track(1, moving(0, tail))]),
        chunk(1, [track(5, moving(300, tail), core_hits=0)]),
    ]

    result = stitch(chunks)

    assert result.unique == {"car": 1}
    assert result.objects[0].chunks == (0,)


def test_failed_chunk_breaks_the_chain() -> None:
    # Boxes identical on both sides of the failed chunk must still not merge: chunks 0 and 2 share no frames.
    same = moving(0, overlap_times(CHUNK_MS))
    chunks = [
        chunk(0, [track(1, same)]),
        chunk(1, [track(1, same)], status="failed"),
        chunk(2, [track(1, same)]),
    ]

    result = stitch(chunks)

    assert result.unique == {"car": 2}
    assert [o.chunks for o in result.objects] == [(0,), (2,)]


def test_missing_chunk_breaks_the_chain() -> None:
    same = moving(0, overlap_times(CHUNK_MS))

    assert stitch([chunk(0, [track(1, same)]), chunk(2, [track(1, same)])]).unique == {"car": 2}


def test_input_order_does_not_matter() -> None:
    tail = overlap_times(CHUNK_MS)
    chunks = [chunk(1, [track(1, moving(0, tail), last_ms=12000)]), chunk(0, [track(9, moving(0, tail))])]

    assert stitch(chunks).objects == [
        StitchedObject(cls="car", first_ms=9000, last_ms=12000, chunks=(0, 1), hits=20, counted=True)
    ]
    assert [s.chunk for s in stitch(chunks).objects[0].segments] == [0, 1], "its segments in chunk order"


def test_low_iou_or_no_common_frame_does_not_merge() -> None:
    t_a, t_b = overlap_times(CHUNK_MS)
    chunks = [
        chunk(0, [track(1, {t_a: box_at(0)}), track(2, {t_a: box_at(500)})]),
        chunk(1, [track(1, {t_a: box_at(25)}), track(2, {t_b: box_at(500)})]),
    ]

    assert stitch(chunks).unique == {"car": 4}


def test_pair_at_exactly_the_threshold_merges() -> None:
    t = overlap_times(CHUNK_MS)[0]
    chunks = [chunk(0, [track(1, {t: [0, 0, 10, 10]})]), chunk(1, [track(1, {t: [0, 0, 10, 5]})])]

    assert mean_iou({t: (0, 0, 10, 10)}, {t: (0, 0, 10, 5)}) == 0.5
    assert stitch(chunks, min_iou=0.5).unique == {"car": 1}
    assert stitch(chunks, min_iou=0.51).unique == {"car": 2}


def test_min_common_frames_is_enforced() -> None:
    tail = overlap_times(CHUNK_MS)
    chunks = [chunk(0, [track(1, moving(0, tail))]), chunk(1, [track(1, moving(0, tail[:1]))])]

    assert stitch(chunks, min_common_frames=2).unique == {"car": 2}
    assert stitch(chunks, min_common_frames=1).unique == {"car": 1}


def test_mean_iou_averages_common_frames_only() -> None:
    a = {1: (0.0, 0.0, 10.0, 10.0), 2: (0.0, 0.0, 10.0, 10.0), 3: (50.0, 50.0, 60.0, 60.0)}
    b = {1: (0.0, 0.0, 10.0, 10.0), 2: (0.0, 0.0, 10.0, 5.0), 4: (0.0, 0.0, 1.0, 1.0)}

    assert mean_iou(a, b) == pytest.approx(0.75)
    assert mean_iou(a, {9: (0.0, 0.0, 1.0, 1.0)}) is None
    assert mean_iou({1: (0.0, 0.0, 0.0, 0.0)}, {1: (0.0, 0.0, 0.0, 0.0)}) == 0.0


def test_segment_parses_json_round_trip() -> None:
    data = json.loads(json.dumps(track(7, {9000: [1, 2, 3, 4]}, first_ms=8000, last_ms=12000, core_hits=5)))

    seg = TrackSegment.from_dict(2, data)

    assert seg == TrackSegment(2, 7, "car", 8000, 12000, 5, {9000: (1.0, 2.0, 3.0, 4.0)})


def test_min_iou_out_of_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="min_iou"):
        stitch([], min_iou=1.5)


def test_objects_tracked_in_too_few_frames_are_not_counted() -> None:
    tail = overlap_times(CHUNK_MS)
    chunks = [
        chunk(0, [track(1, moving(0, tail), core_hits=2), track(2, moving(600, tail), core_hits=1)]),
        chunk(1, [track(4, moving(0, tail), core_hits=2)]),
    ]

    result = stitch(chunks, min_hits=3)

    assert result.unique == {"car": 1}, "a fragment seen in 1 frame does not count; 2 + 2 frames across chunks do"
    assert sorted((o.hits, o.counted) for o in result.objects) == [(1, False), (4, True)]


def test_an_object_shows_the_thumbnail_of_its_most_confident_segment() -> None:
    """Segments are merged only here, so the best crop of an object spanning chunks is chosen here."""
    t1, t2 = overlap_times(CHUNK_MS), overlap_times(2 * CHUNK_MS)
    chunks = [
        chunk(0, [track(3, moving(0, t1), best_conf=0.62), track(5, moving(600, t1), best_conf=0.7)]),
        chunk(1, [track(1, moving(0, t1 + t2), best_conf=0.88), track(2, moving(600, t1), best_conf=0.7)]),
        chunk(2, [track(4, moving(0, t2), best_conf=0.5), track(6, moving(300, [25_000]))]),
    ]

    bests = {obj.chunks: obj.best for obj in stitch(chunks).objects}

    assert bests == {(0, 1, 2): (1, 1), (0, 1): (0, 5), (2,): None}, "ties go to the earliest chunk; no crop, none"


# --- linking across gaps -------------------------------------------------------------------------------------------


def seen(track_id: int, frames: list[tuple[int, float]], *, cls: str = "car", y: float = 100.0) -> dict[str, Any]:
    """A track seen on core frames at (t_ms, x): its boxes, and its first and last core frames as a chunk keeps them."""
    boxes = {t: box_at(x, y) for t, x in frames}
    record = track(track_id, boxes, cls=cls, core_hits=len(frames))
    record["first_core"], record["last_core"] = ([t, boxes[t]] for t in (frames[0][0], frames[-1][0]))
    return record


LOST = [(1_000, 100.0), (2_000, 200.0), (3_000, 300.0)]  # 100 px/s; its box's diagonal is 50 px
FOUND = [(5_000, 505.0), (6_000, 605.0)]  # 2 s later, 5 px (0.1 box sizes) from where that speed carries it


@pytest.mark.parametrize(
    ("later", "gap_ms", "objects", "why"),
    [
        (seen(2, FOUND), 4_000, 1, "where its motion carries it: the same object"),
        (seen(2, FOUND), 0, 2, "linking off"),
        (seen(2, FOUND), 1_500, 2, "out of sight longer than the gap allowed"),
        (seen(2, FOUND, cls="bike"), 4_000, 2, "another class"),
        (seen(2, [(5_000, 505.0), (6_000, 605.0)], y=160.0), 4_000, 2, "60 px (1.2 box sizes) off: another object"),
        (seen(2, [(5_000, 420.0), (6_000, 470.0)]), 4_000, 1, "slowed down by 40% while hidden: the same object"),
        (seen(2, [(5_000, 330.0), (6_000, 360.0)]), 4_000, 2, "by 85%: 1.4 box sizes short of half its speed"),
        (seen(2, [(2_500, 505.0), (6_000, 605.0)]), 4_000, 2, "begins before the other ends: another object"),
    ],
)
def test_an_object_out_of_sight_is_linked_only_where_its_motion_carries_it(
    later: dict[str, Any], gap_ms: int, objects: int, why: str
) -> None:
    result = stitch([chunk(0, [seen(1, LOST), later])], min_hits=4, link_gap_ms=gap_ms)
    assert len(result.objects) == objects, why
    if objects == 1:
        (obj,) = result.objects
        assert (obj.hits, obj.counted, obj.first_ms, obj.last_ms) == (5, True, 1_000, 6_000)
        assert [s.id for s in obj.segments] == [1, 2]
    else:
        assert not any(obj.counted for obj in result.objects), "neither track is long enough alone"


SLOW = [(1_000, 290.0), (2_000, 295.0), (3_000, 300.0)]  # 5 px/s to the right; its last box ends at x = 340
BACK = [(5_000, 300.0), (6_000, 295.0)]  # 2 s later, 10 px (0.2 box sizes) short of where that speed carries it


@pytest.mark.parametrize(
    ("frame_size", "objects", "why"),
    [
        (None, 1, "the frame's size unknown: linked by motion alone"),
        ((400, 720), 1, "inside the frame: out of sight, not out of view"),
        ((340, 720), 2, "its last box touched the right border it was heading for: it left the view"),
    ],
)
def test_an_object_that_left_the_view_is_not_linked_to_what_comes_in_next(
    frame_size: tuple[int, int] | None, objects: int, why: str
) -> None:
    result = stitch([chunk(0, [seen(1, SLOW), seen(2, BACK)])], link_gap_ms=4_000, frame_size=frame_size)
    assert len(result.objects) == objects, why


@pytest.mark.parametrize(
    ("first", "last", "left"),
    [
        ((50, 50, 90, 80), (0, 60, 40, 90), True),  # out through the left border
        ((50, 50, 90, 80), (60, 0, 100, 30), True),  # the top
        ((50, 50, 90, 80), (160, 60, 200, 90), True),  # the right (frame 200 x 100)
        ((50, 50, 90, 80), (60, 70, 100, 100), True),  # the bottom
        ((0, 60, 40, 90), (50, 50, 90, 80), False),  # came in through the left border, now inside
        ((10, 60, 50, 90), (1.5, 60, 41.5, 90), True),  # within EDGE_MARGIN_PX of the border
        ((50, 70, 90, 100), (60, 70, 100, 100), False),  # along the bottom border, heading right
        ((100, 60, 140, 100), (40, 65, 80, 100), False),  # cut off by the bottom border, drifting down, heading left
        ((0, 60, 40, 90), (0, 60, 40, 90), False),  # standing at the border
    ],
)
def test_left_view_needs_a_border_the_object_was_moving_towards(
    first: tuple[float, float, float, float], last: tuple[float, float, float, float], left: bool
) -> None:
    assert left_view(first, last, (200, 100)) is left


def test_a_link_holds_across_a_seam_and_keeps_the_segments_in_time_order() -> None:
    """Seen in chunk 0 into chunk 1's overlap (stitched there), lost, then found later in chunk 1."""
    head = overlap_times(CHUNK_MS)
    before = seen(1, [(8_000, 100.0), (head[0], 200.0), (head[1], 250.0)])
    after_seam = seen(5, [(head[0], 200.0), (head[1], 250.0), (CHUNK_MS, 300.0)])
    found = seen(6, [(12_000, 500.0), (12_500, 550.0)])
    result = stitch([chunk(0, [before]), chunk(1, [after_seam, found])], link_gap_ms=4_000)
    (obj,) = result.objects
    assert [(s.chunk, s.id) for s in obj.segments] == [(0, 1), (1, 5), (1, 6)]


def test_one_track_continues_one_object_the_soonest() -> None:
    """Two tracks could continue the lost one: the sooner does, the other is a second object."""
    sooner = seen(2, [(4_000, 405.0), (5_000, 505.0)])
    result = stitch([chunk(0, [seen(1, LOST), seen(3, FOUND), sooner])], link_gap_ms=4_000)
    assert sorted([s.id for s in obj.segments] for obj in result.objects) == [[1, 2], [3]]


def test_results_stored_without_core_frames_are_not_linked() -> None:
    old = [
        {k: v for k, v in seen(i, frames).items() if k not in ("first_core", "last_core")}
        for i, frames in ((1, LOST), (2, FOUND))
    ]
    assert len(stitch([chunk(0, old)], link_gap_ms=4_000).objects) == 2


@pytest.mark.parametrize(
    ("frames", "counted", "why"),
    [
        ([(0, 100.0), (200, 120.0), (400, 140.0)], True, "seen on the video's first analysed frame: cut short"),
        ([(59_400, 100.0), (59_600, 120.0), (59_800, 140.0)], True, "seen on its last one: cut short"),
        ([(30_000, 100.0), (30_200, 120.0), (30_400, 140.0)], False, "mid-video: a fragment"),
        ([(59_600, 100.0), (59_800, 120.0)], False, "cut short, but under half of min_hits"),
    ],
)
def test_an_object_cut_short_by_the_video_counts_from_half_the_frames(
    frames: list[tuple[int, float]], counted: bool, why: str
) -> None:
    (obj,) = stitch([chunk(0, [seen(1, frames)])], min_hits=5, edges_ms=(200, 59_800)).objects
    assert obj.counted is counted, why
