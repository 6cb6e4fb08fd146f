"""Synthetic street scenes with exact ground truth, for tests, the demo detector and benchmarks.

A scene is a pure function of ``(seed, seconds, fps, size)``: the same arguments give the same frames byte for byte
and the same truth. Geometry is planned in frame-relative units, so one seed at two sizes is the same scene scaled.
Any frame can be rendered on its own (``Scene.frame(i)``); frame ``i`` is at ``t_ms = round(i * 1000 / fps)``.

Three classes with distinct looks: ``car`` (wide body, cabin with windows, two black wheels), ``person`` (head,
patterned shirt, walking legs) and ``bike`` (two hollow wheels with spokes, bright frame). Objects enter and leave at
the left/right edges at different speeds, some stop for a while, and overlapping paths make them cross and briefly
occlude each other (objects lower in the frame are nearer and drawn on top); an object that would stay hidden for more
than ``MAX_OCCLUSION_S`` is left out of the plan. The background is pre-rendered once per
scene (gradients, low-frequency colour noise, muted clutter); each frame gets sensor noise and a brightness flicker.

Visibility of an object in a frame: ``in_frame`` is the share of its full box inside the frame, ``hidden`` the share
of its in-frame sprite pixels covered by objects drawn on top. It is *visible* iff ``in_frame >= MIN_IN_FRAME`` and
``hidden <= MAX_HIDDEN``. It *counts* (towards ``unique``) iff it is visible in at least ``MIN_VISIBLE_FRAMES`` frames.

Ground-truth JSON (``Scene.truth()``, written by ``write_scene``)::

    {"format": "videoanalysis-synthetic/1",
     "seed": 0, "fps": 25.0, "width": 1280, "height": 720, "frames": 750, "duration_ms": 30000,
     "classes": ["car", "person", "bike"],
     "rule": {"min_in_frame": 0.6, "max_hidden": 0.4, "min_visible_frames": 10},
     "unique": {"car": 7, "person": 5, "bike": 3},   # objects that count, per class (every class listed)
     "peak": {"car": 2, "person": 3, "bike": 1},     # most objects of a class visible in one frame
     "objects": [{"id": 1, "cls": "car", "counted": true, "visible_frames": 212,
                  "first_frame": 0,                  # frames first_frame .. first_frame + len(boxes) - 1
                  "boxes": [[x1, y1, x2, y2], ...],  # integer pixel box clipped to the frame, x2/y2 exclusive
                  "visible": [true, ...]}]}          # per frame, the rule above

An object appears in ``objects`` for every frame in which at least one of its pixels is inside the frame, occluded or
not; objects never inside the frame are omitted.

Scenarios (``scenes.scenarios``): ``Scene(..., scenario=...)`` varies the plan and the rendering on purpose (density,
groups of pedestrians, foreground pillars, long occlusions, pauses, top/bottom entries, slow and fast movers, a shaking
or panning camera). ``scenario=None`` is the plain scene above, byte for byte. With a scenario the truth gains
``"scenario": name``; pillars are drawn on top of objects and count towards ``hidden``; a moving camera shifts the
whole frame (background, pillars, objects) and the truth boxes alike.

An object can leave the view and come back: a walker entering or leaving at a side edge whose swinging foot alone was
in the frame, and left it for a frame or two, in any scene (the longer a scene, the likelier); the camera moving off
it and back, in a scenario. Its ``boxes`` entry is ``null`` (and ``visible`` false) for the frames in between.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from scenes.scenarios import PLAIN, Scenario
from scenes.writer import Codec, write_video

CLASSES: tuple[str, ...] = ("car", "person", "bike")
FORMAT = "videoanalysis-synthetic/1"
MIN_IN_FRAME = 0.6
MAX_HIDDEN = 0.4
MIN_VISIBLE_FRAMES = 10

# Per class: (height range as a share of frame height, width/height range, speed range in frame widths per second,
# arrivals per second). Speeds differ per class so tracks see slow walkers and fast cars.
_CLASS_PLAN: dict[str, tuple[tuple[float, float], tuple[float, float], tuple[float, float], float]] = {
    "car": ((0.07, 0.24), (2.0, 2.5), (0.07, 0.24), 0.22),
    "person": ((0.12, 0.38), (0.36, 0.44), (0.03, 0.07), 0.12),
    "bike": ((0.08, 0.22), (1.55, 1.8), (0.05, 0.12), 0.09),
}
_LEAD_IN_S = 12.0  # objects arrive from this long before t=0, so scenes start with objects already inside
_NOISE_FRAMES = 7  # distinct pre-computed sensor-noise fields, cycled per frame
MAX_OCCLUSION_S = 1.0  # occlusions are brief: objects hidden longer than this are left out of the plan
MAX_COVERED_S = 2.0  # ... and so are objects partly covered (hidden > _COVERED) for longer than this
_COVERED = 0.2
_PROBE_FPS, _PROBE_SIZE = 10.0, (320, 180)
_ASPECT = 9 / 16  # frame height / width the plan assumes when it turns an object's size into frame widths

_CAR_COLOURS = ((40, 40, 200), (190, 90, 30), (30, 190, 230), (50, 160, 40), (200, 200, 205), (140, 40, 150))
_SHIRT_COLOURS = ((30, 120, 240), (220, 60, 60), (60, 200, 60), (200, 50, 200), (40, 220, 220), (240, 240, 240))
_SKIN_COLOURS = ((130, 170, 220), (90, 130, 190), (60, 90, 140), (150, 190, 235))
_TROUSER_COLOURS = ((90, 40, 20), (30, 30, 30), (40, 70, 110), (110, 110, 110))
_BIKE_COLOURS = ((0, 140, 255), (255, 200, 0), (0, 220, 120), (180, 0, 255), (40, 40, 230))


def frame_time_ms(index: int, fps: float) -> int:
    """Presentation time of frame ``index`` in integer milliseconds (the contract's ``t_ms``)."""
    return round(index * 1000.0 / fps)


@dataclass(frozen=True)
class Actor:
    """One object's plan: what it is and how it moves, in frame-relative units (widths, heights, seconds)."""

    id: int
    cls: str
    height: float  # share of frame height
    aspect: float  # width / height
    bottom: float  # share of frame height where the object stands at t_enter
    drift: float  # vertical speed, frame heights per moving second
    direction: int  # +1 moves right, -1 moves left
    speed: float  # frame widths per second while moving
    t_enter: float  # seconds; the object touches the frame edge at this time
    stop_after: float  # moving seconds before a stop (inf: never stops)
    stop_for: float  # seconds stopped
    look: int  # seeds the sprite's colours and texture
    entry_x: float = 0.0  # frame widths from the entry side: objects entering at the top or bottom edge start inside

    def moving_time(self, t: float) -> float:
        """Seconds spent moving since ``t_enter``, i.e. time with the stop taken out."""
        dt = t - self.t_enter
        if dt <= self.stop_after:
            return dt
        return max(self.stop_after, dt - self.stop_for)


@dataclass(frozen=True)
class ObjectState:
    """An object in one frame: clipped box, visibility measures and the pixel placement of its sprite."""

    id: int
    cls: str
    box: tuple[int, int, int, int]  # clipped to the frame, x2/y2 exclusive
    in_frame: float
    hidden: float
    visible: bool


@dataclass
class RenderedFrame:
    """A rendered frame with its time and the objects touching it, in drawing order (back to front)."""

    index: int
    t_ms: int
    image: np.ndarray
    objects: list[ObjectState] = field(default_factory=list)


@dataclass(frozen=True)
class _Sprite:
    images: tuple[np.ndarray, ...]  # animation phases, each (h, w, 3) uint8, tight to the mask
    masks: tuple[np.ndarray, ...]  # matching (h, w) bool
    boxes: tuple[tuple[int, int, int, int], ...]  # tight box of each phase's mask in sprite pixels, x2/y2 exclusive
    stride: float  # pixels travelled per animation phase


@dataclass(frozen=True)
class _Placement:
    actor: Actor
    x: int  # sprite top-left in frame pixels
    y: int
    phase: int


class Scene:
    """A deterministic scene; frames are rendered on demand and the truth is computed once."""

    def __init__(
        self,
        seed: int = 0,
        seconds: float = 30.0,
        fps: float = 25.0,
        size: tuple[int, int] = (1280, 720),
        actors: tuple[Actor, ...] | None = None,
        *,
        scenario: Scenario | None = None,
    ):
        """``actors`` replaces the seed's planned objects (tests use it to render a scene's empty background);
        ``scenario`` varies the scene on purpose (None: the plain scene, exactly as without scenarios)."""
        if seconds <= 0 or fps <= 0 or size[0] < 64 or size[1] < 64:
            raise ValueError("seconds and fps must be positive and the size at least 64x64")
        self.seed = seed
        self.seconds = seconds
        self.fps = float(fps)
        self.width, self.height = size
        self.n_frames = math.floor(seconds * self.fps + 1e-9)
        self.scenario = scenario
        knobs = scenario or PLAIN
        self.actors = _plan(seed, seconds, scenario) if actors is None else actors
        self._sprites = {a.id: _make_sprite(a, seed, self.width, self.height) for a in self.actors}
        # A moving camera crops each frame from a larger canvas; pillars are as tall as the canvas.
        self._camera = _Camera.make(seed, knobs, self.width, self.height)
        margin_x, margin_y = self._camera.margin if self._camera else (0, 0)
        self._margin = (margin_x, margin_y)
        self._background = _make_background(seed, self.width + 2 * margin_x, self.height + 2 * margin_y)
        self._poles = _make_poles(seed, knobs, self.width, self.height + 2 * margin_y)
        self._noise = _make_noise(seed, self.width, self.height)
        self._truth: dict[str, Any] | None = None

    def frame(self, index: int) -> RenderedFrame:
        """Render frame ``index`` (0-based) with its object states."""
        placements = self._placements(index)
        offset = self.camera_offset(index)
        states = self._states(placements, self._pole_spans(offset))
        if self._camera is None:
            image = self._background.copy()
        else:
            x0, y0 = self._margin[0] + offset[0], self._margin[1] + offset[1]
            image = self._background[y0 : y0 + self.height, x0 : x0 + self.width].copy()
        for p in placements:
            _paste(image, self._sprites[p.actor.id], p)
        y0 = self._margin[1] + offset[1]
        for fx0, fx1, pole, sx0 in self._poles_in_view(offset):
            image[:, fx0:fx1] = pole[y0 : y0 + self.height, sx0 : sx0 + fx1 - fx0]
        pos, neg = self._noise[(index * 3 + self.seed) % _NOISE_FRAMES]
        cv2.add(image, pos, dst=image)
        cv2.subtract(image, neg, dst=image)
        flicker = round(4 * math.sin(index * 0.37 + self.seed))
        if flicker > 0:
            cv2.add(image, (flicker, flicker, flicker, 0), dst=image)  # type: ignore[call-overload]  # a Scalar
        elif flicker < 0:
            cv2.subtract(image, (-flicker, -flicker, -flicker, 0), dst=image)  # type: ignore[call-overload]
        return RenderedFrame(index=index, t_ms=frame_time_ms(index, self.fps), image=image, objects=states)

    def frames(self) -> Iterator[np.ndarray]:
        """All frames in order, BGR uint8."""
        for i in range(self.n_frames):
            yield self.frame(i).image

    def states(self, index: int) -> list[ObjectState]:
        """Object states of frame ``index`` without rendering pixels."""
        return self._states(self._placements(index), self._pole_spans(self.camera_offset(index)))

    def camera_offset(self, index: int) -> tuple[int, int]:
        """Pixels the view of frame ``index`` is shifted by (x right, y down); (0, 0) for a fixed camera."""
        return (0, 0) if self._camera is None else self._camera.offset(index / self.fps)

    def _poles_in_view(self, offset: tuple[int, int]) -> list[tuple[int, int, np.ndarray, int]]:
        """Each pillar inside the view: frame columns ``[x0, x1)``, its image and the first of its columns shown."""
        out = []
        for x, pole in self._poles:
            left = x - offset[0]
            x0, x1 = max(left, 0), min(left + pole.shape[1], self.width)
            if x0 < x1:
                out.append((x0, x1, pole, x0 - left))
        return out

    def _pole_spans(self, offset: tuple[int, int]) -> list[tuple[int, int]]:
        """Frame columns covered by pillars (they span the full height), for the truth's ``hidden``."""
        return [(x0, x1) for x0, x1, _, _ in self._poles_in_view(offset)]

    def truth(self) -> dict[str, Any]:
        """Ground truth of the whole scene in the JSON format of the module docstring."""
        if self._truth is None:
            self._truth = self._compute_truth()
        return self._truth

    def _compute_truth(self) -> dict[str, Any]:
        tracks: dict[int, dict[str, Any]] = {}
        peak = dict.fromkeys(CLASSES, 0)
        for i in range(self.n_frames):
            visible_now = dict.fromkeys(CLASSES, 0)
            for s in self.states(i):
                obj = tracks.setdefault(s.id, {"id": s.id, "cls": s.cls, "first_frame": i, "boxes": [], "visible": []})
                gap = i - obj["first_frame"] - len(obj["boxes"])
                if gap:  # a swinging foot left the frame for a frame, or the view moved off the object and back
                    obj["boxes"].extend([None] * gap)
                    obj["visible"].extend([False] * gap)
                obj["boxes"].append(list(s.box))
                obj["visible"].append(s.visible)
                visible_now[s.cls] += s.visible
            for c in CLASSES:
                peak[c] = max(peak[c], visible_now[c])
        objects = []
        unique = dict.fromkeys(CLASSES, 0)
        for obj in sorted(tracks.values(), key=lambda o: o["id"]):
            n_visible = sum(obj["visible"])
            counted = n_visible >= MIN_VISIBLE_FRAMES
            unique[obj["cls"]] += counted
            objects.append(
                {
                    "id": obj["id"],
                    "cls": obj["cls"],
                    "counted": counted,
                    "visible_frames": n_visible,
                    "first_frame": obj["first_frame"],
                    "boxes": obj["boxes"],
                    "visible": obj["visible"],
                }
            )
        scenario = {} if self.scenario is None else {"scenario": self.scenario.name}
        return {
            "format": FORMAT,
            "seed": self.seed,
            **scenario,
            "fps": self.fps,
            "width": self.width,
            "height": self.height,
            "frames": self.n_frames,
            "duration_ms": frame_time_ms(self.n_frames, self.fps),
            "classes": list(CLASSES),
            "rule": {"min_in_frame": MIN_IN_FRAME, "max_hidden": MAX_HIDDEN, "min_visible_frames": MIN_VISIBLE_FRAMES},
            "unique": unique,
            "peak": peak,
            "objects": objects,
        }

    def _placements(self, index: int) -> list[_Placement]:
        t = index / self.fps
        shift_x, shift_y = self.camera_offset(index)
        out = []
        for a in self.actors:
            sprite = self._sprites[a.id]
            h, w = sprite.masks[0].shape
            moved = a.moving_time(t)
            if moved < 0:
                continue
            dist = moved * a.speed * self.width
            if a.entry_x:
                dist += a.entry_x * self.width
            x = -w + dist if a.direction > 0 else self.width - dist
            bottom = (a.bottom + a.drift * moved) * self.height
            xi, yi = round(x) - shift_x, round(bottom) - h - shift_y
            if xi >= self.width or xi + w <= 0 or yi >= self.height or yi + h <= 0:
                continue
            phase = int(dist / sprite.stride) % len(sprite.images)
            out.append(_Placement(actor=a, x=xi, y=yi, phase=phase))
        out.sort(key=lambda p: (p.y + self._sprites[p.actor.id].masks[0].shape[0], p.actor.id))
        return out

    def _states(self, placements: list[_Placement], poles: list[tuple[int, int]]) -> list[ObjectState]:
        """States of the placed objects; ``poles`` are frame column spans of pillars drawn on top of them all."""
        owner = np.zeros((self.height, self.width), dtype=np.int16)
        clipped = []
        for k, p in enumerate(placements, start=1):
            mask = self._sprites[p.actor.id].masks[p.phase]
            region = _clip(p, mask.shape, self.width, self.height)
            (fy0, fy1, fx0, fx1), (sy0, sy1, sx0, sx1) = region
            owner[fy0:fy1, fx0:fx1][mask[sy0:sy1, sx0:sx1]] = k
            clipped.append(region)
        for x0, x1 in poles:
            owner[:, x0:x1] = -1
        states = []
        for k, (p, region) in enumerate(zip(placements, clipped, strict=True), start=1):
            mask = self._sprites[p.actor.id].masks[p.phase]
            (fy0, fy1, fx0, fx1), (sy0, sy1, sx0, sx1) = region
            own = mask[sy0:sy1, sx0:sx1]
            n_in = int(np.count_nonzero(own))
            if n_in == 0:
                continue
            n_shown = int(np.count_nonzero(owner[fy0:fy1, fx0:fx1][own] == k))
            bx0, by0, bx1, by1 = self._sprites[p.actor.id].boxes[p.phase]
            x0, y0 = max(p.x + bx0, 0), max(p.y + by0, 0)
            x1, y1 = min(p.x + bx1, self.width), min(p.y + by1, self.height)
            in_frame = (x1 - x0) * (y1 - y0) / float((bx1 - bx0) * (by1 - by0))
            hidden = 1.0 - n_shown / n_in
            states.append(
                ObjectState(
                    id=p.actor.id,
                    cls=p.actor.cls,
                    box=(x0, y0, x1, y1),
                    in_frame=in_frame,
                    hidden=hidden,
                    visible=in_frame >= MIN_IN_FRAME and hidden <= MAX_HIDDEN,
                )
            )
        return states


def render_scene(
    seed: int = 0,
    seconds: float = 30.0,
    fps: float = 25.0,
    size: tuple[int, int] = (1280, 720),
    scenario: Scenario | None = None,
) -> tuple[Iterator[np.ndarray], dict[str, Any]]:
    """Frames (lazy iterator, BGR uint8) and ground truth of one scene."""
    scene = Scene(seed, seconds, fps, size, scenario=scenario)
    return scene.frames(), scene.truth()


def write_scene(
    path: str | Path,
    truth_path: str | Path | None = None,
    seed: int = 0,
    seconds: float = 30.0,
    fps: float = 25.0,
    size: tuple[int, int] = (1280, 720),
    codec: Codec = "mp4v",
    scenario: Scenario | None = None,
) -> dict[str, Any]:
    """Encode a scene to ``path`` and write its truth JSON to ``truth_path`` (if given); returns the truth."""
    scene = Scene(seed, seconds, fps, size, scenario=scenario)
    truth = scene.truth()
    write_video(scene.frames(), str(path), scene.fps, codec)
    if truth_path is not None:
        Path(truth_path).write_text(json.dumps(truth, separators=(",", ":")))
    return truth


def parse_size(text: str) -> tuple[int, int]:
    """Parse ``WxH`` (e.g. ``1280x720``)."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 1280x720, got {text!r}") from None
    return w, h


def _plan(seed: int, seconds: float, scenario: Scenario | None = None) -> tuple[Actor, ...]:
    """The seed's objects, without those that would stay hidden behind others for longer than a brief occlusion.

    Long occlusions are checked on a small probe rendering, so the plan does not depend on the output size. The
    probe includes the scenario's pillars, so an object hidden behind one for too long is left out as well.
    """
    knobs = scenario or PLAIN
    actors = _plan_actors(seed, seconds, knobs)
    probe = Scene(seed, seconds, _PROBE_FPS, _PROBE_SIZE, actors=actors, scenario=scenario)
    hidden_run: dict[int, int] = {}
    covered_run: dict[int, int] = {}
    dropped: set[int] = set()
    for i in range(probe.n_frames):
        for s in probe.states(i):
            hidden_run[s.id] = hidden_run.get(s.id, 0) + 1 if s.hidden > MAX_HIDDEN else 0
            covered_run[s.id] = covered_run.get(s.id, 0) + 1 if s.hidden > _COVERED else 0
            too_long = covered_run[s.id] > knobs.max_covered_s * _PROBE_FPS
            if hidden_run[s.id] > knobs.max_occlusion_s * _PROBE_FPS or too_long:
                dropped.add(s.id)
    return tuple(a for a in actors if a.id not in dropped)


_Draft = tuple[float, str, float, float, float, float, int, float, float, float, int, float]
"""t_enter, cls, height, aspect, bottom, drift, direction, speed, stop_after, stop_for, look, entry_x."""


def _plan_actors(seed: int, seconds: float, knobs: Scenario = PLAIN) -> tuple[Actor, ...]:
    """Draw the objects. The scenario's extra choices (speed factor, top/bottom entry, group companions) come from a
    second random stream, so the plain knobs draw exactly the plain scene's objects."""
    rng = np.random.default_rng([seed, 0])
    extra = np.random.default_rng([seed, 5])
    drafts: list[_Draft] = []
    for cls in CLASSES:
        (h0, h1), (a0, a1), (v0, v1), rate = _CLASS_PLAN[cls]
        rate = rate * knobs.density
        t = -_LEAD_IN_S + rng.exponential(1.0 / rate)
        while t < seconds:
            depth = rng.uniform(0.0, 1.0)  # 0 far (high in the frame, small), 1 near (low, large)
            size_u = float(np.clip(depth + rng.normal(0.0, 0.15), 0.0, 1.0))
            stops = rng.uniform() < knobs.stop_share
            draft: _Draft = (
                t,
                cls,
                h0 + (h1 - h0) * size_u,
                rng.uniform(a0, a1),
                0.42 + 0.56 * depth,
                rng.normal(0.0, 0.006),
                1 if rng.uniform() < 0.5 else -1,
                rng.uniform(v0, v1),
                rng.uniform(*knobs.stop_after_s) if stops else math.inf,
                rng.uniform(*knobs.stop_for_s) if stops else 0.0,
                int(rng.integers(0, 2**31)),
                0.0,
            )
            drafts.extend(_vary(draft, size_u, knobs, extra))  # the plain knobs return the draft unchanged
            t += rng.exponential(1.0 / rate)
    drafts.sort(key=lambda d: d[0])
    return tuple(
        Actor(
            id=i,
            cls=cls,
            height=height,
            aspect=aspect,
            bottom=bottom,
            drift=drift,
            direction=direction,
            speed=speed,
            t_enter=t,
            stop_after=stop_after,
            stop_for=stop_for,
            look=look,
            entry_x=entry_x,
        )
        for i, (t, cls, height, aspect, bottom, drift, direction, speed, stop_after, stop_for, look, entry_x) in (
            enumerate(drafts, start=1)
        )
    )


def _vary(draft: _Draft, size_u: float, knobs: Scenario, rng: np.random.Generator) -> list[_Draft]:
    """A draft under the scenario's knobs: a faster or slower mover, an entry at the top or bottom edge, or a person
    with companions walking beside and behind (same direction and pace, a little nearer or farther)."""
    t, cls, height, aspect, bottom, drift, direction, speed, stop_after, stop_for, look, entry_x = draft
    lo, hi = knobs.speed_scale
    speed *= math.exp(rng.uniform(math.log(lo), math.log(hi)))
    if rng.uniform() < knobs.vertical_share:
        # Enter at the top (moving down) or the bottom (moving up), somewhere along the edge, drifting sideways.
        from_top = rng.uniform() < 0.5
        vertical = speed * rng.uniform(0.8, 1.6)  # frame heights per second
        entry_x = height * aspect * _ASPECT + rng.uniform(0.05, 0.6)  # the whole width starts inside the frame
        bottom, drift = (0.0, vertical) if from_top else (1.0 + height, -vertical)
        speed *= rng.uniform(0.0, 0.3)
        return [(t, cls, height, aspect, bottom, drift, direction, speed, stop_after, stop_for, look, entry_x)]
    out = [(t, cls, height, aspect, bottom, drift, direction, speed, stop_after, stop_for, look, entry_x)]
    if cls != "person" or rng.uniform() >= knobs.group_share:
        return out
    (h0, h1), (a0, a1), _, _ = _CLASS_PLAN[cls]
    behind = 0.0  # frame widths the next companion trails the leader by
    for _ in range(int(rng.integers(knobs.group_size[0], knobs.group_size[1] + 1)) - 1):
        depth_step = rng.uniform(-0.05, 0.05)
        u = float(np.clip(size_u + depth_step / 0.56, 0.0, 1.0))
        mate_height, mate_aspect = h0 + (h1 - h0) * u, rng.uniform(a0, a1)
        behind += rng.uniform(0.65, 1.4) * mate_height * mate_aspect * _ASPECT
        mate = (
            t + behind / speed,
            cls,
            mate_height,
            mate_aspect,
            float(np.clip(bottom + depth_step, 0.42, 0.98)),
            drift,
            direction,
            speed * rng.uniform(0.98, 1.02),
            stop_after,
            stop_for,
            int(rng.integers(0, 2**31)),
            0.0,
        )
        out.append(mate)
    return out


def _clip(
    p: _Placement, shape: tuple[int, int], width: int, height: int
) -> tuple[tuple[int, int, int, int], tuple[int, int, int, int]]:
    """Frame rows/cols and matching sprite rows/cols of a placement, clipped to the frame."""
    h, w = shape
    fx0, fy0 = max(p.x, 0), max(p.y, 0)
    fx1, fy1 = min(p.x + w, width), min(p.y + h, height)
    fx1, fy1 = max(fx1, fx0), max(fy1, fy0)
    return (fy0, fy1, fx0, fx1), (fy0 - p.y, fy1 - p.y, fx0 - p.x, fx1 - p.x)


def _paste(image: np.ndarray, sprite: _Sprite, p: _Placement) -> None:
    height, width = image.shape[:2]
    (fy0, fy1, fx0, fx1), (sy0, sy1, sx0, sx1) = _clip(p, sprite.masks[p.phase].shape, width, height)
    mask = sprite.masks[p.phase][sy0:sy1, sx0:sx1]
    np.copyto(image[fy0:fy1, fx0:fx1], sprite.images[p.phase][sy0:sy1, sx0:sx1], where=mask[..., None])


def _make_background(seed: int, width: int, height: int) -> np.ndarray:
    rng = np.random.default_rng([seed, 1])
    horizon = int(height * rng.uniform(0.3, 0.4))
    img = np.empty((height, width, 3), dtype=np.float32)
    sky_top, sky_low = rng.uniform(150, 230, 3), rng.uniform(120, 200, 3)
    ramp = np.linspace(0.0, 1.0, horizon, dtype=np.float32)[:, None, None]
    img[:horizon] = sky_top * (1 - ramp) + sky_low * ramp
    ground = rng.uniform(80, 130) + rng.uniform(-12, 12, 3)
    ramp = np.linspace(0.0, 1.0, height - horizon, dtype=np.float32)[:, None, None]
    img[horizon:] = ground * (1.0 - 0.25 * ramp)
    for scale, amp in ((12, 22.0), (60, 10.0), (240, 6.0)):  # low to high frequency colour noise
        small = rng.normal(0.0, amp, (max(2, height * scale // 720), max(2, width * scale // 720), 3))
        img += cv2.resize(small.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    # Muted clutter: buildings with window grids above the horizon, blotches and lane markings below.
    s = height / 720.0
    for _ in range(rng.integers(5, 10)):
        bw, bh = rng.uniform(60, 220) * s, rng.uniform(60, 200) * s
        x0 = rng.uniform(-50, width)
        colour = rng.uniform(70, 170) + rng.uniform(-10, 10, 3)
        y0 = horizon - bh
        cv2.rectangle(img, (int(x0), int(y0)), (int(x0 + bw), horizon), colour.tolist(), -1)
        win = colour * rng.uniform(0.6, 0.85)
        step = max(6.0, 24 * s)
        for wy in np.arange(y0 + step / 2, horizon - step, step):
            for wx in np.arange(x0 + step / 2, x0 + bw - step / 2, step):
                cv2.rectangle(img, (int(wx), int(wy)), (int(wx + step / 2), int(wy + step / 2)), win.tolist(), -1)
    for _ in range(rng.integers(15, 30)):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(horizon, height)))
        axes = (int(rng.uniform(10, 90) * s), int(rng.uniform(5, 30) * s))
        shade = (rng.uniform(-25, 25) + rng.uniform(-6, 6, 3)).tolist()
        patch = np.zeros_like(img)
        cv2.ellipse(patch, centre, axes, float(rng.uniform(0, 180)), 0, 360, shade, -1)
        img += patch
    for lane in rng.uniform(0.5, 0.95, rng.integers(1, 4)):
        y = int(horizon + (height - horizon) * lane)
        dash, gap = rng.uniform(30, 90) * s, rng.uniform(30, 90) * s
        for x in np.arange(rng.uniform(-dash, 0), width, dash + gap):
            cv2.rectangle(img, (int(x), y), (int(x + dash), y + max(2, int(6 * s))), (190, 190, 185), -1)
    for _ in range(rng.integers(3, 7)):  # poles and thin lines
        x = int(rng.uniform(0, width))
        cv2.line(
            img, (x, int(horizon * rng.uniform(0.3, 1.0))), (x, int(rng.uniform(horizon, height))), (60, 60, 65), 2
        )
    return np.clip(img, 0, 255).astype(np.uint8)


@dataclass(frozen=True)
class _Camera:
    """A moving camera: hand-held shake (a sum of sines per axis) and/or a pan (hold, ease across, hold, ease back)."""

    shake_px: float
    shake_waves: tuple[tuple[tuple[float, float, float], ...], tuple[tuple[float, float, float], ...]]
    pan_px: float
    pan_hold_s: float
    pan_move_s: float
    pan_phase_s: float

    @property
    def margin(self) -> tuple[int, int]:
        """The most pixels the view moves from rest, per axis: the canvas is this much larger on every side."""
        return math.ceil(self.shake_px + self.pan_px) + 1, math.ceil(self.shake_px) + 1

    def offset(self, t: float) -> tuple[int, int]:
        """Pixels the view is shifted by at ``t`` seconds (x right, y down)."""
        shake = [
            self.shake_px * sum(a * math.sin(2 * math.pi * f * t + phase) for a, f, phase in waves)
            for waves in self.shake_waves
        ]
        return round(shake[0] + self.pan_px * self._pan(t)), round(shake[1])

    def _pan(self, t: float) -> float:
        """Pan position in [-1, 1]: hold at -1, ease to +1, hold, ease back; periodic."""
        hold, move = self.pan_hold_s, self.pan_move_s
        tau = (t + self.pan_phase_s) % (2 * (hold + move))
        if tau < hold:
            return -1.0
        if tau < hold + move:
            return -math.cos(math.pi * (tau - hold) / move)
        if tau < 2 * hold + move:
            return 1.0
        return math.cos(math.pi * (tau - 2 * hold - move) / move)

    @classmethod
    def make(cls, seed: int, knobs: Scenario, width: int, height: int) -> _Camera | None:
        """The scene's camera path, or None for a fixed camera (the plain scenes)."""
        if not knobs.camera_moves:
            return None
        rng = np.random.default_rng([seed, 4])
        waves = []
        for _ in range(2):
            amps = rng.uniform(0.3, 1.0, 3)
            amps /= amps.sum()  # the sum of the sines stays within the amplitude
            freqs, phases = rng.uniform(0.4, 3.0, 3).tolist(), rng.uniform(0.0, 2 * math.pi, 3).tolist()
            waves.append(tuple(zip(amps.tolist(), freqs, phases, strict=True)))
        hold, move = float(rng.uniform(2.0, 5.0)), float(rng.uniform(4.0, 8.0))
        return cls(
            shake_px=knobs.shake * height,
            shake_waves=(waves[0], waves[1]),
            pan_px=knobs.pan * width,
            pan_hold_s=hold,
            pan_move_s=move,
            pan_phase_s=float(rng.uniform(0.0, 2 * (hold + move))),
        )


def _make_poles(seed: int, knobs: Scenario, width: int, canvas_height: int) -> list[tuple[int, np.ndarray]]:
    """Foreground pillars (rest-view x of the left edge, image as tall as the canvas), spread across the frame."""
    rng = np.random.default_rng([seed, 6])
    poles = []
    for k in range(knobs.poles):
        w = max(3, round(rng.uniform(*knobs.pole_width) * width))
        x = round((k + rng.uniform(0.15, 0.85)) / knobs.poles * width - w / 2)
        base = rng.uniform(60, 170) + rng.uniform(-10, 10, 3)
        across = 0.55 + 0.45 * np.sin(np.pi * (np.arange(w) + 0.5) / w)  # a round pillar: lit in the middle
        img = base[None, None, :] * across[None, :, None] * np.ones((canvas_height, 1, 1))
        img += rng.normal(0.0, 5.0, (canvas_height, 1, 3))  # weathering along its height
        for _ in range(rng.integers(0, 3)):  # posters or signs
            y0 = int(rng.uniform(0.1, 0.8) * canvas_height)
            img[y0 : y0 + int(rng.uniform(0.05, 0.15) * canvas_height)] = rng.uniform(30, 230, 3)
        poles.append((x, np.clip(img, 0, 255).astype(np.uint8)))
    return poles


def _make_noise(seed: int, width: int, height: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Sensor-noise fields split into positive and negative parts, for saturating uint8 add/subtract."""
    rng = np.random.default_rng([seed, 2])
    fields = []
    for _ in range(_NOISE_FRAMES):
        n = rng.normal(0.0, 3.5, (height, width, 3)).astype(np.float32)
        fields.append((np.clip(n, 0, 255).astype(np.uint8), np.clip(-n, 0, 255).astype(np.uint8)))
    return fields


def _make_sprite(actor: Actor, seed: int, width: int, height: int) -> _Sprite:
    rng = np.random.default_rng([seed, 3, actor.look])
    h = max(12, round(actor.height * height))
    w = max(6, round(h * actor.aspect))
    draw = {"car": _draw_car, "person": _draw_person, "bike": _draw_bike}[actor.cls]
    images, masks = [], []
    phases = {"car": 1, "person": 4, "bike": 3}[actor.cls]
    for phase in range(phases):
        img = np.zeros((h, w, 3), dtype=np.uint8)
        mask = np.zeros((h, w), dtype=np.uint8)
        draw(img, mask, np.random.default_rng([seed, 3, actor.look]), phase, phases)
        if actor.direction < 0:
            img, mask = img[:, ::-1], mask[:, ::-1]
        # Fine texture so sprites are not flat colour.
        grain = rng.normal(0.0, 6.0, img.shape).astype(np.int16)
        img = np.clip(img.astype(np.int16) + grain, 0, 255).astype(np.uint8)
        images.append(img)
        masks.append(mask.astype(bool))
    # Crop all phases to their union box, so the sprite's feet/wheels stay on one line across phases.
    union = np.logical_or.reduce(masks)
    ys, xs = np.nonzero(union)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    images = [np.ascontiguousarray(i[y0:y1, x0:x1]) for i in images]
    masks = [np.ascontiguousarray(m[y0:y1, x0:x1]) for m in masks]
    boxes = []
    for m in masks:
        ys, xs = np.nonzero(m)
        boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    stride = {"car": 1e9, "person": 0.18 * h, "bike": 0.15 * h}[actor.cls]
    return _Sprite(images=tuple(images), masks=tuple(masks), boxes=tuple(boxes), stride=stride)


def _pick(rng: np.random.Generator, palette: tuple[tuple[int, int, int], ...]) -> tuple[int, int, int]:
    base = np.array(palette[int(rng.integers(0, len(palette)))], dtype=np.float64)
    blue, green, red = (int(v) for v in np.clip(base + rng.normal(0, 12, 3), 0, 255))
    return blue, green, red


def _poly(img: np.ndarray, mask: np.ndarray, pts: list[tuple[float, float]], colour: tuple[int, int, int]) -> None:
    arr = np.array([[round(x), round(y)] for x, y in pts], dtype=np.int32)
    cv2.fillPoly(img, [arr], colour)
    cv2.fillPoly(mask, [arr], 1)


def _draw_car(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, phase: int, phases: int) -> None:
    h, w = mask.shape
    body = _pick(rng, _CAR_COLOURS)
    dark = tuple(int(c * 0.6) for c in body)
    wheel_r = 0.17 * h
    # Lower body with a darker sill stripe, cabin towards the rear with two windows (car faces right).
    _poly(img, mask, [(0, 0.42 * h), (w - 1, 0.5 * h), (w - 1, h - wheel_r), (0, h - wheel_r)], body)
    _poly(img, mask, [(0.1 * w, 0.44 * h), (0.22 * w, 0.05 * h), (0.62 * w, 0.05 * h), (0.78 * w, 0.47 * h)], body)
    cv2.rectangle(img, (0, int(0.68 * h)), (w - 1, int(0.75 * h)), dark, -1)
    glass = (int(rng.uniform(150, 200)), int(rng.uniform(120, 160)), int(rng.uniform(70, 100)))
    _poly(img, mask, [(0.15 * w, 0.42 * h), (0.25 * w, 0.12 * h), (0.4 * w, 0.12 * h), (0.4 * w, 0.42 * h)], glass)
    _poly(img, mask, [(0.44 * w, 0.42 * h), (0.44 * w, 0.12 * h), (0.6 * w, 0.12 * h), (0.72 * w, 0.44 * h)], glass)
    cv2.rectangle(img, (int(0.93 * w), int(0.52 * h)), (w - 1, int(0.62 * h)), (80, 230, 250), -1)
    cv2.rectangle(img, (0, int(0.52 * h)), (int(0.04 * w), int(0.62 * h)), (30, 30, 200), -1)
    for cx in (0.2 * w, 0.8 * w):
        centre = (int(cx), int(h - wheel_r - 1))
        cv2.circle(img, centre, int(wheel_r), (25, 25, 25), -1)
        cv2.circle(mask, centre, int(wheel_r), 1, -1)
        cv2.circle(img, centre, max(1, int(wheel_r * 0.45)), (150, 150, 150), -1)


def _draw_person(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, phase: int, phases: int) -> None:
    h, w = mask.shape
    skin, shirt, trousers = _pick(rng, _SKIN_COLOURS), _pick(rng, _SHIRT_COLOURS), _pick(rng, _TROUSER_COLOURS)
    striped = rng.uniform() < 0.5
    head_r = 0.085 * h
    head = (int(w / 2), int(head_r + 1))
    cv2.circle(img, head, int(head_r), skin, -1)
    cv2.circle(mask, head, int(head_r), 1, -1)
    cv2.ellipse(img, head, (int(head_r), int(head_r)), 0, 180, 360, (30, 30, 40), -1)  # hair
    top, hip = 0.19 * h, 0.58 * h
    _poly(img, mask, [(0.2 * w, top), (0.8 * w, top), (0.76 * w, hip), (0.24 * w, hip)], shirt)
    if striped:
        dark = tuple(int(c * 0.55) for c in shirt)
        for y in np.arange(top + 0.04 * h, hip, 0.07 * h):
            cv2.rectangle(img, (int(0.22 * w), int(y)), (int(0.78 * w), int(y + 0.025 * h)), dark, -1)
    swing = math.sin(2 * math.pi * phase / phases)
    for side in (-1, 1):  # arms swing against the legs
        x = w / 2 + side * 0.36 * w
        hand = (x - side * 0.02 * w + 0.12 * w * swing * side, 0.55 * h)
        _poly(img, mask, [(x - 0.07 * w, top + 0.02 * h), (x + 0.07 * w, top + 0.02 * h), hand], shirt)
        foot_x = w / 2 + side * (0.12 * w + 0.28 * w * swing)
        hip_x = w / 2 + side * 0.13 * w
        leg = [(hip_x - 0.11 * w, hip), (hip_x + 0.11 * w, hip), (foot_x + 0.1 * w, h - 1), (foot_x - 0.1 * w, h - 1)]
        _poly(img, mask, leg, trousers)
        cv2.rectangle(
            img, (int(foot_x - 0.12 * w), int(h - 0.03 * h)), (int(foot_x + 0.14 * w), h - 1), (20, 20, 20), -1
        )


def _draw_bike(img: np.ndarray, mask: np.ndarray, rng: np.random.Generator, phase: int, phases: int) -> None:
    h, w = mask.shape
    colour = _pick(rng, _BIKE_COLOURS)
    r = 0.3 * h
    thick = max(2, round(0.07 * h))
    rear, front = (r + 1, h - r - 1), (w - r - 2, h - r - 1)
    crank = (0.47 * w, h - r - 1)
    seat = (0.38 * w, 0.22 * h)
    head = (0.74 * w, 0.2 * h)
    for centre in (rear, front):
        c = (int(centre[0]), int(centre[1]))
        cv2.circle(img, c, int(r - thick / 2), (30, 30, 30), thick)
        cv2.circle(mask, c, int(r - thick / 2), 1, thick)
        for k in range(3):  # spokes rotate with the phase
            a = math.pi * (k / 3 + phase / (3 * phases))
            dx, dy = math.cos(a) * (r - thick), math.sin(a) * (r - thick)
            p0, p1 = (int(c[0] - dx), int(c[1] - dy)), (int(c[0] + dx), int(c[1] + dy))
            cv2.line(img, p0, p1, (190, 190, 190), 1)
            cv2.line(mask, p0, p1, 1, 1)
    frame_thick = max(2, round(0.06 * h))
    for start, end in ((rear, seat), (rear, crank), (seat, crank), (seat, head), (crank, head), (head, front)):
        p0, p1 = (int(start[0]), int(start[1])), (int(end[0]), int(end[1]))
        cv2.line(img, p0, p1, colour, frame_thick)
        cv2.line(mask, p0, p1, 1, frame_thick)
    saddle = ((int(seat[0] - 0.08 * w), int(seat[1] - 0.06 * h)), (int(seat[0] + 0.08 * w), int(seat[1])))
    cv2.rectangle(img, *saddle, (20, 20, 20), -1)
    cv2.rectangle(mask, *saddle, 1, -1)
    bar = ((int(head[0] - 0.02 * w), 0), (int(head[0] + 0.1 * w), int(0.06 * h)))
    cv2.rectangle(img, *bar, (60, 60, 60), -1)
    cv2.rectangle(mask, *bar, 1, -1)
