"""`python -m bench.eval_causes`: where an evaluation's count errors come from, object by object.

A scene's truth has every object's box in every frame. Each object the app counted in a stored one-chunk run
(tracked again with this code, `bench.eval_refanin.retracked`) is matched to the truth object of its class that
most of its boxes overlap, and each scene/class error of `unique` is then exactly

    split + false - merged - missed

- **split**: a truth object that k > 1 counted objects matched (a track lost and not linked again) adds k - 1;
- **false**: a counted object that matched no counted truth object;
- **merged**: a truth object that no counted object matched, though one followed it for a while (the tracker switched
  to it from another object, or linking joined the two);
- **missed**: a truth object no counted object followed: "at an edge" when the video's start or end left it in view
  for under `EDGE_SECONDS`, else "too short" when the app tracked it, but for less than `MIN_TRACK_SECONDS`.

`--shape` reads the runs of another scene shape (`bench.eval_counts --shapes`), and `--chunks 10` a run at 10 s chunks
where no one-chunk run was made (`--quick`): one tracker sees the whole video at any chunking, so its tracks are the
same.

Each object behind an error also says in how many of the analysed frames that showed it the detector found it (a box
of its class overlapping it, before any tracking), and a second table sums that per cause: an object the detector
found in most frames was lost by tracking or linking, one it rarely found is the detector's.

A report for deciding what to work on, not a score: the matching is by overlap alone, so two objects crossing each
other can swap between split and merged.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bench.eval_counts import CHUNKS, CLASSES, DEFAULT_SHAPE, EVAL, SHAPE_BY_NAME, SPLITS, scenario_names
from bench.eval_refanin import retracked, stored_frames, stored_runs
from scenes.boxes import iou_matrix
from videoanalysis.detections_file import FrameRecord
from videoanalysis.regions import Box
from videoanalysis.summary import video_objects
from videoanalysis.tracking.objects import TrackedObject

MATCH_IOU = 0.3
"""How much a tracked box must overlap a truth box of its class to be that object in that frame."""

FOLLOWED_FRAMES = 2
"""Frames a counted object must share with a truth object it did not mostly match for that object to count as merged."""

EDGE_SECONDS = 2.0
"""A truth object the video's start or end cut to less time than this in view is missed "at an edge"."""

EDGE_MS = 500
"""How close to the video's start or end a truth object's boxes must reach for the video to have cut it."""

CAUSES = ("split", "false", "merged", "missed, too short", "missed at an edge", "missed")


def signed_error(causes: Iterable[tuple[str, int]]) -> int:
    """The error that (cause, objects) pairs add up to: splits and false objects add, every other cause subtracts."""
    return sum(n if cause in ("split", "false") else -n for cause, n in causes)


@dataclass
class SceneCauses:
    """The causes of one scene's errors, by class, and a line for each object behind them. `detected` holds, per cause
    and for every counted truth object ("all"), the analysed frames that showed those objects and how many of them the
    detector found them in (`Truth.detected`)."""

    scenario: str
    counts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (class, cause) -> objects
    lines: list[str] = field(default_factory=list)
    detected: dict[str, Counter[str]] = field(default_factory=dict)  # cause -> {"found": frames, "shown": frames}

    def add(self, cls: str, cause: str, line: str, n: int = 1, found: tuple[int, int] | None = None) -> None:
        self.counts[(cls, cause)] += n
        if found is not None:
            self.add_detected(cause, found)
            line += f" (detected in {found[0]} of {found[1]} analysed frames)"
        self.lines.append(f"{cause}: {cls} {line}")

    def add_detected(self, cause: str, found: tuple[int, int]) -> None:
        self.detected.setdefault(cause, Counter()).update({"found": found[0], "shown": found[1]})

    def error(self, cls: str) -> int:
        return signed_error((cause, n) for (c, cause), n in self.counts.items() if c == cls)


class Truth:
    """A scene's truth objects, and which of them each tracked box shows."""

    def __init__(self, truth: dict[str, Any]):
        self.scenario = str(truth["scenario"])
        self.fps, self.duration_ms = float(truth["fps"]), int(truth["duration_ms"])
        self.objects = {o["id"]: o for o in truth["objects"]}
        self._boxes: dict[int, list[tuple[int, str, list[float]]]] = {}
        for o in truth["objects"]:
            for k, box in enumerate(o["boxes"]):
                if box is not None:
                    self._boxes.setdefault(o["first_frame"] + k, []).append((o["id"], o["cls"], box))

    def shown(self, cls: str, boxes: Iterable[tuple[int, Box]]) -> Counter[int]:
        """Frames in which the boxes showed each truth object of class `cls`."""
        found: Counter[int] = Counter()
        for t_ms, box in boxes:
            candidates = self._boxes.get(round(t_ms * self.fps / 1000), [])
            same = [(i, b) for i, c, b in candidates if c == cls]
            if same:
                overlaps = iou_matrix(np.asarray([box]), np.asarray([b for _, b in same]))[0]
                if overlaps.max() >= MATCH_IOU:
                    found[same[int(overlaps.argmax())][0]] += 1
        return found

    def detected(self, ident: int, frames: Sequence[FrameRecord]) -> tuple[int, int]:
        """(found, shown): of the analysed `frames` in which truth object `ident` was visible, those where a detection
        of its class overlapped its box by `MATCH_IOU` or more, and all of them."""
        obj = self.objects[ident]
        found = shown = 0
        for frame in frames:
            k = round(frame.t_ms * self.fps / 1000) - obj["first_frame"]
            if not 0 <= k < len(obj["boxes"]) or not obj["visible"][k]:
                continue
            shown += 1
            same = [box for box, cls in zip(frame.boxes, frame.cls, strict=True) if cls == obj["cls"]]
            found += bool(same) and iou_matrix(np.asarray([obj["boxes"][k]]), np.asarray(same)).max() >= MATCH_IOU
        return found, shown

    def cut_by_the_video(self, obj: dict[str, Any]) -> bool:
        start_ms = obj["first_frame"] / self.fps * 1000
        end_ms = (obj["first_frame"] + len(obj["boxes"])) / self.fps * 1000
        at_edge = start_ms < EDGE_MS or end_ms > self.duration_ms - EDGE_MS
        return at_edge and obj["visible_frames"] < EDGE_SECONDS * self.fps


