"""Scene scenarios: deterministic, plain scenes untouched, and the truth exact under pillars and camera motion."""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import math

import cv2
import numpy as np
import pytest

from scenes.generator import MAX_COVERED_S, MAX_HIDDEN, MAX_OCCLUSION_S, Actor, Scene, write_scene
from scenes.scenarios import BY_NAME, EXTRA_SCENARIOS, PLAIN, SCENARIOS, Scenario, scenario

SIZE = (320, 180)


def _digest(scene: Scene, every: int = 9) -> tuple[str, str]:
    h = hashlib.sha256()
    for index in range(0, scene.n_frames, every):
        h.update(scene.frame(index).image.tobytes())
    return h.hexdigest(), json.dumps(scene.truth(), sort_keys=True)


def _car(**changes: float) -> Actor:
    """One car crossing left to right in about 4 s, mid-height, never stopping."""
    base = Actor(
        id=1,
        cls="car",
        height=0.2,
        aspect=2.2,
        bottom=0.8,
        drift=0.0,
        direction=1,
        speed=0.35,
        t_enter=0.0,
        stop_after=math.inf,
        stop_for=0.0,
        look=7,
    )
    return dataclasses.replace(base, **changes)


def test_plain_scene_is_unchanged() -> None:
    """Scenarios must not move a plain scene by a byte: the demo model and the tests were made on them."""
    plain = Scene(0, 6.0, 25.0, SIZE)
    assert _digest(plain) == _digest(Scene(0, 6.0, 25.0, SIZE, scenario=None))
    # The truth of this scene as the generator wrote it before scenarios existed.
    truth = json.dumps(plain.truth(), separators=(",", ":"))
    assert hashlib.sha256(truth.encode()).hexdigest().startswith("d7601cf37a4642be")
    # The plain scenario's knobs plan the very same scene; only the truth's label differs.
    labelled = Scene(0, 6.0, 25.0, SIZE, scenario=PLAIN)
    assert all(np.array_equal(plain.frame(i).image, labelled.frame(i).image) for i in (0, 40, 149))
    assert {**plain.truth(), "scenario": "plain"} == labelled.truth()


def test_plain_knobs_are_the_generators_constants() -> None:
    assert (PLAIN.max_occlusion_s, PLAIN.max_covered_s) == (MAX_OCCLUSION_S, MAX_COVERED_S)
    assert not PLAIN.camera_moves and PLAIN.poles == 0


def test_scenarios_are_named_and_distinct() -> None:
    names = [s.name for s in SCENARIOS]
    assert len(set(names)) == len(names) >= 10
    assert len({dataclasses.replace(s, name="") for s in SCENARIOS}) == len(SCENARIOS)
    assert scenario("panning") is BY_NAME["panning"]
    with pytest.raises(ValueError, match="unknown scenario"):
        scenario("nope")


@pytest.mark.parametrize("name", ["mixed", "panning", "edges"])
def test_scenarios_are_deterministic(name: str) -> None:
    make = lambda: Scene(11, 3.0, 25.0, SIZE, scenario=BY_NAME[name])  # noqa: E731
    first = _digest(make())
    assert first == _digest(make())
    assert first != _digest(Scene(11, 3.0, 25.0, SIZE))
    assert json.loads(first[1])["scenario"] == name


@pytest.mark.parametrize("chosen", SCENARIOS + EXTRA_SCENARIOS, ids=lambda s: s.name)
def test_every_scenario_has_a_valid_truth(chosen: Scenario) -> None:
    truth = Scene(21, 20.0, 10.0, SIZE, scenario=chosen).truth()
    assert sum(truth["unique"].values()) > 0
    for obj in truth["objects"]:
        assert obj["boxes"][0] is not None and obj["boxes"][-1] is not None
        for box, visible in zip(obj["boxes"], obj["visible"], strict=True):
            if box is None:
                assert not visible
                continue
            x1, y1, x2, y2 = box
            assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1]


def test_density_scales_the_traffic() -> None:
    counts = {name: len(Scene(31, 60.0, 5.0, SIZE, scenario=BY_NAME[name]).actors) for name in ("sparse", "crowded")}
    assert counts["crowded"] > 2 * counts["sparse"]


def test_groups_walk_together() -> None:
    """Companions share a leader's direction and pace and enter within seconds of it."""
    people = [a for a in Scene(32, 60.0, 5.0, SIZE, scenario=BY_NAME["groups"]).actors if a.cls == "person"]
    together = [
        (a, b)
        for a in people
        for b in people
        if a.id < b.id
        and a.direction == b.direction
        and abs(a.speed / b.speed - 1) < 0.025
        and b.t_enter - a.t_enter < 6
    ]
    assert len(together) >= 2


def test_parked_objects_stay_put_for_a_long_time() -> None:
    """The parked scenario's point: objects whose box stays the same for 15 s and more (5 fps: 75 frames)."""

    def longest_still(boxes: list[list[int] | None]) -> int:
        longest = run = 1
        for before, box in itertools.pairwise(boxes):
            run = run + 1 if box is not None and box == before else 1
            longest = max(longest, run)
        return longest

    truth = Scene(34, 90.0, 5.0, SIZE, scenario=BY_NAME["parked"]).truth()
    still = [o for o in truth["objects"] if longest_still(o["boxes"]) >= 75]
    assert len(still) >= 3 and {o["cls"] for o in still} >= {"car", "person"}
    plain = Scene(34, 90.0, 5.0, SIZE).truth()
    assert not [o for o in plain["objects"] if longest_still(o["boxes"]) >= 75]


