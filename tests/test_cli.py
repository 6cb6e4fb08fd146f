"""The command line's parsing: subcommands, options and the settings they override."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner.cli import build_parser


def test_synth_command(tmp_path: Path) -> None:
    parser = build_parser()
    args = parser.parse_args(["synth", "--out", "x.mp4"])
    defaults = (args.seed, args.seconds, args.fps, args.size, args.codec, args.truth)
    assert defaults == (0, 30.0, 25.0, (1280, 720), "mp4v", None)
    args = parser.parse_args(
        ["synth", "--seed", "4", "--seconds", "1", "--size", "320x180", "--out", str(tmp_path / "a.mp4")]
    )
    assert args.func(args) == 0
    assert json.loads((tmp_path / "a.mp4.truth.json").read_text())["frames"] == 25
    with pytest.raises(SystemExit):
        parser.parse_args(["synth", "--out", "x.mp4", "--size", "big"])
