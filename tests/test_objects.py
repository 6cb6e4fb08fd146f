"""Objects from hand-made track segments: fragments, thumbnails, linking across gaps, objects cut short."""

from __future__ import annotations

from dataclasses import replace

import pytest

from videoanalysis.regions import Box
from videoanalysis.tracking.objects import TrackedObject, TrackSegment, join_segments


def box_at(x: float, y: float = 100.0, w: float = 40.0, h: float = 30.0) -> Box:
    return (x, y, x + w, y + h)


def seen(
    track_id: int,
    frames: list[tuple[int, float]],
    *,
    cls: str = "car",
    y: float = 100.0,
    thumbnail: tuple[int, int] | None = None,
    conf: float | None = None,
) -> TrackSegment:
    """A segment seen on analysed frames at (t_ms, x), moving along y."""
    (t0, x0), (t1, x1) = frames[0], frames[-1]
    return TrackSegment(
        track_id, cls, (t0, box_at(x0, y)), (t1, box_at(x1, y)), len(frames), thumbnail=thumbnail, thumbnail_conf=conf
    )


def test_each_segment_is_an_object_until_linked() -> None:
    segments = [seen(1, [(1_000, 0.0), (2_000, 20.0)]), seen(2, [(1_000, 500.0), (2_000, 520.0)], cls="bike")]

    result = join_segments(segments)

    assert result.unique == {"bike": 1, "car": 1}
    assert result.objects[1] == TrackedObject(cls="car", first_ms=1_000, last_ms=2_000, hits=2, counted=True)


def test_objects_tracked_in_too_few_frames_are_not_counted() -> None:
    segments = [seen(1, [(1_000, 0.0), (1_200, 20.0), (1_400, 40.0)]), seen(2, [(5_000, 600.0)])]

    result = join_segments(segments, min_hits=3)

    assert result.unique == {"car": 1}, "a fragment seen in 1 frame does not count; 3 frames do"
    assert sorted((o.hits, o.counted) for o in result.objects) == [(1, False), (3, True)]


@pytest.mark.parametrize(
    ("lost_conf", "found_conf", "best"),
    [(0.62, 0.88, (1, 1)), (0.9, 0.88, (0, 3)), (0.7, 0.7, (0, 3))],
)
def test_an_object_shows_its_most_confident_thumbnail(
    lost_conf: float, found_conf: float, best: tuple[int, int]
) -> None:
    """Linked segments are one object: its crop is the best of theirs; a tie goes to the earliest chunk."""
    segments = [seen(1, LOST, thumbnail=(0, 3), conf=lost_conf), seen(2, FOUND, thumbnail=(1, 1), conf=found_conf)]
    (obj,) = join_segments(segments, link_gap_ms=4_000).objects
    assert obj.best == best


def test_an_object_without_a_crop_has_no_thumbnail() -> None:
    (obj,) = join_segments([seen(1, LOST)]).objects
    assert obj.best is None


# --- linking across gaps -------------------------------------------------------------------------------------------


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
        (seen(2, [(5_000, 505.0), (6_000, 455.0)]), 4_000, 2, "goes back the way it came: another object"),
        (seen(2, [(5_000, 505.0), (6_000, 495.0)]), 4_000, 1, "a box wobbling back 0.2 box sizes goes no way"),
    ],
)
def test_an_object_out_of_sight_is_linked_only_where_its_motion_carries_it(
    later: TrackSegment, gap_ms: int, objects: int, why: str
) -> None:
    result = join_segments([seen(1, LOST), later], min_hits=4, link_gap_ms=gap_ms)
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
    result = join_segments([seen(1, SLOW), seen(2, BACK)], link_gap_ms=4_000, frame_size=frame_size)
    assert len(result.objects) == objects, why


@pytest.mark.parametrize(
    ("pan", "objects", "why"),
    [
        (20.0, 2, "the camera panned half a box width since: the object left the view"),
        (60.0, 1, "it panned 1.5 box widths: the view came back to the object"),
    ],
)
def test_an_object_that_left_a_panning_view_is_linked_where_the_view_came_back_to_it(
    pan: float, objects: int, why: str
) -> None:
    """SLOW's last box touches the right border; the later track is where BACK is in the scene, seen after the camera
    panned `pan` px to the right (so `pan` px further left in the image)."""
    back = replace(seen(2, [(t_ms, x - pan) for t_ms, x in BACK]), pans=((pan, 0.0), (pan, 0.0)))
    result = join_segments([seen(1, SLOW), back], link_gap_ms=4_000, frame_size=(340, 720))
    assert len(result.objects) == objects, why


