"""Counting lines and zones: parsing and validation, the crossing and occupancy rules, and the truth of a scene."""

from __future__ import annotations

import json
import math
from itertools import pairwise

import numpy as np
import pytest

from scenes.generator import Actor, Scene
from scenes.regions_truth import analysed_frames, line_crossings, region_counts
from videoanalysis.regions import (
    EMPTY,
    MAX_LINES,
    MAX_ZONE_POINTS,
    MAX_ZONES,
    Box,
    Crossing,
    Line,
    Regions,
    Sided,
    TrackLine,
    Zone,
    anchors,
    check_in_frame,
    count_inside,
    entered,
    gap_crossings,
    inside,
    join,
    parse_line_spec,
    parse_zone_spec,
    side_of,
    trace,
)

SIZE = (640, 360)
UP = Line("up", (320, 360), (320, 0))  # vertical, drawn upwards: moving right is "in"
DOWN = Line("down", (320, 0), (320, 360))  # the same line drawn downwards: moving left is "in"
DIAGONAL = Line("diagonal", (0, 360), (640, 0))  # lower left to upper right: moving right or down is "in"
SQUARE = Zone("square", ((100, 100), (200, 100), (200, 200), (100, 200)))


def box_at(x: float, y: float, w: float = 100, h: float = 50) -> Box:
    """A box whose counting point (bottom centre) is (x, y)."""
    return (x - w / 2, y - h, x + w / 2, y)


def path(*points: tuple[float, float], w: float = 100, h: float = 50) -> list[tuple[int, Box]]:
    """A track through the given bottom centres, one analysed frame every 200 ms."""
    return [(200 * i, box_at(x, y, w, h)) for i, (x, y) in enumerate(points)]


def crossings(line: Line, track: list[tuple[int, Box]]) -> list[tuple[int, str]]:
    return [(c.t_ms, c.direction) for c in trace(line, track).crossings]


# --- parsing and validation ----------------------------------------------------------------------------------------


