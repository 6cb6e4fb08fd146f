"""`python -m bench.eval_refanin`: recount an evaluation's runs with this code's tracking and counting rules.

Every app run of `bench.eval_counts` keeps its chunk results and detections (`summary.chunks/chunk-*.json{,l}`)
beside its summary, so a change to what happens after the chunks (the fan-in's tracking pass, linking, which objects
count) can be tried on the tuning split by summarising those chunks again, in seconds and without decoding or
detecting anything. Each run keeps the settings it ran with (a run older than a default keeps the old value);
`--set KEY=VALUE` changes a setting of that step for the recount (TRACK_LOST_SECONDS,
LINK_GAP_SECONDS, MIN_TRACK_SECONDS, TRACKER, ...). It reports `unique` against the truth and the seam changes against
one chunk; lines and zones need a full run. `--set MIN_TRACK_SECONDS=...` is how the fragment threshold was chosen.

`--shapes NAME,...` recounts the runs of `bench.eval_counts --shapes` (10 s chunks) of several scene shapes at once,
and `--try NAME=VALUE;...` (repeatable: one table row each) sets the tracking rules' constants (`RULES`) for a
recount: how the rules for long scenes were chosen (docs/decisions/2026-12-07-long-scenes.md).
"""

from __future__ import annotations

import argparse
import itertools
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.eval_counts import (
    APP_DEFAULT_CHUNK,
    CHUNKS,
    CLASSES,
    DEFAULT_SHAPE,
    EVAL,
    SHAPE_BY_NAME,
    SPLITS,
    Shape,
    scenario_names,
    scene_interval,
    scenes_for,
    within_target,
)
from videoanalysis.contracts import ChunkResult, VideoInfo
from videoanalysis.detections_file import FrameRecord, read_frames
from videoanalysis.settings import Settings
from videoanalysis.summary import build_summary, video_objects
from videoanalysis.summary_records import SummaryVideo
from videoanalysis.tracking import _sampled_tracktrack, borders, objects
from videoanalysis.tracking.video_pass import VideoTracks, track_chunks


def stored_runs(
    variant: str,
    split: str,
    chunk_seconds: float,
    shape: Shape = DEFAULT_SHAPE,
    scenarios: Collection[str] | None = None,
) -> Iterator[tuple[Path, dict[str, int]]]:
    """(run folder, the truth's `unique`) of each stored app run of `variant` at `chunk_seconds` on the split's scenes
    of `shape` (`bench.eval_counts.scenes_for`: the scenario cycle's, or those of `scenarios`), in seed order."""
    for spec in scenes_for(split, len(SPLITS[split]), shape, scenarios):
        run = EVAL / "runs" / variant / spec.key / f"chunks-{chunk_seconds:g}"
        if (run / "summary.json").is_file():
            yield run, json.loads((EVAL / "scenes" / f"{spec.key}.truth.json").read_text())["unique"]


def score(errors: Sequence[int]) -> dict[str, int]:
    """Total absolute error, signed error and pairs within ±1 of per scene/class errors."""
    return {
        "abs": sum(abs(e) for e in errors),
        "signed": sum(errors),
        "within_1": sum(abs(e) <= 1 for e in errors),
        "pairs": len(errors),
    }


def retracked(run: Path, changes: Mapping[str, str]) -> tuple[dict[str, Any], VideoTracks]:
    """The stored summary of one app run, and the video's tracks made again from its chunk results and detections
    with the settings `changes` (app setting names, values as in the environment) and this code."""
    stored, _, tracks = _tracked_again(run, changes)
    return stored, tracks


def resummarised(run: Path) -> dict[str, Any]:
    """The summary of one stored app run made again from its chunks with this code and the run's settings: what the
    app gives now from the same detections (`bench.eval_counts --recount`). Thumbnails are not named."""
    stored, chunks, tracks = _tracked_again(run, {})
    video = SummaryVideo(stored["video"]["name"], VideoInfo.from_dict(stored["video"]))
    return build_summary(video, stored["settings"], chunks, tracks, wall_s=stored["totals"]["wall_s"]).to_dict()


def _tracked_again(run: Path, changes: Mapping[str, str]) -> tuple[dict[str, Any], list[ChunkResult], VideoTracks]:
    stored = json.loads((run / "summary.json").read_text())
    settings = Settings.from_dict(stored["settings"]).replace(**Settings.env_values(changes))
    stored["settings"] = settings.to_dict()
    chunks, frames = _stored_chunks(run)
    return stored, chunks, track_chunks(chunks, frames, VideoInfo.from_dict(stored["video"]), settings)


