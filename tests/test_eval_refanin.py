"""`bench.eval_refanin`: a try's change against the first row comes with an interval over the scenes."""

from __future__ import annotations

from bench.eval_refanin import _against, scene_interval


def test_a_change_every_scene_shares_has_no_spread() -> None:
    assert scene_interval([-1] * 12) == (-12.0, -12.0)
    assert scene_interval([]) == (0.0, 0.0)


def test_a_change_that_one_scene_makes_is_within_another_draw_of_the_scenes() -> None:
    """One scene of 20 gaining 6: a fifth of the draws leave it out, so the interval reaches 0 and beyond the gain."""
    low, high = scene_interval([0] * 19 + [-6])
    assert low <= -12.0 and high == 0.0


def test_a_change_spread_over_many_scenes_is_beyond_the_noise() -> None:
    low, high = scene_interval([-1, -1, 0, -1, -2, 0, -1, -1, 0, -1] * 4)
    assert low < -32.0 < high < 0.0


def test_against_gives_the_error_and_pairs_changes_with_their_intervals() -> None:
    first = [(3, 2), (1, 3), (0, 3)]  # (error, pairs within the target) per scene
    assert _against(first, first) == "+0 [+0, +0], +0 [+0, +0]"
    changed = _against(first, [(1, 3), (1, 3), (0, 3)])
    assert changed.startswith("-2 [-4, +0], +1 [+0, +2]")