def test_specs_parse_and_read_back_as_written() -> None:
    line = parse_line_spec("door=10,20,30.5,40")
    zone = parse_zone_spec(" queue = 0,0, 100,0, 100,50 ")
    assert line == Line("door", (10, 20), (30.5, 40))
    assert zone == Zone("queue", ((0, 0), (100, 0), (100, 50)))
    regions = Regions((line,), (zone,))
    assert (  # whole numbers stay whole
        json.dumps(regions.to_dict())
        == '{"lines": {"door": [[10, 20], [30.5, 40]]}, "zones": {"queue": [[0, 0], [100, 0], [100, 50]]}}'
    )
    assert Regions.from_dict(json.loads(json.dumps(regions.to_dict()))) == regions
    assert Regions.from_json(json.dumps(regions.to_dict())) == regions
    assert Regions.from_dict({}) == Regions() and Regions.from_dict({"lines": {"a": [[0, 0], [1, 0]]}}).zones == ()


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("door", "line 'door': expected NAME=x1,y1,x2,y2"),
        ("door=1,2,3", "line 'door=1,2,3': expected NAME=x1,y1,x2,y2 (4 numbers, got 3)"),
        ("door=1,2,3,4,5", "(4 numbers, got 5)"),
        ("door=1,2,x,4", "line 'door=1,2,x,4': 'x' is not a number (expected NAME=x1,y1,x2,y2)"),
        ("door=1,2,,4", "'' is not a number"),
        ("=1,2,3,4", "a line needs a name"),
        ("door=5,6,5,6", "line 'door' has zero length: both ends are (5, 6)"),
        ("door=nan,2,3,4", "line 'door': coordinates must be finite numbers, got nan"),
        ("door=1,2,inf,4", "coordinates must be finite numbers, got inf"),
        ("door=-1,2,3,4", "line 'door': coordinates must be >= 0 (pixels from the top-left corner), got -1"),
        ("d\toor=1,2,3,4", "line name 'd\\toor' must be printable"),
        ("d" * 65 + "=1,2,3,4", "at most 64 characters"),
    ],
)
def test_bad_line_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        parse_line_spec(spec)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("z", "zone 'z': expected NAME=x1,y1,x2,y2,x3,y3[,...]"),
        ("z=1,2,3,4,5", "zone 'z=1,2,3,4,5': expected NAME=x1,y1,x2,y2,x3,y3[,...] (pairs of numbers, got 5 numbers)"),
        ("z=1,2,3,4", "zone 'z' needs at least 3 points, got 2"),
        ("z=0,0,10,10,10,0,0,10", "zone 'z' crosses itself: edge 1-2 meets edge 3-4"),  # a bow tie
        ("z=0,0,10,0,10,10,5,0,0,10", "zone 'z' crosses itself: edge 1-2 meets edge 3-4"),  # a corner on an edge
        ("z=0,0,10,0,5,5,10,10,0,10,5,5", "zone 'z' crosses itself"),  # two corners at one point
        ("z=0,0,10,0,5,0", "zone 'z' crosses itself: it folds back at point 2"),  # no area
        ("z=0,0,20,0,10,0,10,5", "zone 'z' crosses itself: it folds back at point 2"),  # a spike along an edge
        ("z=0,0,10,0,10,0,0,10", "zone 'z': points 2 and 3 are the same point"),
        ("z=0,0,10,0,10,10,0,0", "zone 'z': points 4 and 1 are the same point"),  # the closing point repeated
        ("z=0,0,10,0,nan,10", "zone 'z': coordinates must be finite numbers, got nan"),
        ("z=0,0,10,-0.5,10,10", "zone 'z': coordinates must be >= 0 (pixels from the top-left corner), got -0.5"),
        ("z=" + ",".join(["1"] * 2 * (MAX_ZONE_POINTS + 1)), f"zone 'z' has 65 points (at most {MAX_ZONE_POINTS})"),
    ],
)
def test_bad_zone_specs(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        parse_zone_spec(spec)
    assert message in str(error.value)


def test_a_simple_polygon_of_any_shape_and_winding_is_a_zone() -> None:
    assert parse_zone_spec("l=0,0,30,0,30,10,10,10,10,30,0,30").points[3] == (10, 10)  # concave: an L
    assert parse_zone_spec("r=0,0,0,10,10,10,10,0").name == "r"  # the other winding
    assert parse_zone_spec("s=0,0,10,0,20,0,20,10").points[1] == (10, 0)  # a straight corner is not a fold


def _lines(n: int) -> tuple[Line, ...]:
    return tuple(Line(f"l{i}", (0, i), (10, i)) for i in range(n))


def _zones(n: int) -> tuple[Zone, ...]:
    return tuple(Zone(f"z{i}", ((0, i), (10, i), (10, i + 1))) for i in range(n))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Regions(_lines(MAX_LINES + 1)), f"too many lines: 17 (at most {MAX_LINES})"),
        (lambda: Regions((), _zones(MAX_ZONES + 1)), f"too many zones: 17 (at most {MAX_ZONES})"),
        (lambda: Regions(_lines(1) * 2), "the name 'l0' is used twice (line and zone names must be unique)"),
        (lambda: Regions((Line("z0", (0, 0), (1, 1)),), _zones(1)), "the name 'z0' is used twice"),
    ],
)
def test_bad_region_sets(make, message: str) -> None:
    with pytest.raises(ValueError) as error:
        make()
    assert message in str(error.value)


