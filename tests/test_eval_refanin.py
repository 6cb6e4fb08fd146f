"""`bench.eval_refanin`: a try's change against the first row comes with an interval over the scenes, and variants are
compared on the scenes they all ran."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import eval_counts, eval_refanin
from bench.eval_refanin import _against, _paired_runs


def test_against_gives_the_error_and_pairs_changes_with_their_intervals() -> None:
    first = [(3, 2), (1, 3), (0, 3)]  # (error, pairs within the target) per scene
    assert _against(first, first) == "+0 [+0, +0], +0 [+0, +0]"
    assert _against(first, [(1, 3), (1, 3), (0, 3)]) == "-2 [-4, +0], +1 [+0, +2]"


def test_variants_are_compared_on_the_scenes_every_one_of_them_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(eval_refanin, "EVAL", tmp_path)
    specs = eval_counts.scenes_for("tune", 3)
    (tmp_path / "scenes").mkdir()
    for spec in specs:
        (tmp_path / "scenes" / f"{spec.key}.truth.json").write_text(json.dumps({"unique": {"car": spec.seed}}))
    ran = {"old": specs, "new": specs[1:]}  # the new model has not run the first scene yet
    for variant, scenes in ran.items():
        for spec in scenes:
            run = tmp_path / "runs" / variant / spec.key / "chunks-10"
            run.mkdir(parents=True)
            (run / "summary.json").write_text("{}")
    paired = _paired_runs(["old", "new"], "tune", eval_counts.DEFAULT_SHAPE, None)
    assert paired == [
        ({v: tmp_path / "runs" / v / spec.key / "chunks-10" for v in ("old", "new")}, {"car": spec.seed})
        for spec in specs[1:]
    ]
    assert len(_paired_runs(["old"], "tune", eval_counts.DEFAULT_SHAPE, None)) == 3
