"""`python -m bench.eval_sweep`: recount an evaluation's runs at other fragment thresholds, without running again.

A summary lists every stitched object with the analysed frames it was tracked in (`hits`), so the counts for any
`MIN_TRACK_SECONDS` follow from one run of `bench.eval_counts` made with a lower one: an object counts when
`hits >= threshold` (half of it for an object seen in the video's first or last sampling interval, as
`tracks.stitch` counts). This is how the default threshold is chosen on the tuning split, before the held-out split
reports it.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.eval_counts import CHUNKS, CLASSES, EVAL, SPLITS
from videoanalysis.summary import video_edges_ms
from videoanalysis.tracks import hits_needed


def stored_runs(variant: str, split_seeds: range, chunk_seconds: float) -> Iterator[tuple[Path, dict[str, int]]]:
    """(run folder, the truth's `unique`) of each stored app run of `variant` at `chunk_seconds`, in seed order."""
    for folder in sorted((EVAL / "runs" / variant).glob("*")):
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


def recount(variant: str, split_seeds: range, chunk_seconds: float, min_hits: int) -> dict[str, int]:
    """`score` over the scenes of `split_seeds`, an object counting from `min_hits`."""
    errors = []
    for run, truth in stored_runs(variant, split_seeds, chunk_seconds):
        summary = json.loads((run / "summary.json").read_text())
        edges = video_edges_ms(summary["settings"], summary["video"]) or (0, 2**62)
        counted = Counter(o["cls"] for o in summary["objects"] if o["hits"] >= _needed(o, edges, min_hits))
        errors += [counted[cls] - truth[cls] for cls in CLASSES]
    return score(errors)


def _needed(obj: dict[str, Any], edges: tuple[int, int], min_hits: int) -> int:
    """The analysed frames a summary's object needs to count, as `tracks.stitch` decides it."""
    cut_short = round(obj["first_s"] * 1000) < edges[0] or round(obj["last_s"] * 1000) >= edges[1]
    return hits_needed(min_hits, cut_short=cut_short)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="defaults", help="the runs of `bench.eval_counts --variant`")
    parser.add_argument("--split", choices=("tune", "heldout"), default="tune")
    parser.add_argument("--hits", default="1,3,5,6,7,8,10,12,15", help="thresholds in analysed frames")
    args = parser.parse_args()
    seeds = SPLITS[args.split]
    print("| chunks | min hits | total abs. error | signed | pairs within ±1 |\n|---|---|---|---|---|")
    for chunk_seconds in CHUNKS:
        for hits in (int(h) for h in args.hits.split(",")):
            r = recount(args.variant, seeds, chunk_seconds, hits)
            chunks = "one" if chunk_seconds >= 1000 else f"{chunk_seconds:g} s"
            print(f"| {chunks} | {hits} | {r['abs']} | {r['signed']:+d} | {r['within_1']}/{r['pairs']} |")


if __name__ == "__main__":
    main()