def test_the_caps_are_allowed() -> None:
    assert len(Regions(_lines(MAX_LINES), _zones(MAX_ZONES)).to_dict()["zones"]) == MAX_ZONES


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "regions must be an object with 'lines' and 'zones', got []"),
        ({"line": {}}, "unknown regions key 'line' (expected 'lines' and 'zones')"),
        ({"lines": [[0, 0], [1, 1]]}, "'lines' must be an object of name: [[x1, y1], [x2, y2]], got [[0, 0], [1, 1]]"),
        ({"zones": None}, "'zones' must be an object of name: [[x, y], ...], got None"),
        ({"lines": {"a": [0, 0, 1, 1]}}, "line 'a' must be [[x1, y1], [x2, y2]], got [0, 0, 1, 1]"),
        ({"lines": {"a": [[0, 0], [1, 1], [2, 2]]}}, "line 'a' must be [[x1, y1], [x2, y2]]"),
        ({"lines": {"a": [[0, "1"], [1, 1]]}}, "line 'a' must be [[x1, y1], [x2, y2]]"),
        ({"lines": {"a": [[0, True], [1, 1]]}}, "line 'a' must be [[x1, y1], [x2, y2]]"),
        ({"zones": {"z": [[0, 0], [1, 0], [1]]}}, "zone 'z' must be [[x, y], ...], got [[0, 0], [1, 0], [1]]"),
        ({"zones": {"z": [[0, 0], [1, 0]]}}, "zone 'z' needs at least 3 points, got 2"),
        ({"lines": {"a": [[0, 0], [0, 0]]}}, "line 'a' has zero length"),
        ({"lines": {"": [[0, 0], [1, 0]]}}, "a line needs a name"),
    ],
)
def test_bad_region_dicts(data: object, message: str) -> None:
    with pytest.raises(ValueError, match=r"^[^\n]*$") as error:
        Regions.from_dict(data)
    assert message in str(error.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"lines": ', "regions are not valid JSON: Expecting value: line 1 column 11 (char 10)"),
        ('{"lines": {"a": [[0, 0], [1, 1]], "a": [[0, 0], [2, 2]]}}', "regions JSON gives 'a' twice"),
        ('{"lines": {"a": [[NaN, 0], [1, 1]]}}', "line 'a': coordinates must be finite numbers, got nan"),
        ('{"zones": {"z": [[0, 0], [1e400, 0], [0, 1]]}}', "zone 'z': coordinates must be finite numbers, got inf"),
    ],
)
def test_bad_region_json(text: str, message: str) -> None:
    with pytest.raises(ValueError) as error:
        Regions.from_json(text)
    assert str(error.value) == message


def test_regions_must_lie_in_the_frame() -> None:
    edges = Regions((Line("a", (0, 0), (640, 360)),), (Zone("z", ((0, 260), (640, 260), (640, 360))),))
    check_in_frame(edges, 640, 360)  # the frame's edges are in it
    with pytest.raises(ValueError) as error:
        check_in_frame(edges, 639, 360)
    assert str(error.value) == "line 'a': the point (640, 360) is outside the 639x360 frame"
    with pytest.raises(ValueError) as error:
        check_in_frame(Regions((), (Zone("z", ((0, 0), (10, 0), (5, 400.5))),)), 640, 360)
    assert str(error.value) == "zone 'z': the point (5, 400.5) is outside the 640x360 frame"


# --- lines ---------------------------------------------------------------------------------------------------------


def test_a_vertical_line_drawn_upwards_counts_moving_right_as_in() -> None:
    assert crossings(UP, path((100, 200), (250, 200), (390, 200), (500, 200))) == [(400, "in")]
    assert crossings(UP, path((500, 200), (390, 200), (250, 200), (100, 200))) == [(400, "out")]


def test_the_direction_of_a_line_is_its_drawing_order() -> None:
    assert crossings(DOWN, path((100, 200), (500, 200))) == [(200, "out")]
    assert crossings(DOWN, path((500, 200), (100, 200))) == [(200, "in")]
    across = Line("across", (0, 180), (640, 180))  # drawn left to right: moving down is "in"
    assert crossings(across, path((300, 100), (300, 300))) == [(200, "in")]
    assert crossings(across, path((300, 300), (300, 100))) == [(200, "out")]


