"""`python -m bench.empty_scenes`: what the detector finds in each evaluation scene with its objects left out.

A scene's background, pillars and noise hold no object, so every detection there is false; one that stays put for
the whole video is tracked again each time the tracker loses it (`tracking.objects.still_links`). This lists, per
seed of a split, the detections at or above the evaluation's confidence in two frames of its empty scene at one frame
size (a feature small enough to pass for a walker at 640x360 may not at 1280x720), so that the tuning scenes that
show such a thing can be found without rendering and analysing every one.
"""

from __future__ import annotations

import argparse

from bench.eval_counts import CONF, DEFAULT_MODEL, IMGSZ, SPLITS, scenes_for
from scenes.generator import Scene
from scenes.scenarios import scenario
from videoanalysis.onnx_model import OnnxModel, load_onnx

FRAMES = (0, 5)
"""The frames of each empty scene the detector sees, 1 s apart at 5 fps (a shaking or panning camera moves)."""


def empty_scene_detections(
    model: OnnxModel, seed: int, scenario_name: str, size: tuple[int, int]
) -> list[tuple[int, str, tuple[int, int, int, int], float]]:
    """(frame, class name, box, confidence) of each detection in `FRAMES` of the seed's scene with no objects."""
    scene = Scene(seed, seconds=2.0, fps=5.0, size=size, actors=(), scenario=scenario(scenario_name))
    found = []
    for index in FRAMES:
        for x1, y1, x2, y2, conf, cls in model.predict([scene.frame(index).image], IMGSZ, CONF)[0].tolist():
            found.append((index, model.names[int(cls)], (round(x1), round(y1), round(x2), round(y2)), round(conf, 2)))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune")
    parser.add_argument("--size", default="640x360", help="WIDTHxHEIGHT of the frames (default 640x360)")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    model = load_onnx(str(DEFAULT_MODEL))
    print(f"| seed | scenario | detections in the empty scene at {args.size} (frame, class, box, confidence) |")
    print("|---|---|---|")
    for spec in scenes_for(args.split, len(SPLITS[args.split])):
        if found := empty_scene_detections(model, spec.seed, spec.scenario, (width, height)):
            print(f"| {spec.seed} | {spec.scenario} | {'; '.join(str(item) for item in found)} |")


if __name__ == "__main__":
    main()
