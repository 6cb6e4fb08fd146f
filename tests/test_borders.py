"""The frame's border: objects that left the view, and tracks that turned back at it (one object left, another came
in), on hand-made boxes in a 200 x 100 frame."""

from __future__ import annotations

import pytest

from videoanalysis.regions import Box
from videoanalysis.tracking.borders import left_view, turns

FRAME = (200, 100)


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
def test_left_view_needs_a_border_the_object_was_moving_towards(first: Box, last: Box, left: bool) -> None:
    assert left_view(first, last, FRAME) is left


def right_edge(*lefts: float, top: float = 40.0, height: float = 20.0) -> list[Box]:
    """Boxes clipped by the right border (x = 200) whose left edges are `lefts`."""
    return [(x, top, 200.0, top + height) for x in lefts]


@pytest.mark.parametrize(
    ("boxes", "found", "why"),
    [
        (right_edge(150, 160, 170, 180, 172, 164, 156), [4], "left edge 10 px (0.5 heights) a frame out, then back"),
        (right_edge(150, 160, 170, 180, 190), [], "leaving, and gone"),
        (right_edge(190, 180, 170, 160, 150), [], "coming in"),
        (right_edge(170, 173, 169, 172, 170, 168, 172), [], "a car standing at the border: its box wobbles"),
        (right_edge(150, 151.5, 153, 154.5, 153, 151.5, 150), [], "creeping out and back, 0.15 heights in two frames"),
        (
            [(100, 40, 120, 60), (120, 40, 140, 60), (140, 40, 160, 60), (120, 40, 140, 60), (100, 40, 120, 60)],
            [],
            "turning back in the middle of the frame: no border says it was another object",
        ),
        (
            [(50, 60, 70, 80), (50, 70, 70, 90), (50, 80, 70, 100), (50, 72, 70, 92), (50, 64, 70, 84)],
            [3],
            "out through the bottom border and back: its top edge reads it",
        ),
        (right_edge(150, 160, 170, 180, 172, 164, 172, 180, 188, 180, 172), [4, 9], "twice"),
    ],
)
def test_a_track_turns_back_at_a_border_it_touches_when_its_inner_edge_does(
    boxes: list[Box], found: list[int], why: str
) -> None:
    assert turns(boxes, FRAME) == found, why