def test_a_diagonal_line() -> None:
    assert crossings(DIAGONAL, path((100, 100), (500, 100))) == [(200, "in")]  # moving right
    assert crossings(DIAGONAL, path((400, 50), (400, 300))) == [(200, "in")]  # moving down
    assert crossings(DIAGONAL, path((400, 300), (400, 50))) == [(200, "out")]  # moving up
    assert crossings(DIAGONAL, path((500, 300), (100, 100))) == [(200, "out")]  # moving left and up


def test_the_side_is_the_sign_of_the_cross_product_in_image_coordinates() -> None:
    """Right of A->B on the screen is a positive cross(B - A, P - A) with y pointing down."""
    assert side_of(UP, box_at(400, 100)) == 1 and side_of(UP, box_at(200, 100)) == -1
    assert side_of(DOWN, box_at(400, 100)) == -1
    assert side_of(Line("east", (0, 100), (640, 100)), box_at(300, 200)) == 1  # facing right, below is right


def test_the_margin_is_a_share_of_the_box_size_across_the_line() -> None:
    """A tenth of the box's width for a vertical line, of its height for a horizontal one."""
    assert side_of(UP, box_at(331, 100, w=100)) == 1
    assert side_of(UP, box_at(329, 100, w=100)) == 0
    assert side_of(UP, box_at(329, 100, w=50, h=500)) == 1
    across = Line("across", (0, 180), (640, 180))
    assert side_of(across, box_at(300, 186, w=500, h=50)) == 1
    assert side_of(across, box_at(300, 186, w=50, h=100)) == 0


def test_jitter_within_the_margin_counts_nothing() -> None:
    track = path((200, 200), (315, 200), (325, 200), (316, 200), (324, 200), (318, 200))
    assert crossings(UP, track) == []
    assert crossings(UP, [*track, (2000, box_at(400, 200))]) == [(2000, "in")]  # counted once it is clearly across


def test_jitter_beyond_the_margin_counts_each_way() -> None:
    assert crossings(UP, path((305, 200), (335, 200), (305, 200))) == [(200, "in"), (400, "out")]


def test_an_object_that_stops_on_the_line_counts_once_when_it_goes_on() -> None:
    stop = [(300, 200)] + [(320, 200)] * 20 + [(326, 200)]
    assert crossings(UP, path((200, 200), *stop, (400, 200))) == [(4600, "in")]
    assert crossings(UP, path((200, 200), *stop, (200, 200))) == []  # and nothing when it turns back


def test_an_object_that_crosses_back_counts_once_each_way() -> None:
    assert crossings(UP, path((100, 200), (500, 200), (500, 250), (100, 250))) == [(200, "in"), (600, "out")]


def test_only_the_segment_counts_not_its_extension() -> None:
    short = Line("short", (320, 100), (320, 0))  # the upper part of the frame only
    assert crossings(short, path((200, 300), (400, 300))) == []
    assert crossings(short, path((200, 50), (400, 50))) == [(200, "in")]
    assert crossings(short, path((300, 50), (340, 150))) == [(200, "in")]  # the step meets the end of the segment
    assert crossings(short, path((300, 50), (340, 250))) == []  # it passes below the end


def test_passing_around_the_end_of_a_segment_counts_nothing_later() -> None:
    """Going around the segment is a change of side that counts nothing, so coming back through it counts once."""
    short = Line("short", (320, 100), (320, 0))
    assert crossings(short, path((200, 300), (400, 300), (400, 50), (200, 50))) == [(600, "out")]


def test_frames_within_the_margin_between_sides_are_passed_over() -> None:
    """The step that decides the extent joins the last frame on one side and the first on the other."""
    short = Line("short", (320, 100), (320, 0))
    assert crossings(short, path((300, 90), (320, 400), (340, 90))) == [(400, "in")]


