"""The command line's parsing: subcommands, options and the settings they override."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from runner.cli import build_parser, run_options
from videoanalysis.regions import MAX_LINES


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


def _analyze(*options: str) -> argparse.Namespace:
    return build_parser().parse_args(["analyze", "v.mp4", *options])


def test_lines_and_zones_on_the_command_line_replace_count_regions() -> None:
    args = _analyze("--line", "door=320,0,320,360", "--zone", "yard=0,0,100,0,100,100", "--line", "exit=0,10,20,10")
    regions = run_options(args)["count_regions"]
    assert [(line.name, line.a, line.b) for line in regions.lines] == [
        ("door", (320, 0), (320, 360)),
        ("exit", (0, 10), (20, 10)),
    ]
    assert [(zone.name, zone.points) for zone in regions.zones] == [("yard", ((0, 0), (100, 0), (100, 100)))]
    assert "count_regions" not in run_options(_analyze()), "without them, COUNT_REGIONS (or none) holds"


TOO_MANY = [option for i in range(MAX_LINES + 1) for option in ("--line", f"l{i}=0,0,10,{i + 1}")]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--line", "door=320,0,320"], "argument --line: line 'door=320,0,320': expected NAME=x1,y1,x2,y2 (4 numbers"),
        (["--line", "320,0,320,360"], "argument --line: line '320,0,320,360': expected NAME=x1,y1,x2,y2"),
        (["--line", "door=a,0,320,360"], "'a' is not a number"),
        (["--line", "door=5,5,5,5"], "argument --line: line 'door' has zero length: both ends are (5, 5)"),
        (["--zone", "yard=0,0,10,10"], "argument --zone: zone 'yard' needs at least 3 points, got 2"),
        (["--zone", "bow=0,0,10,10,10,0,0,10"], "argument --zone: zone 'bow' crosses itself"),
        (["--line", "a=0,0,1,1", "--zone", "a=0,0,1,0,1,1"], "the name 'a' is used twice"),
        (TOO_MANY, f"argument --line: too many lines: {MAX_LINES + 1} (at most {MAX_LINES})"),
    ],
    ids=[
        "three-numbers",
        "no-name",
        "not-a-number",
        "zero-length",
        "two-points",
        "self-crossing",
        "same-name",
        "too-many",
    ],
)
def test_a_bad_region_exits_2_with_one_line_that_says_why(options: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_:
        _analyze(*options)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("videoanalysis analyze: error: ") and message in error, error