@pytest.mark.parametrize(("panned", "objects"), [(True, 1), (False, 2)])
def test_a_parked_car_the_camera_panned_past_is_linked_where_the_scene_has_it(panned: bool, objects: int) -> None:
    """The camera pans right at 100 px/s, then stops: a parked car moves left in the image, then stands. In the
    image, its motion would have carried it a box size further left by the time it is seen again; in the scene (the
    pans taken out) it never moved."""
    passing = seen(1, [(1_000, 300.0), (3_000, 100.0)])
    standing = seen(2, [(4_000, 100.0), (5_000, 100.0)])
    if panned:
        passing, standing = (
            replace(passing, pans=((0.0, 0.0), (200.0, 0.0))),
            replace(standing, pans=((200.0, 0.0),) * 2),
        )
    assert len(join_segments([passing, standing], link_gap_ms=4_000).objects) == objects


def test_one_track_continues_one_object_the_soonest() -> None:
    """Two tracks could continue the lost one: the sooner does, the other is a second object."""
    sooner = seen(2, [(4_000, 405.0), (5_000, 505.0)])
    result = join_segments([seen(1, LOST), seen(3, FOUND), sooner], link_gap_ms=4_000)
    assert sorted([s.id for s in obj.segments] for obj in result.objects) == [[1, 2], [3]]


@pytest.mark.parametrize(
    ("y", "segments", "why"),
    [
        (100.0, [[1, 2, 3]], "where the motion up to the one-frame track carries it: one object"),
        (160.0, [[1, 2], [3]], "1.2 box sizes off that path: another object"),
    ],
)
def test_a_track_seen_in_one_frame_is_carried_by_the_motion_of_the_track_it_continues(
    y: float, segments: list[list[int]], why: str
) -> None:
    glimpse = seen(2, [(4_000, 400.0)])  # 1 s after LOST ends, where its motion carries it
    result = join_segments([seen(1, LOST), glimpse, seen(3, FOUND, y=y)], link_gap_ms=4_000)
    assert sorted([s.id for s in obj.segments] for obj in result.objects) == segments, why


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
    (obj,) = join_segments([seen(1, frames)], min_hits=5, edges_ms=(200, 59_800)).objects
    assert obj.counted is counted, why


def test_a_track_cut_where_it_took_over_an_object_is_joined_back_unless_another_continues_its_rest() -> None:
    """The rest of a track cut where it went back (`switches`): its own object's unless a lost track continues it."""
    before = seen(1, [(1_000, 100.0), (2_000, 200.0), (3_000, 300.0)])
    rest = replace(seen(2, [(3_200, 280.0), (4_000, 200.0)]), follows=1)
    alone = join_segments([before, rest], link_gap_ms=4_000)
    assert [[s.id for s in obj.segments] for obj in alone.objects] == [[1, 2]]
    lost = seen(3, [(0, 600.0), (2_000, 400.0)])  # going left at 100 px/s: at 3.2 s, where the rest begins
    taken = join_segments([before, rest, lost], link_gap_ms=4_000)
    assert sorted([s.id for s in obj.segments] for obj in taken.objects) == [[1], [3, 2]]


def boxes_seen(track_id: int, boxes: list[tuple[int, float, float]]) -> TrackSegment:
    """A segment with its boxes: (t_ms, left, right) at one height."""
    seen_boxes = tuple((t_ms, (left, 100.0, right, 130.0)) for t_ms, left, right in boxes)
    return TrackSegment(track_id, "car", seen_boxes[0], seen_boxes[-1], len(boxes), boxes=seen_boxes)


# A 40 px wide car at 100 px/s goes behind a pillar at x = 312-348: its last box shows its left 12 px, and 0.2 s
# later its first box again shows its right 12 px. Their centres lie 0.6 box sizes (of those boxes) from where its
# motion carries it, beyond the tolerance of a short gap.
LOST_BEHIND = [(1_000, 100.0, 140.0), (2_000, 200.0, 240.0), (3_000, 300.0, 312.0)]
FOUND_BEHIND = [(3_200, 348.0, 360.0), (4_200, 440.0, 480.0)]


def narrow(boxes: list[tuple[int, float, float]]) -> list[tuple[int, float, float]]:
    """The same centres, from 12 px wide boxes."""
    return [(t_ms, (left + right) / 2 - 6, (left + right) / 2 + 6) for t_ms, left, right in boxes]