def _random_walk(seed: int, n: int = 60) -> list[tuple[int, Box]]:
    rng = np.random.default_rng(seed)
    xy = np.cumsum(rng.normal(0, 40, (n, 2)), axis=0) + np.array([320, 180])
    sizes = rng.uniform(20, 120, (n, 2))
    return [(200 * i, box_at(x, y, w, h)) for i, ((x, y), (w, h)) in enumerate(zip(xy, sizes, strict=True))]


@pytest.mark.parametrize("line", [UP, DIAGONAL, Line("short", (300, 150), (360, 220))])
def test_traces_of_consecutive_runs_join_into_the_trace_of_one_pass(line: Line) -> None:
    """What makes the per-chunk count exact: tracing each chunk's frames and joining the traces in time order gives
    the crossings of one pass, wherever the seams fall, and the crossing between two chunks at the later one's frame."""
    found = 0
    for seed in range(8):
        track = _random_walk(seed)
        whole = trace(line, track)
        found += len(whole.crossings)
        for cut in range(len(track) + 1):
            assert join(line, trace(line, track[:cut]), trace(line, track[cut:])) == whole
        cuts = [0, 7, 8, 30, 31, 59, 60]
        runs = [trace(line, track[a:b]) for a, b in pairwise(cuts)]
        joined = EMPTY
        for run in runs:
            joined = join(line, joined, run)
        assert joined == whole
    assert found >= 8, "the walks should cross the line"


def test_a_line_trace_keeps_its_crossings_in_time_order() -> None:
    traced = trace(UP, path((100, 200), (500, 200), (100, 250), (300, 250)))
    assert traced.crossings == (Crossing(200, "in"), Crossing(400, "out"))
    assert traced.first == Sided(0, -1, (100.0, 200.0), 111.8), "the box's diagonal: sqrt(100^2 + 50^2)"


# --- zones ---------------------------------------------------------------------------------------------------------


def test_inside_a_zone_includes_its_boundary() -> None:
    points = np.array([(150, 150), (100, 150), (200, 200), (150, 100.0), (99.9, 150), (150, 200.1), (250, 150)])
    assert inside(SQUARE, points).tolist() == [True, True, True, True, False, False, False]
    assert inside(SQUARE, np.empty((0, 2))).tolist() == []


def test_inside_a_concave_zone() -> None:
    ell = parse_zone_spec("ell=0,0,30,0,30,10,10,10,10,30,0,30")
    points = np.array([(5, 25), (25, 5), (20, 20), (10, 20), (10, 10), (31, 5)])
    assert inside(ell, points).tolist() == [True, True, False, True, True, False]


def test_a_zone_at_the_frame_edge_holds_a_box_clipped_there() -> None:
    bottom = Zone("bottom", ((0, 260), (640, 260), (640, 360), (0, 360)))
    assert (
        count_inside(bottom, [(600.0, 300.0, 640.0, 360.0), (0.0, 280.0, 30.0, 360.0), (0.0, 100.0, 30.0, 250.0)]) == 2
    )


def test_the_point_of_a_box_is_its_bottom_centre() -> None:
    assert anchors([(10, 20, 30, 60), (0, 0, 1, 1)]).tolist() == [[20, 60], [0.5, 1]]
    assert anchors([]).shape == (0, 2)
    assert count_inside(SQUARE, [(140.0, 40.0, 160.0, 150.0)]) == 1  # the feet are inside, the centre is not
    assert count_inside(SQUARE, [(140.0, 150.0, 160.0, 250.0)]) == 0  # the centre is inside, the feet are not


def test_entered_and_peak() -> None:
    """entered: an object inside in any of its frames; peak: the most inside in one frame. Both merge across chunks
    (any, max), per object and per frame."""
    frames = [
        [box_at(150, 150), box_at(50, 150)],
        [box_at(160, 150), box_at(120, 150), box_at(190, 199)],
        [box_at(300, 150)],
        [],
    ]
    assert [count_inside(SQUARE, boxes) for boxes in frames] == [1, 3, 0, 0]
    assert max(count_inside(SQUARE, boxes) for boxes in frames) == 3
    walker = [box_at(50, 150), box_at(120, 150), box_at(300, 150)]
    assert entered(SQUARE, walker) and not entered(SQUARE, [walker[0], walker[2]]) and not entered(SQUARE, [])
    assert (entered(SQUARE, walker[:1]) or entered(SQUARE, walker[1:])) == entered(SQUARE, walker)


