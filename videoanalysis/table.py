"""The summary as the command line prints it: aligned text tables of the classes, the lines and the zones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def format_table(summary: dict[str, Any]) -> str:
    """Per-class counts as an aligned text table for the CLI, then one for the lines and one for the zones."""
    header = ("class", "unique", "peak", "detections", "first_s", "last_s")
    rows = [
        (
            name,
            str(c["unique"]),
            str(c["peak"]),
            str(c["detections"]),
            "-" if c["first_seen_s"] is None else f"{c['first_seen_s']:.2f}",
            "-" if c["last_seen_s"] is None else f"{c['last_seen_s']:.2f}",
        )
        for name, c in summary["classes"].items()
    ]
    tables = [_aligned(header, rows) if rows else "no objects detected"]
    if lines := summary.get("lines"):
        crossed = [
            (name, cls, str(n["in"]), str(n["out"])) for name, r in lines.items() for cls, n in r["classes"].items()
        ]
        tables.append(_aligned(("line", "class", "in", "out"), crossed, left=2))
    if zones := summary.get("zones"):
        inside = [
            (name, cls, str(n["entered"]), str(n["peak"]))
            for name, r in zones.items()
            for cls, n in r["classes"].items()
        ]
        tables.append(_aligned(("zone", "class", "entered", "peak"), inside, left=2))
    return "\n\n".join(tables)


def _aligned(header: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    """Columns padded to their widest cell: the first `left` ones (names) left-aligned, the rest (numbers) right."""
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(w) if i < left else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        )
        for row in (header, *rows)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
