"""`bench.eval_refanin`: a try's change against the first row comes with an interval over the scenes."""

from __future__ import annotations

from bench.eval_refanin import _against


def test_against_gives_the_error_and_pairs_changes_with_their_intervals() -> None:
    first = [(3, 2), (1, 3), (0, 3)]  # (error, pairs within the target) per scene
    assert _against(first, first) == "+0 [+0, +0], +0 [+0, +0]"
    assert _against(first, [(1, 3), (1, 3), (0, 3)]) == "-2 [-4, +0], +1 [+0, +2]"
