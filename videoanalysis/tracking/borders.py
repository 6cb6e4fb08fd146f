"""What the frame's border says about a track: an object that left the view through it, and a track that turned back
at it, which is one object leaving and another coming in.

Detections are clipped to the frame, so at the border a box stops moving with its object: only its inner edge (the
one away from the border) does. These rules read that edge.
"""

from __future__ import annotations

from collections.abc import Sequence

from videoanalysis.regions import Box

EDGE_MARGIN_PX = 2.0
"""A box this close to the frame's border touches it: detections are clipped to the frame."""

TURN_FRAMES = 2
"""Analysed frames before and after a box at the border over which a track's motion toward it and away from it is
read (`turns`): a clipped box slows down as its object leaves, and wobbles while it stands."""

TURN_MOVE = 0.2
"""How far, in box heights (for the side borders) or widths (for the top and bottom), a box's inner edge must move
toward the border over `TURN_FRAMES` frames, and then away from it over as many, for its track to have turned back
there (`turned_back`). Chosen on the tuning scenes: 0.15 to 0.3 gave nearly the same error; the boxes of cars
standing or creeping at the border moved less."""


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


def turns(boxes: Sequence[Box], frame_size: tuple[int, int]) -> list[int]:
    """Where a track's boxes, in consecutive analysed frames, turned back at a border (`turned_back`): the index of
    the first box of each object after the first."""
    found: list[int] = []
    k = TURN_FRAMES
    while k + TURN_FRAMES < len(boxes):
        if turned_back(boxes[k - TURN_FRAMES], boxes[k], boxes[k + TURN_FRAMES], frame_size):
            found.append(k + 1)
            k += TURN_FRAMES
        k += 1
    return found


def turned_back(before: Box, turn: Box, after: Box, frame_size: tuple[int, int]) -> bool:
    """Whether a track turned back at a border its box `turn` touches: the box's inner edge moved at least
    `TURN_MOVE` toward that border from the earlier box `before`, then at least as far away from it by the later box
    `after`.

    On a road through the view, the tracker keeps a car's track for the next car that comes in where it left, going
    the other way: their clipped boxes overlap at the border. No vehicle turns back there within a second.
    """
    width, height = frame_size
    # Per border: whether `turn` touches it, the index of the inner edge's coordinate in a box, +1 or -1 for toward
    # the border, and the box's dimension along the border (which the border does not clip).
    borders = (
        (turn[0] <= EDGE_MARGIN_PX, 2, -1, turn[3] - turn[1]),
        (turn[2] >= width - EDGE_MARGIN_PX, 0, 1, turn[3] - turn[1]),
        (turn[1] <= EDGE_MARGIN_PX, 3, -1, turn[2] - turn[0]),
        (turn[3] >= height - EDGE_MARGIN_PX, 1, 1, turn[2] - turn[0]),
    )
    for touches, edge, toward, along in borders:
        move = TURN_MOVE * along
        if touches and move > 0:
            came = (turn[edge] - before[edge]) * toward
            went = (after[edge] - turn[edge]) * toward
            if came >= move and went <= -move:
                return True
    return False