# --- the truth of generated scenes ---------------------------------------------------------------------------------


def test_analysed_frames_follow_the_global_sampling() -> None:
    assert analysed_frames(12, 25.0, 5.0) == [0, 5, 10]
    assert analysed_frames(13, 30.0, 5.0) == [0, 6, 12]
    assert analysed_frames(4, 25.0, 0.0) == [0, 1, 2, 3]


def _car(id: int, t_enter: float, bottom: float, direction: int) -> Actor:
    return Actor(
        id=id, cls="car", height=0.15, aspect=2.2, bottom=bottom, drift=0.0, direction=direction, speed=0.25,
        t_enter=t_enter, stop_after=math.inf, stop_for=0.0, look=id,
    )  # fmt: skip


def test_truth_of_a_hand_made_scene() -> None:
    """Three cars drive right across the whole frame and one drives left: each crosses the vertical line through the
    middle once, in its direction, and none crosses a segment above the road."""
    actors = (_car(1, 0.0, 0.6, 1), _car(2, 1.0, 0.5, -1), _car(3, 1.5, 0.75, 1), _car(4, 3.0, 0.9, 1))
    truth = Scene(seed=3, seconds=9.0, fps=25.0, size=SIZE, actors=actors).truth()
    assert truth["unique"]["car"] == 4
    sky = Line("sky", (320, 150), (320, 0))  # every car stands lower than 0.5 * 360 = 180
    diagonal = Line("diagonal", (160, 360), (480, 0))  # crossed well inside the frame, where every car is seen
    right_half = Zone("right", ((320, 0), (640, 0), (640, 360), (320, 360)))
    counts = region_counts(truth, Regions((UP, DOWN, diagonal, sky), (right_half,)), sample_fps=5.0)
    none = {"in": 0, "out": 0}
    assert counts["lines"] == {
        "up": {"car": {"in": 3, "out": 1}, "person": none, "bike": none},
        "down": {"car": {"in": 1, "out": 3}, "person": none, "bike": none},
        "diagonal": {"car": {"in": 3, "out": 1}, "person": none, "bike": none},
        "sky": {"car": none, "person": none, "bike": none},
    }
    assert counts["zones"]["right"]["car"]["entered"] == 4
    crossed = line_crossings(truth, UP, sample_fps=5.0)
    assert [(obj.id, c.direction) for obj, c in crossed] == [(1, "in"), (2, "out"), (3, "in"), (4, "in")]
    # A car 119 px wide at 160 px/s has its bottom centre at x = 160 t - 59.5, t seconds after it enters (mirrored for
    # the one going left): past 320 at t = 2.37 s, so on the next analysed frame (every 200 ms). The app counts it
    # 12 px (its margin) later, at t = 2.45 s: a frame later for cars 1, 2 and 4 (tests/test_regions_truth.py).
    assert [c.t_ms for _, c in crossed] == [2400, 3400, 4000, 5400]