def test_objects_enter_at_the_top_and_bottom_edges() -> None:
    truth = Scene(33, 60.0, 5.0, SIZE, scenario=BY_NAME["edges"]).truth()
    first_boxes = [o["boxes"][0] for o in truth["objects"] if o["first_frame"] > 0]
    assert any(y1 == 0 and y2 < SIZE[1] / 2 and x1 > 0 and x2 < SIZE[0] for x1, y1, x2, y2 in first_boxes)
    assert any(y2 == SIZE[1] and y1 > SIZE[1] / 2 and x1 > 0 and x2 < SIZE[0] for x1, y1, x2, y2 in first_boxes)


def test_pillars_are_drawn_on_top_and_hide_objects_in_the_truth() -> None:
    """One car drives behind one wide pillar: the pillar's pixels win, and ``hidden`` is the share of the car's
    pixels the pillar covers, measured on the pixels against the same car without a pillar."""
    pillar = Scenario("pillar", poles=1, pole_width=(0.25, 0.25))
    car = (_car(),)
    with_pole = Scene(41, 4.0, 25.0, SIZE, car, scenario=pillar)
    without = Scene(41, 4.0, 25.0, SIZE, car, scenario=Scenario("none"))
    empty = Scene(41, 4.0, 25.0, SIZE, (), scenario=pillar)
    bare_empty = Scene(41, 4.0, 25.0, SIZE, (), scenario=Scenario("none"))
    hidden_seen = []
    for index in range(0, with_pole.n_frames, 5):
        frame, bare = with_pole.frame(index), without.frame(index)
        if not frame.objects:
            continue
        (state,), (bare_state,) = frame.objects, bare.objects
        assert state.box == bare_state.box and bare_state.hidden == 0.0
        shown = np.any(frame.image != empty.frame(index).image, axis=2).sum()
        drawn = np.any(bare.image != bare_empty.frame(index).image, axis=2)
        assert abs((1 - shown / drawn.sum()) - state.hidden) < 0.02, index
        assert state.visible == (state.in_frame >= 0.6 and state.hidden <= MAX_HIDDEN)
        hidden_seen.append(state.hidden)
    assert max(hidden_seen) > MAX_HIDDEN and min(hidden_seen) == 0.0  # fully behind it at times, clear at others


def test_long_occlusions_survive_the_plan() -> None:
    """Behind the pillars objects stay hidden longer than a plain scene allows."""
    chosen = BY_NAME["poles"]
    scene = Scene(42, 60.0, 10.0, SIZE, scenario=chosen)
    longest = 0
    for obj in scene.truth()["objects"]:
        run = 0
        for index, box in enumerate(obj["boxes"], start=obj["first_frame"]):
            state = next((s for s in scene.states(index) if s.id == obj["id"]), None) if box else None
            run = run + 1 if state is not None and state.hidden > MAX_HIDDEN and state.in_frame == 1.0 else 0
            longest = max(longest, run)
    assert longest / scene.fps > MAX_OCCLUSION_S


@pytest.mark.parametrize("name", ["shaky", "panning"])
def test_camera_motion_moves_the_truth_with_the_pixels(name: str) -> None:
    """A moving camera shifts background and objects alike, and the truth box is where the object's pixels are."""
    moving = Scenario(name, shake=BY_NAME[name].shake, pan=BY_NAME[name].pan)
    car = (_car(speed=0.12),)
    scene = Scene(43, 8.0, 25.0, SIZE, car, scenario=moving)
    still = Scene(43, 8.0, 25.0, SIZE, car, scenario=Scenario("still"))
    empty = Scene(43, 8.0, 25.0, SIZE, (), scenario=moving)
    offsets, tight = set(), 0
    for index in range(0, scene.n_frames, 7):
        offset = scene.camera_offset(index)
        offsets.add(offset)
        frame = scene.frame(index)
        drawn = np.any(frame.image != empty.frame(index).image, axis=2)
        if not frame.objects:
            assert not drawn.any()
            continue
        (state,), (rest,) = frame.objects, still.states(index)
        x1, y1, x2, y2 = state.box
        ys, xs = np.nonzero(drawn)
        assert x1 <= xs.min() and y1 <= ys.min() and xs.max() < x2 and ys.max() < y2, index  # pixels inside the box
        if state.in_frame == 1.0:  # ... and tight around them when the whole car is in view
            assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (x1, y1, x2, y2), index
        if state.in_frame == 1.0 and rest.in_frame == 1.0:  # the same box as a still camera, shifted
            rx1, ry1, rx2, ry2 = rest.box
            assert (x1, y1, x2, y2) == (rx1 - offset[0], ry1 - offset[1], rx2 - offset[0], ry2 - offset[1])
            tight += 1
    assert tight >= 5 and len(offsets) >= 5
    # The background moves too: phase correlation of two object-free frames recovers the offsets' difference.
    a, b = 0, next(i for i in range(7, scene.n_frames, 7) if scene.camera_offset(i) != scene.camera_offset(0))
    shift, _ = cv2.phaseCorrelate(*(np.float32(cv2.cvtColor(empty.frame(i).image, cv2.COLOR_BGR2GRAY)) for i in (a, b)))
    expected = np.subtract(scene.camera_offset(a), scene.camera_offset(b))
    assert np.allclose(shift, expected, atol=1.0), (shift, expected)


def test_write_scene_with_a_scenario(tmp_path) -> None:
    truth = write_scene(tmp_path / "s.mp4", tmp_path / "s.json", seed=44, seconds=1.0, size=SIZE, scenario=PLAIN)
    assert json.loads((tmp_path / "s.json").read_text()) == truth and truth["scenario"] == "plain"