def _stored_chunks(run: Path) -> tuple[list[ChunkResult], dict[int, list[FrameRecord]]]:
    """The chunk results of one stored app run, and each chunk's analysed frames with their detections."""
    paths = sorted(run.glob("summary.chunks/chunk-*[0-9].json"))
    chunks = [ChunkResult.from_dict(json.loads(p.read_text())) for p in paths]
    frames = {
        c.index: list(read_frames(c.index, p.with_suffix(".jsonl").read_bytes()))
        for c, p in zip(chunks, paths, strict=True)
    }
    return chunks, frames


def stored_frames(run: Path) -> list[FrameRecord]:
    """The frames one stored app run analysed, with the detector's boxes in each, in time order."""
    _, frames = _stored_chunks(run)
    return sorted((frame for chunk in frames.values() for frame in chunk), key=lambda frame: frame.t_ms)


def recounted(run: Path, changes: Mapping[str, str]) -> dict[str, int]:
    """`unique` of one stored app run, counted again (`retracked`)."""
    return _counted(*retracked(run, changes))


def _counted(stored: dict[str, Any], tracks: VideoTracks) -> dict[str, int]:
    """`unique` of every class the evaluation knows, from a stored run's summary and its tracks made again."""
    unique = video_objects(stored["video"], stored["settings"], tracks).unique
    return {cls: unique.get(cls, 0) for cls in CLASSES}


RULES: dict[str, Any] = {
    "NEW_TRACK_REACH": _sampled_tracktrack,
    "TURN_MOVE": borders,
    "AGAINST_MOVE": objects,
    "LINK_TOLERANCE": objects,
    "SPEED_CHANGE": objects,
    "VIEW_MOVED": objects,
    "STILL_SECONDS": objects,
    "STILL_MOVE": objects,
    "STILL_OVERLAP": objects,
}
"""The tracking rules' constants `--try` may set, and the modules that hold them."""
PASS_CONSTANTS = ("NEW_TRACK_REACH", "TURN_MOVE")
"""Those of `RULES` that act in the tracking pass; the others act on its segments."""


def shapes_table(
    variants: Sequence[str],
    split: str,
    shapes: Sequence[Shape],
    tries: Sequence[str],
    overrides: Mapping[str, str],
    scenarios: Collection[str] | None = None,
) -> str:
    """One row per variant and `--try` (the rules' constants as `NAME=VALUE;...`, empty for the code's own): the
    recounted error of each shape's stored 10 s chunk runs and of all of them, and how far each row's error and pairs
    within max(1, 2%) differ from the first row's, with the 90% interval of that difference over the scenes
    (`scene_interval`): a change whose interval holds 0 is within what another draw of scenes gives. With several
    variants (another model, say) only the scenes every one of them ran are counted, so rows compare the same scenes.
    The tracks are made once per value of the tracking pass's constants (`PASS_CONSTANTS`)."""
    runs = {shape: _paired_runs(variants, split, shape, scenarios) for shape in shapes}
    own = {name: getattr(module, name) for name, module in RULES.items()}
    tracks: dict[tuple[Any, ...], tuple[dict[str, Any], VideoTracks]] = {}
    header = " | ".join(f"{shape.name} ({len(runs[shape])} scenes)" for shape in shapes)
    rows = [
        f"| {'variant: ' if len(variants) > 1 else ''}constants | all: error (signed), pairs within ±1, within max(1,"
        f" 2%) | against the first row: error, pairs within max(1, 2%) [90% interval over the scenes] | {header} |"
    ]
    rows.append("|---" * (len(shapes) + 3) + "|")
    first: list[tuple[int, int]] = []  # the first row's (error, pairs within the target) per scene
    try:
        for row, (variant, chosen) in enumerate(itertools.product(variants, tries)):
            values = {**own, **constants(chosen)}
            for name, value in values.items():
                setattr(RULES[name], name, value)
            cells, everything, scenes = [], [], []
            for shape in shapes:
                errors = []
                for by_variant, truth in runs[shape]:
                    key = (by_variant[variant], *(values[name] for name in PASS_CONSTANTS))
                    if key not in tracks:
                        tracks[key] = retracked(by_variant[variant], overrides)
                    unique = _counted(*tracks[key])
                    scene = [(unique[cls] - truth[cls], truth[cls]) for cls in CLASSES]
                    scenes.append((sum(abs(e) for e, _ in scene), sum(within_target(*pair) for pair in scene)))
                    errors += scene
                cells.append(_score_cell(errors))
                everything += errors
            first = scenes if row == 0 else first
            against = "-" if row == 0 else _against(first, scenes)
            label = f"{variant}: " if len(variants) > 1 else ""
            rows.append(
                f"| {label}{chosen or 'as in the code'} | {_score_cell(everything)} | {against} | {' | '.join(cells)} |"
            )
    finally:
        for name, value in own.items():
            setattr(RULES[name], name, value)
    return "\n".join(rows)