def scene_causes(
    truth: Truth, objects: Sequence[TrackedObject], frames: Sequence[FrameRecord] | None = None
) -> SceneCauses:
    """The causes of the errors of the counted `objects` against the truth; with the analysed `frames`, how often the
    detector found each truth object (`Truth.detected`)."""
    found = SceneCauses(truth.scenario)
    matched: dict[int, list[TrackedObject]] = {}
    followed: set[int] = set()
    tracked: set[int] = set()  # truth objects an uncounted object followed
    for obj in objects:
        shown = truth.shown(obj.cls, (b for segment in obj.segments for b in segment.boxes))
        if not obj.counted:
            tracked.update(shown)
            continue
        best = shown.most_common(1)[0][0] if shown else None
        if best is None or not truth.objects[best]["counted"]:
            found.add(obj.cls, "false", f"{_span(obj)}, {obj.hits} frames")
            continue
        matched.setdefault(best, []).append(obj)
        followed.update(i for i, frames in shown.items() if i != best and frames >= FOLLOWED_FRAMES)
    for i, o in truth.objects.items():
        if not o["counted"]:
            continue
        detected = None if frames is None else truth.detected(i, frames)
        if detected is not None:
            found.add_detected("all", detected)
        seen = f"{o['first_frame'] / truth.fps:.1f} s, {o['visible_frames'] / truth.fps:.1f} s in view"
        if i in matched:
            if len(matched[i]) > 1:
                parts = ", ".join(_span(obj) for obj in matched[i])
                found.add(o["cls"], "split", f"{seen}: {parts}", len(matched[i]) - 1, found=detected)
        elif i in followed:
            found.add(o["cls"], "merged", seen, found=detected)
        elif truth.cut_by_the_video(o):
            found.add(o["cls"], "missed at an edge", seen, found=detected)
        else:
            found.add(o["cls"], "missed, too short" if i in tracked else "missed", seen, found=detected)
    return found


def _span(obj: TrackedObject) -> str:
    return f"{obj.first_ms / 1000:.1f}-{obj.last_ms / 1000:.1f} s"


def run_causes(run: Path, truth_unique: dict[str, int], changes: dict[str, str]) -> SceneCauses:
    """The causes of one stored run's errors; checks that they add up to the errors."""
    stored, tracks = retracked(run, changes)
    objects = video_objects(stored["video"], stored["settings"], tracks)
    truth = Truth(json.loads((EVAL / "scenes" / f"{run.parent.name}.truth.json").read_text()))
    found = scene_causes(truth, objects.objects, stored_frames(run))
    for cls in CLASSES:
        error = objects.unique.get(cls, 0) - truth_unique[cls]
        if found.error(cls) != error:
            raise AssertionError(f"{run.parent.name} {cls}: causes add up to {found.error(cls):+d}, error {error:+d}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="defaults", help="the runs of `bench.eval_counts --variant`")
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for the recount")
    parser.add_argument("--list", action="store_true", help="also list every object behind an error, scene by scene")
    parser.add_argument("--shape", choices=tuple(SHAPE_BY_NAME), default=DEFAULT_SHAPE.name, help="the scenes' shape")
    parser.add_argument(
        "--scenarios", type=scenario_names, help="NAME,...: the runs of these scenarios (default: the cycle's)"
    )
    parser.add_argument(
        "--chunks", type=float, choices=CHUNKS, default=max(CHUNKS), help="the stored runs' chunk length (one chunk)"
    )
    args = parser.parse_args()
    changes = dict(item.split("=", 1) for item in args.set)
    by_scenario: dict[str, Counter[str]] = {}
    detected: dict[str, Counter[str]] = {}
    shape = SHAPE_BY_NAME[args.shape]
    for run, truth_unique in stored_runs(args.variant, args.split, args.chunks, shape, args.scenarios):
        found = run_causes(run, truth_unique, changes)
        row = by_scenario.setdefault(found.scenario, Counter())
        for (_, cause), n in found.counts.items():
            row[cause] += n
        for cause, frames in found.detected.items():
            detected.setdefault(cause, Counter()).update(frames)
        if args.list and found.lines:
            print(f"{run.parent.name}:\n" + "".join(f"- {line}\n" for line in found.lines))
    by_scenario["all"] = sum(by_scenario.values(), Counter())
    print(f"| scenario | {' | '.join(CAUSES)} | signed error |\n|---|{'---|' * (len(CAUSES) + 1)}")
    for scenario, row in by_scenario.items():
        print(f"| {scenario} | {' | '.join(str(row[cause]) for cause in CAUSES)} | {signed_error(row.items()):+d} |")
    print("\n| objects | analysed frames that showed them | the detector found them in |\n|---|---|---|")
    for cause in ("all", *CAUSES):
        if totals := detected.get(cause):
            share = totals["found"] / totals["shown"] if totals["shown"] else 0.0
            print(f"| {cause} | {totals['shown']} | {totals['found']} ({share:.0%}) |")


if __name__ == "__main__":
    main()
