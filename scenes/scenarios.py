"""Named scene scenarios: knobs that vary the generator's scenes on purpose, so an evaluation covers hard cases.

``Scenario("plain")`` (every knob at its default) plans exactly the objects of ``Scene(seed)`` without a scenario:
the defaults below are the generator's own constants. Each other scenario moves a few knobs away from them:

- traffic density (``density`` scales every class's arrival rate), from sparse to crowded;
- pedestrians walking in groups (``group_share`` of person arrivals bring 1-3 companions, side by side and offset);
- long occlusions: static foreground pillars drawn on top of objects (``poles``), and objects allowed to stay hidden
  behind others for longer (``max_occlusion_s``, ``max_covered_s``);
- objects that pause, more often and for longer (``stop_share``, ``stop_after_s``, ``stop_for_s``);
- entries and exits at the top and bottom edges as well as left/right (``vertical_share``);
- slow and fast movers (``speed_scale``: a log-uniform factor on each object's speed);
- a shaking or a panning camera (``shake``, ``pan``): the whole frame, background, pillars and objects, is shifted by
  a per-frame offset, and so are the truth boxes.

Evaluations cycle through ``SCENARIOS`` by seed, so a scenario added there would change the scene of every seed and
void every stored result. Later scenarios go in ``EXTRA_SCENARIOS``: run only when asked for by name.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Scenario:
    """The knobs of one kind of scene; every default reproduces the generator's plain scenes."""

    name: str
    density: float = 1.0  # factor on every class's arrivals per second
    group_share: float = 0.0  # share of person arrivals that are a group
    group_size: tuple[int, int] = (2, 4)  # persons in a group, inclusive range
    stop_share: float = 0.3  # share of objects that stop once
    stop_after_s: tuple[float, float] = (0.5, 8.0)  # moving seconds before the stop
    stop_for_s: tuple[float, float] = (1.0, 4.0)  # seconds stopped
    speed_scale: tuple[float, float] = (1.0, 1.0)  # log-uniform factor on each object's speed
    vertical_share: float = 0.0  # share of objects entering at the top or bottom edge instead of left/right
    poles: int = 0  # static foreground pillars, drawn on top of every object
    pole_width: tuple[float, float] = (0.02, 0.08)  # pillar width range, frame widths
    max_occlusion_s: float = 1.0  # objects hidden (hidden > MAX_HIDDEN) longer than this are left out of the plan
    max_covered_s: float = 2.0  # ... and so are objects partly covered (hidden > 0.2) longer than this
    shake: float = 0.0  # hand-held camera shake, amplitude as a share of frame height (both axes)
    pan: float = 0.0  # camera pans left and right, amplitude as a share of frame width

    @property
    def camera_moves(self) -> bool:
        """Whether frames are shifted per frame (objects may then leave the view and come back)."""
        return self.shake > 0 or self.pan > 0


PLAIN = Scenario("plain")

SCENARIOS: tuple[Scenario, ...] = (
    PLAIN,
    Scenario("sparse", density=0.4),
    Scenario("crowded", density=2.2),
    Scenario("groups", group_share=0.75, max_covered_s=20.0),
    Scenario("poles", poles=3, max_occlusion_s=4.0, max_covered_s=8.0),
    Scenario("long-occlusions", density=1.4, max_occlusion_s=4.0, max_covered_s=8.0),
    Scenario("pauses", stop_share=0.7, stop_after_s=(0.5, 10.0), stop_for_s=(3.0, 12.0)),
    Scenario("edges", vertical_share=0.45),
    Scenario("slow-fast", speed_scale=(0.35, 3.0)),
    Scenario("shaky", shake=0.012),
    Scenario("panning", pan=0.15),
    Scenario(
        "mixed",
        density=1.5,
        group_share=0.4,
        stop_share=0.45,
        speed_scale=(0.5, 2.0),
        vertical_share=0.2,
        poles=2,
        max_occlusion_s=2.5,
        max_covered_s=5.0,
        shake=0.006,
    ),
)
"""The scenarios evaluations cycle through, in this order."""

EXTRA_SCENARIOS: tuple[Scenario, ...] = (
    # Things that stay put: objects that stop for a long time, and may stay hidden behind others for a while, so that
    # a rule that joins a still object's pieces (`videoanalysis.tracking.objects.still_links`) can be chosen on them.
    Scenario(
        "parked",
        density=1.3,
        stop_share=0.5,
        stop_after_s=(0.5, 8.0),
        stop_for_s=(15.0, 60.0),
        max_occlusion_s=10.0,
        max_covered_s=20.0,
    ),
)
"""Scenarios outside the cycle, run only when named (`bench.eval_counts --scenarios`)."""

BY_NAME: dict[str, Scenario] = {scenario.name: scenario for scenario in SCENARIOS + EXTRA_SCENARIOS}


def scenario(name: str) -> Scenario:
    """The scenario called ``name`` (ValueError names the known ones)."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; known: {', '.join(BY_NAME)}") from None
