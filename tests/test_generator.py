"""Synthetic scenes: deterministic, and the truth matches the pixels that were drawn."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenes.generator import (
    CLASSES,
    MAX_HIDDEN,
    MIN_IN_FRAME,
    MIN_VISIBLE_FRAMES,
    Scene,
    frame_time_ms,
    render_scene,
    write_scene,
)

SIZE = (640, 360)


def _digest(seed: int, seconds: float = 2.0) -> tuple[str, str]:
    frames, truth = render_scene(seed, seconds, 25.0, SIZE)
    h = hashlib.sha256()
    for f in frames:
        h.update(f.tobytes())
    return h.hexdigest(), json.dumps(truth, sort_keys=True)


def test_same_seed_same_frames_and_truth() -> None:
    assert _digest(5) == _digest(5)


def test_different_seed_differs() -> None:
    a, b = _digest(5), _digest(6)
    assert a[0] != b[0] and a[1] != b[1]


def test_frame_is_random_access() -> None:
    scene = Scene(2, 4.0, 25.0, SIZE)
    later = scene.frame(70).image
    assert np.array_equal(Scene(2, 4.0, 25.0, SIZE).frame(70).image, later)


def test_frame_times() -> None:
    assert [frame_time_ms(i, 25.0) for i in range(4)] == [0, 40, 80, 120]
    assert [frame_time_ms(i, 30.0) for i in (1, 2, 3)] == [33, 67, 100]
    assert Scene(0, 2.0, 30.0, SIZE).frame(2).t_ms == 67


def test_truth_follows_the_visibility_rule() -> None:
    scene = Scene(1, 30.0, 25.0, SIZE)
    truth = scene.truth()
    assert truth["rule"] == {"min_in_frame": MIN_IN_FRAME, "max_hidden": MAX_HIDDEN, "min_visible_frames": 10}
    assert truth["frames"] == 750 and truth["duration_ms"] == 30000
    assert set(truth["unique"]) == set(CLASSES)
    counted = {c: 0 for c in CLASSES}
    for obj in truth["objects"]:
        assert len(obj["boxes"]) == len(obj["visible"]) > 0
        for x1, y1, x2, y2 in obj["boxes"]:
            assert 0 <= x1 < x2 <= SIZE[0] and 0 <= y1 < y2 <= SIZE[1]
        assert obj["visible_frames"] == sum(obj["visible"])
        assert obj["counted"] == (obj["visible_frames"] >= MIN_VISIBLE_FRAMES)
        counted[obj["cls"]] += obj["counted"]
    assert counted == truth["unique"]
    assert all(truth["unique"][c] > 0 for c in CLASSES)  # 30 s always shows every class
    # The scene exercises what the pipeline must cope with: entries, exits and occlusions.
    states = [s for i in range(0, scene.n_frames, 5) for s in scene.states(i)]
    assert any(s.hidden > MAX_HIDDEN and s.in_frame >= MIN_IN_FRAME for s in states)
    assert any(s.in_frame < MIN_IN_FRAME for s in states)


def test_truth_boxes_match_drawn_pixels() -> None:
    """Pixels that differ from the empty scene lie inside truth boxes; isolated objects' boxes are exactly tight."""
    scene = Scene(3, 20.0, 25.0, SIZE)
    empty = Scene(3, 20.0, 25.0, SIZE, actors=())  # same background and sensor noise, no objects
    checked_tight = 0
    for index in range(0, scene.n_frames, 50):
        frame = scene.frame(index)
        drawn = np.any(frame.image != empty.frame(index).image, axis=2)
        inside = np.zeros_like(drawn)
        for s in frame.objects:
            x1, y1, x2, y2 = s.box
            inside[y1:y2, x1:x2] = True
        assert not np.any(drawn & ~inside), f"pixels drawn outside every truth box in frame {index}"
        for s in frame.objects:
            x1, y1, x2, y2 = s.box
            region = drawn[y1:y2, x1:x2]
            if s.visible:
                assert region.mean() > 0.2, f"object {s.id} ({s.cls}) barely drawn in its box"
            others = [o.box for o in frame.objects if o.id != s.id]
            isolated = all(o[2] <= x1 - 2 or o[0] >= x2 + 2 or o[3] <= y1 - 2 or o[1] >= y2 + 2 for o in others)
            if isolated and s.in_frame == 1.0:
                ys, xs = np.nonzero(drawn[max(0, y1 - 2) : y2 + 2, max(0, x1 - 2) : x2 + 2])
                ox, oy = max(0, x1 - 2), max(0, y1 - 2)
                assert (xs.min() + ox, ys.min() + oy, xs.max() + ox + 1, ys.max() + oy + 1) == s.box
                checked_tight += 1
    assert checked_tight >= 5


def test_classes_look_different() -> None:
    """Mean sprite colours alone do not separate the classes, but their shapes do: check aspect ratios."""
    truth = Scene(4, 30.0, 25.0, SIZE).truth()
    aspects: dict[str, list[float]] = {c: [] for c in CLASSES}
    for obj in truth["objects"]:
        for (x1, y1, x2, y2), visible in zip(obj["boxes"], obj["visible"], strict=True):
            if visible and x1 > 0 and x2 < SIZE[0]:
                aspects[obj["cls"]].append((x2 - x1) / (y2 - y1))
    assert max(aspects["person"]) < 0.6 < 1.3 < min(aspects["bike"]) <= max(aspects["bike"]) < 1.9 < min(aspects["car"])


def test_write_scene(tmp_path: Path) -> None:
    video, truth_path = tmp_path / "s.mp4", tmp_path / "s.json"
    truth = write_scene(video, truth_path, seed=9, seconds=2.0, fps=25.0, size=(320, 180), codec="mp4v")
    assert json.loads(truth_path.read_text()) == truth
    cap = cv2.VideoCapture(str(video))
    n = 0
    while cap.read()[0]:
        n += 1
    cap.release()
    assert n == truth["frames"] == 50


def _gaps_at_a_side_edge(truth: dict[str, Any]) -> int:
    """Frames in which an object of a fixed-camera scene was out of the frame between two frames in it; each such
    frame lies next to a box at the left or right edge (a walker's swinging foot), and shows nothing."""
    gaps = 0
    for obj in truth["objects"]:
        boxes = obj["boxes"]
        assert boxes[0] is not None and boxes[-1] is not None
        for k, box in enumerate(boxes):
            if box is None:
                assert not obj["visible"][k]
                beside = [b for b in (boxes[k - 1], boxes[k + 1]) if b is not None]
                assert beside and all(b[0] == 0 or b[2] == truth["width"] for b in beside), (obj["id"], k)
                gaps += 1
    return gaps


def test_long_scenes_have_a_truth() -> None:
    """Issue 30: 180 s scenes of many seeds (truth only, no pixels rendered). A walker whose foot alone was in the
    frame at a side edge left it for a frame and came back; the generator failed on it, and now writes null boxes."""
    gaps = sum(_gaps_at_a_side_edge(Scene(seed, 180.0, 25.0, (320, 180)).truth()) for seed in range(8))
    assert gaps > 0  # seed 6 has one: the case is exercised
    assert _gaps_at_a_side_edge(Scene(48535, 180.0, 25.0, (1280, 720)).truth()) > 0  # the command
