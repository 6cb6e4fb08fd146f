"""Where a track took over another's object, on hand-made segments (through the real tracker: `test_video_pass`)."""

from __future__ import annotations

import pytest

from videoanalysis.regions import Box
from videoanalysis.tracking.objects import TrackSegment
from videoanalysis.tracking.switches import switches

FRAME = (640, 720)


def walker(track_id: int, frames: list[tuple[int, float]], y: float = 150.0) -> TrackSegment:
    """A walker's segment seen at (t_ms, left edge) on each of its frames, its box 40 x 100 px from height y."""
    boxes: list[tuple[int, Box]] = [(t_ms, (x, y, x + 40.0, y + 100.0)) for t_ms, x in frames]
    return TrackSegment(track_id, "person", boxes[0], boxes[-1], len(boxes), boxes=tuple(boxes))


LEFT = [(200 * k, 500.0 - 8 * k) for k in range(9)]  # going left, lost behind a pillar at 1.6 s (x 436)
A = [(200 * k, 100.0 + 8 * k) for k in range(21)]  # going right up to 4 s (x 260)
B = [(200 * k, 260.0 - 8 * (k - 21)) for k in range(21, 36)]  # from 4.2 s going left from x 260: where LEFT went


def test_a_track_that_took_over_the_object_another_lost_is_cut_where_it_did() -> None:
    """Two walkers cross behind a pillar: the tracker lost the one going left, and the other's track went on with
    it. From its 21st box on, the track continues the lost one, and its own boxes before do not."""
    assert switches([walker(1, LEFT), walker(2, A + B)], 4_000, FRAME) == {1: 21}


@pytest.mark.parametrize(
    ("lost", "frames", "why"),
    [
        (walker(1, LEFT), A + [(200 * k, 100.0 + 8 * k) for k in range(21, 36)], "the track went on with its walker"),
        (walker(1, LEFT), [(200 * k, 560.0 - 8 * k) for k in range(36)], "a walker behind the lost one, going on"),
        (walker(1, LEFT, y=400.0), A + B, "it turned back 2.3 box sizes above where the lost one went"),
    ],
)
def test_a_track_is_not_cut_where_no_lost_track_carries_on_to_it(
    lost: TrackSegment, frames: list[tuple[int, float]], why: str
) -> None:
    assert switches([lost, walker(2, frames)], 4_000, FRAME) == {}, why


def test_a_track_is_not_cut_for_a_track_lost_longer_ago_than_the_link_gap() -> None:
    assert switches([walker(1, LEFT), walker(2, A + B)], 1_000, FRAME) == {}


def test_a_track_seen_once_before_it_took_over_is_cut_after_that_glimpse() -> None:
    """At the border, a track has one box of a walker leaving, then (3.2 s later) goes on with the lost one."""
    glimpse = [(1_000, 0.0)]
    assert switches([walker(1, LEFT), walker(2, glimpse + B)], 4_000, FRAME) == {1: 1}
