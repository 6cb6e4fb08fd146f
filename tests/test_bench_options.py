"""`python -m bench` options that change what its medians are taken over."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import parse_args
from bench.common import Context


def test_repeats_sets_the_runs_behind_each_median_of_wall_times() -> None:
    args = parse_args(["throughput", "--repeats", "7"])
    context = Context(Path("m.pt"), Path("m.onnx"), wall_repeats=args.repeats)
    assert context.repeats == 7
    assert Context(Path("m.pt"), Path("m.onnx")).repeats == 3
    assert Context(Path("m.pt"), Path("m.onnx"), quick=True, wall_repeats=7).repeats == 1  # a smoke run stays one


def test_fewer_than_one_repeat_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse_args(["--repeats", "0"])
    assert exit_.value.code == 2
    assert "--repeats must be at least 1" in capsys.readouterr().err
