"""The summary's timeline chart: each class's count per second, and each line's crossings so far, as a PNG."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any


def render_timeline_png(summary: dict[str, Any], path: str | Path) -> Path:
    """Write `timeline_figure` as a PNG."""
    path = Path(path)
    figure = timeline_figure(summary)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png")
    return path


def timeline_figure(summary: dict[str, Any]) -> Any:
    """Each class's per-second count as a step chart, and below it, when the summary has lines, each line's crossings
    so far; matplotlib is imported here to keep imports cheap.

    Every name in it is a user's (video, classes, lines) and is drawn as written: with `text.parse_math` off, its
    texts never read `$...$` as math (where `${$` raises), and legends take their labels as given, so one that starts
    with an underscore is not hidden.
    """
    import matplotlib
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    name = summary["video"].get("name", "video")
    classes = summary["classes"]
    lines = summary.get("lines") or {}
    with matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        # A bare Figure renders through Agg when saved to PNG, without pyplot's global state or a backend switch.
        fig = Figure(figsize=(10, 6.5 if lines else 4), dpi=100, layout="constrained")
        ax, *below = fig.subplots(2, 1, sharex=True, height_ratios=(3, 2)) if lines else [fig.subplots()]
        length = max((len(stats["timeline"]) for stats in classes.values()), default=0)
        legend: list[tuple[Any, str]] = []
        for cls, stats in classes.items():
            counts = stats["timeline"]
            if counts:
                # Repeat the last value so the last second is drawn as a full step.
                legend += [(ax.step(range(len(counts) + 1), [*counts, counts[-1]], where="post")[0], cls)]
        # Shade failed chunks whose time range is known: their seconds read 0 for lack of data, not of objects.
        for row in summary["chunks"]:
            if row["status"] != "ok" and row["start_s"] is not None:
                end_s = length if row["end_s"] is None else row["end_s"]
                span = ax.axvspan(row["start_s"], end_s, color="0.6", alpha=0.3)
                legend += [] if len(ax.patches) > 1 else [(span, "failed chunk")]
        if legend:
            ax.legend(*zip(*legend, strict=True), loc="upper right")
        if not ax.lines:
            ax.text(0.5, 0.5, "no objects detected", ha="center", va="center", transform=ax.transAxes)
        counts_text = ", ".join(f"{cls} {stats['unique']}" for cls, stats in classes.items()) or "none"
        ax.set_title(f"{name} ({summary['status']})\nunique objects: {counts_text}")
        ax.set_xlabel("" if below else "time (s)")
        ax.set_ylabel("objects in one frame (max per second)")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylim(bottom=0)
        ax.set_xlim(left=0)
        if below:
            _draw_crossings(below[0], lines, length)
    return fig


def _draw_crossings(ax: Any, lines: Mapping[str, Any], length: int) -> None:
    """Each line's crossings so far over time, "in" solid and "out" dashed in the line's colour."""
    from matplotlib.ticker import MaxNLocator

    end = max([length, *(row["t_s"] for line in lines.values() for row in line["crossings"])])
    legend = []
    for i, (name, line) in enumerate(lines.items()):
        colour = f"C{i % 10}"
        for direction, style in (("in", "-"), ("out", "--")):
            times = [row["t_s"] for row in line["crossings"] if row["direction"] == direction]
            counts = list(range(len(times) + 1))
            step = ax.step([0, *times, end], [*counts, counts[-1]], where="post", color=colour, linestyle=style)
            legend.append((step[0], f"{name} {direction}"))
    ax.legend(*zip(*legend, strict=True), loc="upper left", fontsize="small", ncols=min(4, 2 * len(lines)))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("line crossings so far")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
