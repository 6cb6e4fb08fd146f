"""`python -m bench.eval_refanin`: recount an evaluation's runs with this code's tracking and counting rules.

Every app run of `bench.eval_counts` keeps its chunk results and detections (`summary.chunks/chunk-*.json{,l}`)
beside its summary, so a change to what happens after the chunks (the fan-in's tracking pass, linking, which objects
count) can be tried on the tuning split by summarising those chunks again, in seconds and without decoding or
detecting anything. Each run keeps the settings it ran with (a run older than a default keeps the old value);
`--set KEY=VALUE` changes a setting of that step for the recount (TRACK_LOST_SECONDS,
LINK_GAP_SECONDS, MIN_TRACK_SECONDS, TRACKER, ...). It reports `unique` against the truth and the seam changes against
one chunk; lines and zones need a full run. `--set MIN_TRACK_SECONDS=...` is how the fragment threshold was chosen.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from bench.eval_counts import CHUNKS, CLASSES, DEFAULT_SHAPE, EVAL, SHAPE_BY_NAME, SPLITS, Shape
from videoanalysis.contracts import ChunkResult, VideoInfo
from videoanalysis.detections_file import read_frames
from videoanalysis.settings import Settings
from videoanalysis.summary import build_summary, video_objects
from videoanalysis.summary_records import SummaryVideo
from videoanalysis.tracking.video_pass import VideoTracks, track_chunks


def stored_runs(
    variant: str, split_seeds: range, chunk_seconds: float, shape: Shape = DEFAULT_SHAPE
) -> Iterator[tuple[Path, dict[str, int]]]:
    """(run folder, the truth's `unique`) of each stored app run of `variant` at `chunk_seconds` on scenes of
    `shape`, in seed order."""
    for folder in sorted((EVAL / "runs" / variant).glob(f"*-{shape.suffix}")):
        run = folder / f"chunks-{chunk_seconds:g}"
        if int(folder.name.split("-", 1)[0]) in split_seeds and (run / "summary.json").is_file():
            yield run, json.loads((EVAL / "scenes" / f"{folder.name}.truth.json").read_text())["unique"]


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
    paths = sorted(run.glob("summary.chunks/chunk-*[0-9].json"))
    chunks = [ChunkResult.from_dict(json.loads(p.read_text())) for p in paths]
    frames = {
        c.index: list(read_frames(c.index, p.with_suffix(".jsonl").read_bytes()))
        for c, p in zip(chunks, paths, strict=True)
    }
    return stored, chunks, track_chunks(chunks, frames, VideoInfo.from_dict(stored["video"]), settings)


def recounted(run: Path, changes: Mapping[str, str]) -> dict[str, int]:
    """`unique` of one stored app run, counted again (`retracked`)."""
    stored, tracks = retracked(run, changes)
    unique = video_objects(stored["video"], stored["settings"], tracks).unique
    return {cls: unique.get(cls, 0) for cls in CLASSES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="defaults", help="the runs of `bench.eval_counts --variant`")
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a setting for the recount")
    parser.add_argument("--shape", choices=tuple(SHAPE_BY_NAME), default=DEFAULT_SHAPE.name, help="the scenes' shape")
    args = parser.parse_args()
    overrides = dict(item.split("=", 1) for item in args.set)
    shape = SHAPE_BY_NAME[args.shape]
    runs = stored_runs(args.variant, SPLITS[args.split], max(CHUNKS), shape)
    one_chunk = {run.parent: recounted(run, overrides) for run, _ in runs}
    rows: dict[float, dict[str, int]] = {}
    for chunk_seconds in CHUNKS:
        errors, changes = [], 0
        for run, truth in stored_runs(args.variant, SPLITS[args.split], chunk_seconds, shape):
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