def _paired_runs(
    variants: Sequence[str], split: str, shape: Shape, scenarios: Collection[str] | None
) -> list[tuple[dict[str, Path], dict[str, int]]]:
    """({variant: run folder}, the truth's `unique`) of each scene of `shape` that every variant has a stored 10 s
    chunk run of, in seed order."""
    found = [
        {run.parent.name: (run, truth) for run, truth in stored_runs(v, split, APP_DEFAULT_CHUNK, shape, scenarios)}
        for v in variants
    ]
    return [
        ({variant: runs[scene][0] for variant, runs in zip(variants, found, strict=True)}, truth)
        for scene, (_, truth) in found[0].items()
        if all(scene in runs for runs in found)
    ]


def constants(chosen: str) -> dict[str, float]:
    """The constants of one `--try`, ``NAME=VALUE;...``."""
    return {name: float(value) for name, value in (item.split("=", 1) for item in chosen.split(";") if item)}


def _score_cell(errors: Sequence[tuple[int, int]]) -> str:
    """Total error (signed), and the pairs within ±1 and within max(1, 2% of the truth), of (error, truth) pairs."""
    found, pairs = score([e for e, _ in errors]), len(errors)
    within = sum(within_target(*pair) for pair in errors)
    return f"{found['abs']} ({found['signed']:+d}), {found['within_1']}/{pairs}, {within}/{pairs}"


def _against(first: Sequence[tuple[int, int]], scenes: Sequence[tuple[int, int]]) -> str:
    """The change in error and in pairs within the target from `first` to `scenes`, both (error, pairs within) per
    scene in the same order, each with its interval (`scene_interval`)."""
    cells = []
    for k in (0, 1):
        changes = [b[k] - a[k] for a, b in zip(first, scenes, strict=True)]
        low, high = scene_interval(changes)
        cells.append(f"{sum(changes):+d} [{low:+g}, {high:+g}]")
    return ", ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--variant",
        default="defaults",
        help="the runs of `bench.eval_counts --variant`; with --shapes, NAME,... compares variants (a row each)",
    )
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for the recount")
    parser.add_argument("--shape", choices=tuple(SHAPE_BY_NAME), default=DEFAULT_SHAPE.name, help="the scenes' shape")
    parser.add_argument("--shapes", help="NAME,...: recount the 10 s chunk runs of these shapes, a row per --try")
    parser.add_argument(
        "--scenarios", type=scenario_names, help="NAME,...: the runs of these scenarios (default: the cycle's)"
    )
    parser.add_argument(
        "--try",
        dest="tries",
        action="append",
        metavar="NAME=VALUE;...",
        help=f"with --shapes: constants of the tracking rules ({', '.join(RULES)}) for one row",
    )
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)
    if args.shapes:
        unknown = [name for name in args.shapes.split(",") if name not in SHAPE_BY_NAME]
        tried = {name for chosen in args.tries or () for name in constants(chosen)}
        if unknown or not tried <= set(RULES):
            parser.error(f"unknown shapes {unknown} or constants {sorted(tried - set(RULES))}")
        shapes = [SHAPE_BY_NAME[name] for name in args.shapes.split(",")]
        variants = args.variant.split(",")
        print(shapes_table(variants, args.split, shapes, args.tries or [""], overrides, args.scenarios))
        return
    shape = SHAPE_BY_NAME[args.shape]
    runs = stored_runs(args.variant, args.split, max(CHUNKS), shape, args.scenarios)
    one_chunk = {run.parent: recounted(run, overrides) for run, _ in runs}
    rows: dict[float, dict[str, int]] = {}
    for chunk_seconds in CHUNKS:
        errors, changes = [], 0
        for run, truth in stored_runs(args.variant, args.split, chunk_seconds, shape, args.scenarios):
            unique = one_chunk[run.parent] if chunk_seconds == max(CHUNKS) else recounted(run, overrides)
            errors += [unique[cls] - truth[cls] for cls in CLASSES]
            if run.parent in one_chunk:
                changes += sum(abs(unique[cls] - one_chunk[run.parent][cls]) for cls in CLASSES)
        if errors:
            rows[chunk_seconds] = {**score(errors), "seam": changes}
    print("| chunks | total abs. error | signed | pairs within ±1 | changes from one chunk |\n|---|---|---|---|---|")
    for chunk_seconds, r in rows.items():
        chunks = "one" if chunk_seconds == max(CHUNKS) else f"{chunk_seconds:g} s"
        changes = "-" if chunk_seconds == max(CHUNKS) else r["seam"]
        print(f"| {chunks} | {r['abs']} | {r['signed']:+d} | {r['within_1']}/{r['pairs']} | {changes} |")


if __name__ == "__main__":
    main()