def test_truth_of_a_generated_scene() -> None:
    """A plain scene's objects drive left or right: every crossing of a vertical line goes the object's way, the
    reversed line counts the same crossings the other way, and a zone over the whole frame is entered by every
    object that counts."""
    scene = Scene(1, 30.0, 25.0, SIZE)
    truth = scene.truth()
    direction = {actor.id: actor.direction for actor in scene.actors}
    crossed = line_crossings(truth, UP, sample_fps=5.0)
    assert len(crossed) >= 10
    assert all(c.direction == ("in" if direction[obj.id] > 0 else "out") for obj, c in crossed)
    assert all(obj.counted for obj, _ in crossed)
    reversed_ = line_crossings(truth, DOWN, sample_fps=5.0)
    assert [(obj.id, c.t_ms, c.direction) for obj, c in reversed_] == [
        (obj.id, c.t_ms, "out" if c.direction == "in" else "in") for obj, c in crossed
    ]
    frame = Zone("frame", ((0, 0), (640, 0), (640, 360), (0, 360)))
    counts = region_counts(truth, Regions((UP,), (frame,)), sample_fps=5.0)
    assert {cls: c["entered"] for cls, c in counts["zones"]["frame"].items()} == truth["unique"]
    assert all(c["peak"] <= truth["peak"][cls] for cls, c in counts["zones"]["frame"].items())
    assert sum(c["in"] + c["out"] for c in counts["lines"]["up"].values()) == len(crossed)


# --- crossings out of sight ----------------------------------------------------------------------------------------


def track_line(cls: str, frames: list[tuple[int, Box]], line: Line = UP) -> TrackLine:
    return TrackLine(cls, frames[0][0], frames[-1][0], trace(line, frames))


def walk_right(xs: list[float], start_ms: int = 0) -> list[tuple[int, Box]]:
    """Bottom centres at (x, 200) every 200 ms from `start_ms`; boxes 100 x 50 (diagonal 112)."""
    return [(start_ms + 200 * i, box_at(x, 200)) for i, x in enumerate(xs)]


GAP_MS = 4000  # LINK_GAP_SECONDS' default
BEFORE = walk_right([100, 130, 160, 190, 220])  # 150 px/s towards the line at x = 320, lost at 800 ms
AFTER = walk_right([460, 490, 520, 550], start_ms=2000)  # where that speed carries it 1.2 s later (x = 400): 60 px off


def test_a_crossing_behind_an_occluder_is_found_between_the_two_tracks() -> None:
    """A car walks right, is lost left of the line and found again right of it: one "in" crossing, at the later
    track's first frame, though neither track crosses by itself."""
    tracks = [track_line("car", BEFORE), track_line("car", AFTER)]
    assert tracks[0].trace.crossings == tracks[1].trace.crossings == ()
    assert gap_crossings(UP, tracks, GAP_MS) == [(0, 1, Crossing(2000, "in"))]
    assert gap_crossings(DOWN, [track_line("car", BEFORE, DOWN), track_line("car", AFTER, DOWN)], GAP_MS) == [
        (0, 1, Crossing(2000, "out"))
    ]


@pytest.mark.parametrize(
    ("later", "why"),
    [
        (track_line("person", AFTER), "another class"),
        (track_line("car", walk_right([460, 490], start_ms=800 + GAP_MS + 200)), "out of sight too long"),
        (track_line("car", walk_right([700, 730], start_ms=2000)), "300 px past where the motion carries it"),
        (track_line("car", walk_right([260, 230], start_ms=2000)), "on the same side"),
        (track_line("car", walk_right([460, 490], start_ms=600)), "begins before the earlier one ends"),
    ],
)
def test_no_crossing_is_found_between_tracks_that_are_not_one_object(later: TrackLine, why: str) -> None:
    assert gap_crossings(UP, [track_line("car", BEFORE), later], GAP_MS) == [], why


def test_no_crossing_is_found_beyond_the_segment() -> None:
    short = Line("short", (320, 100), (320, 0))  # the upper part of the frame only; the car walks at y = 200
    assert gap_crossings(short, [track_line("car", BEFORE, short), track_line("car", AFTER, short)], GAP_MS) == []


def test_each_track_ends_one_link_and_begins_one_shortest_gap_first() -> None:
    """Two tracks could continue the lost one: the sooner takes it, the other is a new object."""
    sooner = walk_right([430, 460], start_ms=1800)
    tracks = [track_line("car", BEFORE), track_line("car", AFTER), track_line("car", sooner)]
    assert gap_crossings(UP, tracks, GAP_MS) == [(0, 2, Crossing(1800, "in"))]