@pytest.mark.parametrize(
    ("earlier", "later", "objects", "why"),
    [
        (LOST_BEHIND, FOUND_BEHIND, 1, "both boxes narrower than the car's: it may be where its motion carries it"),
        (narrow(LOST_BEHIND), narrow(FOUND_BEHIND), 2, "the same points from tracks never wider: another object"),
    ],
)
def test_a_box_narrower_than_its_tracks_widest_may_hide_where_its_object_is(
    earlier: list[tuple[int, float, float]], later: list[tuple[int, float, float]], objects: int, why: str
) -> None:
    result = join_segments([boxes_seen(1, earlier), boxes_seen(2, later)], link_gap_ms=4_000)
    assert len(result.objects) == objects, why


def standing(
    track_id: int,
    start_ms: int,
    seconds: float,
    *,
    x: float = 300.0,
    cls: str = "person",
    drift: float = 0.0,
    walk: float = 0.0,
    walk_in: float = 0.0,
    walk_out: float = 0.0,
) -> TrackSegment:
    """A 20x40 box that stays at `x`, a pixel either way, seen every 200 ms for `seconds`; `drift` px per frame
    moves it that far in the frame while the camera pans as much the other way (`TrackSegment.pans`), `walk` px per
    frame moves it in the scene. `walk_in` and `walk_out` add seconds of coming from the left before and going on
    to the right after, 10 px per frame."""
    frames = round(seconds * 5) + 1
    before, after = round(walk_in * 5), round(walk_out * 5)
    xs = [x - 10.0 * (before - k) for k in range(before)]
    xs += [x + (-1) ** k + (walk - drift) * k for k in range(frames)]
    xs += [xs[-1] + 10.0 * (k + 1) for k in range(after)]
    boxes = tuple((start_ms + 200 * k, box_at(at, 200.0, 20.0, 40.0)) for k, at in enumerate(xs))
    pans = tuple((drift * k, 0.0) for k in range(len(xs))) if drift else ()
    return TrackSegment(track_id, cls, boxes[0], boxes[-1], len(xs), boxes=boxes, pans=pans)


def test_a_thing_that_stays_put_is_one_object_however_long_the_tracker_lost_it() -> None:
    """A patch of wall the detector takes for a walker now and then, tracked again after each minute it was lost:
    one object, while a walker passing it, a still one elsewhere and a still bike there stay apart."""
    wall = [standing(1, 0, 6.0), standing(3, 60_000, 8.0, drift=3.0), standing(5, 120_000, 30.0)]
    passing = seen(2, [(30_000, 100.0), (31_000, 300.0), (32_000, 500.0)], cls="person", y=200.0)
    elsewhere = standing(4, 90_000, 6.0, x=340.0)
    bike = standing(6, 150_000, 6.0, cls="bike")
    result = join_segments([*wall, passing, elsewhere, bike], link_gap_ms=4_000)
    assert sorted([s.id for s in obj.segments] for obj in result.objects) == [[1, 3, 5], [2], [4], [6]]


@pytest.mark.parametrize(
    ("later", "link_gap_ms", "why"),
    [
        (standing(2, 60_000, 4.0), 4_000, "seen still for under STILL_SECONDS: a walker who stopped there"),
        (standing(2, 60_000, 6.0, x=285.0, walk=1.0), 4_000, "it walked through the place: 30 px in 6 s"),
        (standing(2, 60_000, 6.0, x=312.0), 4_000, "another place: the boxes overlap by under STILL_OVERLAP"),
        (standing(2, 60_000, 6.0, walk_in=2.0), 4_000, "it was seen coming: another one taking the place"),
        (standing(2, 60_000, 6.0), 0, "linking is off"),
    ],
)
def test_only_still_segments_at_one_place_are_linked_that_way(later: TrackSegment, link_gap_ms: int, why: str) -> None:
    result = join_segments([standing(1, 0, 6.0), later], link_gap_ms=link_gap_ms)
    assert len(result.objects) == 2, why


def test_a_car_that_parks_is_one_object_however_long_it_was_lost_there() -> None:
    """Tracked coming in and standing, lost behind passing traffic for 30 s, then found standing and going on: the
    two segments are still where one ends and the other begins, though neither is still throughout."""
    arrived = standing(1, 0, 8.0, cls="car", walk_in=3.0)
    left = standing(2, 42_000, 8.0, cls="car", walk_out=3.0)
    assert len(join_segments([arrived, left], link_gap_ms=4_000).objects) == 1
    # One that drove off, and another found standing in its place later, are two.
    drove_off = standing(1, 0, 8.0, cls="car", walk_out=3.0)
    assert len(join_segments([drove_off, left], link_gap_ms=4_000).objects) == 2
