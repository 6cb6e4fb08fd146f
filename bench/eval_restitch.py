"""`python -m bench.eval_restitch`: recount an evaluation's runs with this code's stitching and counting rules.

Every app run of `bench.eval_counts` keeps its chunk results (`summary.chunks/chunk-*.json`) beside its summary, so a
change to what happens after the chunks (stitching, linking, which objects count) can be tried on the tuning split by
summarising those chunk results again, in seconds and without decoding or detecting anything. It reports `unique`
against the truth and the seam changes against one chunk; lines and zones need a full run.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.eval_counts import CHUNKS, CLASSES, EVAL, SPLITS
from videoanalysis.contracts import ChunkResult
from videoanalysis.summary import build_summary


def restitched(run: Path) -> dict[str, int]:
    """`unique` of one stored app run, summarised again from its chunk results."""
    stored = json.loads((run / "summary.json").read_text())
    chunks = [
        ChunkResult.from_dict(json.loads(p.read_text())) for p in sorted(run.glob("summary.chunks/chunk-*[0-9].json"))
    ]
    summary = build_summary(stored["video"], stored["settings"], chunks, wall_s=None)
    return {cls: summary["classes"].get(cls, {}).get("unique", 0) for cls in CLASSES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="defaults", help="the runs of `bench.eval_counts --variant`")
    parser.add_argument("--split", choices=tuple(SPLITS), default="tune")
    args = parser.parse_args()
    rows: dict[float, dict[str, int]] = {}
    one_chunk: dict[str, dict[str, int]] = {}
    for folder in sorted((EVAL / "runs" / args.variant).glob("*")):
        if int(folder.name.split("-", 1)[0]) not in SPLITS[args.split]:
            continue
        truth = json.loads((EVAL / "scenes" / f"{folder.name}.truth.json").read_text())["unique"]
        for chunk_seconds in CHUNKS:
            run = folder / f"chunks-{chunk_seconds:g}"
            if not (run / "summary.json").is_file():
                continue
            unique = restitched(run)
            row = rows.setdefault(chunk_seconds, {"abs": 0, "signed": 0, "within_1": 0, "pairs": 0, "seam": 0})
            for cls in CLASSES:
                error = unique[cls] - truth[cls]
                row["abs"] += abs(error)
                row["signed"] += error
                row["within_1"] += abs(error) <= 1
                row["pairs"] += 1
            if chunk_seconds == max(CHUNKS):
                one_chunk[folder.name] = unique
            elif folder.name in one_chunk:
                row["seam"] += sum(abs(unique[cls] - one_chunk[folder.name][cls]) for cls in CLASSES)
    print("| chunks | total abs. error | signed | pairs within ±1 | changes from one chunk |\n|---|---|---|---|---|")
    for chunk_seconds, r in rows.items():
        chunks = "one" if chunk_seconds == max(CHUNKS) else f"{chunk_seconds:g} s"
        changes = "-" if chunk_seconds == max(CHUNKS) else r["seam"]
        print(f"| {chunks} | {r['abs']} | {r['signed']:+d} | {r['within_1']}/{r['pairs']} | {changes} |")


if __name__ == "__main__":
    main()
