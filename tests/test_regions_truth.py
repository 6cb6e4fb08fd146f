"""The line and zone truth of generated scenes (`scenes.regions_truth`) against the app's rules (`regions`).

The truth is computed by a rule of its own, so the two agree where a perfect tracker's positions leave no doubt, and
where they differ, the difference is one the app's rule makes on purpose: its margin around a line (an object first
or last seen within it), or the longer step it takes across a segment's end (from the last frame beyond the margin).
A bug in the app's rule is a difference of another kind, which these tests catch.
"""

from __future__ import annotations

import math
from collections import defaultdict
from itertools import pairwise
from typing import Any

import pytest

import videoanalysis.regions as rules
from scenes.generator import Scene
from scenes.regions_truth import SeenObject, in_polygon, point_of, region_counts, seen_objects, steps_across
from scenes.scenarios import SCENARIOS
from videoanalysis.regions import Line, Regions, Zone, count_inside, entered, side_of, trace

SIZE = (640, 360)
SAMPLE_FPS = 5.0
REGIONS = Regions(
    lines=(
        Line("vertical", (320, 140), (320, 360)),  # the evaluation's lines, at 640x360
        Line("diagonal", (160, 350), (480, 150)),
        Line("up", (320, 360), (320, 0)),  # across the whole frame
        Line("high", (200, 120), (200, 0)),  # above the road: objects pass below its end
        Line("flat", (100, 250), (540, 250)),
    ),
    zones=(
        Zone("left", ((0, 140), (200, 140), (200, 360), (0, 360))),
        Zone("slant", ((100, 100), (500, 150), (300, 360))),
    ),
)


def by_the_apps_rule(objects: list[SeenObject], classes: list[str], regions: Regions) -> dict[str, Any]:
    """`region_counts`' shape, by `videoanalysis.regions` on the same positions."""
    lines = {}
    for line in regions.lines:
        crossed = {cls: {"in": 0, "out": 0} for cls in classes}
        for obj in objects:
            for crossing in trace(line, obj.frames).crossings if obj.counted else ():
                crossed[obj.cls][crossing.direction] += 1
        lines[line.name] = crossed
    frames: dict[int, list[tuple[str, rules.Box]]] = defaultdict(list)
    for obj in objects:
        for t_ms, box in obj.frames:
            frames[t_ms].append((obj.cls, box))
    zones = {
        zone.name: {
            cls: {
                "entered": sum(
                    entered(zone, (box for _, box in o.frames)) for o in objects if o.cls == cls and o.counted
                ),
                "peak": max(
                    (count_inside(zone, [b for c, b in seen if c == cls]) for seen in frames.values()), default=0
                ),
            }
            for cls in classes
        }
        for zone in regions.zones
    }
    return {"lines": lines, "zones": zones}


def unexplained(obj: SeenObject, line: Line) -> bool:
    """Whether the two rules count this object's crossings of ``line`` differently for a reason the app's rule does
    not give on purpose (module docstring)."""
    app = sorted(c.direction for c in trace(line, obj.frames).crossings)
    truth = sorted(c.direction for c in steps_across(line, [(t, point_of(box)) for t, box in obj.frames]))
    if app == truth:
        return False
    first, last = obj.frames[0][1], obj.frames[-1][1]
    if side_of(line, first) == 0 or side_of(line, last) == 0:
        return False  # first or last seen within the margin
    size = max(math.hypot(box[2] - box[0], box[3] - box[1]) for _, box in obj.frames)
    points = [point_of(box) for _, box in obj.frames]
    return not any(_meets_near_an_end(line, p, q, size) for p, q in pairwise(points))


def _meets_near_an_end(line: Line, p: rules.Point, q: rules.Point, size: float) -> bool:
    """Whether the step p->q crosses the line through A and B within ``size`` of A or B."""
    (ax, ay), (bx, by) = line.a, line.b
    dp = (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax)
    dq = (bx - ax) * (q[1] - ay) - (by - ay) * (q[0] - ax)
    if dp * dq >= 0:
        return False
    share = dp / (dp - dq)
    meet = (p[0] + share * (q[0] - p[0]), p[1] + share * (q[1] - p[1]))
    return min(math.dist(meet, line.a), math.dist(meet, line.b)) < size


def scene_truth(seed: int, scenario: Any = None) -> dict[str, Any]:
    return Scene(seed, 30.0, 25.0, SIZE, scenario=scenario).truth()


@pytest.mark.parametrize("seed", range(6))
def test_zones_agree_and_lines_differ_only_where_the_apps_margin_or_a_segment_end_decides(seed: int) -> None:
    scenario = SCENARIOS[seed * 2 % len(SCENARIOS)]
    truth = scene_truth(seed, scenario)
    objects = seen_objects(truth, SAMPLE_FPS)
    counts = region_counts(truth, REGIONS, SAMPLE_FPS)
    assert counts["zones"] == by_the_apps_rule(objects, list(truth["classes"]), REGIONS)["zones"]
    assert sum(n for line in counts["lines"].values() for c in line.values() for n in c.values()) > 10
    assert [(o.id, line.name) for line in REGIONS.lines for o in objects if o.counted and unexplained(o, line)] == []


def test_on_plain_scenes_the_counts_agree() -> None:
    for seed in (0, 2, 4):
        truth = scene_truth(seed)
        apps = by_the_apps_rule(seen_objects(truth, SAMPLE_FPS), list(truth["classes"]), REGIONS)
        assert region_counts(truth, REGIONS, SAMPLE_FPS) == apps, seed


def _crossing_beyond_the_segment(line: Line, old: rules.Sided, new: rules.Sided) -> tuple[rules.Crossing, ...]:
    """A broken rule: any change of side counts, on the segment or on its extension."""
    return () if old.side == new.side else (rules.Crossing(new.t_ms, "in" if new.side > 0 else "out"),)


def _side_the_wrong_way(line: Line, box: rules.Box) -> int:
    return -side_of(line, box)


def _centre_inside(zone: Zone, points: Any) -> Any:
    """A broken rule: the box's centre height instead of its bottom (here: the point raised by a box height)."""
    return rules.np.array([in_polygon((x, y - 40), zone.points) for x, y in points], dtype=bool)


@pytest.mark.parametrize(
    ("name", "broken"),
    [("_crossing", _crossing_beyond_the_segment), ("side_of", _side_the_wrong_way), ("inside", _centre_inside)],
)
def test_a_broken_rule_disagrees_with_the_truth(monkeypatch: pytest.MonkeyPatch, name: str, broken: Any) -> None:
    truth = scene_truth(0)
    objects, classes = seen_objects(truth, SAMPLE_FPS), list(truth["classes"])
    assert by_the_apps_rule(objects, classes, REGIONS) == region_counts(truth, REGIONS, SAMPLE_FPS)
    monkeypatch.setattr(rules, name, broken)
    assert by_the_apps_rule(objects, classes, REGIONS) != region_counts(truth, REGIONS, SAMPLE_FPS)


def test_an_object_first_seen_on_the_line_crosses_in_the_truth_but_not_by_the_apps_margin() -> None:
    """The one difference on purpose that a user can meet: the app counts nothing until an object is clearly on a
    side, so one that starts on the line and drives off counts no crossing there; it did cross."""
    line = Line("up", (320, 360), (320, 0))
    frames = tuple((200 * i, (315.0 + 30 * i - 50, 150.0, 315.0 + 30 * i + 50, 200.0)) for i in range(6))
    assert [c.direction for c in steps_across(line, [(t, point_of(b)) for t, b in frames])] == ["in"]
    assert trace(line, frames).crossings == ()


def test_inside_a_polygon_includes_its_boundary_and_follows_a_concave_outline() -> None:
    notch = ((0, 0), (100, 0), (100, 100), (50, 50), (0, 100))
    assert in_polygon((10, 10), notch) and in_polygon((100, 50), notch) and in_polygon((50, 50), notch)
    assert not in_polygon((50, 90), notch) and not in_polygon((101, 50), notch)
