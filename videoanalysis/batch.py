"""The table across a batch of videos: one row per video, written as CSV, JSON and an HTML index.

The same rows come from the local runner (`videoanalysis analyze FOLDER`) and the Azure batch orchestration, so both
write the same columns: `video`, `status`, `duration_s`, `error`, one column per class (its `unique` count), then
`line:<name>:in`, `line:<name>:out` per line and `zone:<name>:entered` per zone. A row is built from a summary, or
from the one-line reason a video has none.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from videoanalysis.report import escape, html_page, html_table

STATUSES = ("succeeded", "partial", "failed")
FIXED_COLUMNS = ("video", "status", "duration_s", "error")


@dataclass(frozen=True)
class BatchRow:
    """One video of a batch: how its analysis went and its counts, and where its summary and report are."""

    video: str
    status: str
    error: str | None = None
    duration_s: float | None = None
    unique: Mapping[str, int] = field(default_factory=dict)
    lines: Mapping[str, Mapping[str, int]] = field(default_factory=dict)  # line -> {"in": n, "out": n}
    zones: Mapping[str, int] = field(default_factory=dict)  # zone -> objects that entered it
    summary: str | None = None  # a path or URL, as the batch's writer names it
    report: str | None = None
    version: str | None = None  # which content was analysed: the file's SHA-256 locally, the blob's ETag on Azure
    settings_digest: str | None = None  # which settings (and model) it was analysed with, for resuming a batch

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"a batch row's status is one of {', '.join(STATUSES)}, got {self.status!r}")
        object.__setattr__(self, "error", one_line(self.error))

    @classmethod
    def failed(cls, video: str, error: str) -> BatchRow:
        """A video that has no summary: it could not be analysed at all."""
        return cls(video=video, status="failed", error=error)

    @classmethod
    def from_summary(
        cls, video: str, summary: Mapping[str, Any], link: str | None = None, report: str | None = None
    ) -> BatchRow:
        """The row of a video's summary (`Summary.to_dict`, as stored); `link` and `report` say where they are."""
        classes = summary.get("classes") or {}
        lines = {
            name: {
                direction: sum(int(counts.get(direction, 0)) for counts in (row.get("classes") or {}).values())
                for direction in ("in", "out")
            }
            for name, row in (summary.get("lines") or {}).items()
        }
        zones = {
            name: sum(int(counts.get("entered", 0)) for counts in (row.get("classes") or {}).values())
            for name, row in (summary.get("zones") or {}).items()
        }
        duration = (summary.get("video") or {}).get("duration_s")
        return cls(
            video=video,
            status=str(summary.get("status", "failed")),
            error=summary.get("error"),
            duration_s=None if duration is None else float(duration),
            unique={name: int(stats.get("unique", 0)) for name, stats in sorted(classes.items())},
            lines=lines,
            zones=zones,
            summary=link,
            report=report,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "video": self.video,
            "status": self.status,
            "error": self.error,
            "duration_s": self.duration_s,
            "unique": dict(self.unique),
            "lines": {name: dict(counts) for name, counts in self.lines.items()},
            "zones": dict(self.zones),
            "summary": self.summary,
            "report": self.report,
            "version": self.version,
            "settings_digest": self.settings_digest,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchRow:
        return cls(
            video=str(data["video"]),
            status=str(data["status"]),
            error=data.get("error"),
            duration_s=None if data.get("duration_s") is None else float(data["duration_s"]),
            unique={str(k): int(v) for k, v in (data.get("unique") or {}).items()},
            lines={str(k): {d: int(n) for d, n in v.items()} for k, v in (data.get("lines") or {}).items()},
            zones={str(k): int(v) for k, v in (data.get("zones") or {}).items()},
            summary=data.get("summary"),
            report=data.get("report"),
            version=data.get("version"),
            settings_digest=data.get("settings_digest"),
        )


def one_line(text: str | None) -> str | None:
    """An error as one line: its first non-empty line (a cell, a status field, a log line)."""
    if text is None:
        return None
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "") or None


@dataclass(frozen=True)
class BatchTable:
    """The rows of a batch, in the order the videos were listed."""

    rows: tuple[BatchRow, ...]

    @property
    def classes(self) -> list[str]:
        return sorted({name for row in self.rows for name in row.unique})

    @property
    def line_names(self) -> list[str]:
        return sorted({name for row in self.rows for name in row.lines})

    @property
    def zone_names(self) -> list[str]:
        return sorted({name for row in self.rows for name in row.zones})

    def columns(self) -> list[str]:
        lines = [f"line:{name}:{direction}" for name in self.line_names for direction in ("in", "out")]
        return [*FIXED_COLUMNS, *self.classes, *lines, *(f"zone:{name}:entered" for name in self.zone_names)]

    def totals(self) -> dict[str, int]:
        """Each class's `unique` count summed over the videos that have a summary."""
        return {name: sum(row.unique.get(name, 0) for row in self.rows) for name in self.classes}

    def status_counts(self) -> dict[str, int]:
        return {status: sum(row.status == status for row in self.rows) for status in STATUSES}

    def cells(self, row: BatchRow) -> list[str]:
        """The CSV cells of one row, in `columns()` order; counts a video lacks are 0."""
        duration = "" if row.duration_s is None else f"{row.duration_s:g}"
        lines = [
            str(row.lines.get(name, {}).get(direction, 0)) for name in self.line_names for direction in ("in", "out")
        ]
        return [
            row.video,
            row.status,
            duration,
            row.error or "",
            *(str(row.unique.get(name, 0)) for name in self.classes),
            *lines,
            *(str(row.zones.get(name, 0)) for name in self.zone_names),
        ]

    def to_csv(self) -> str:
        """RFC 4180: comma-separated, CRLF line ends, fields with a comma, quote or line break quoted."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
        writer.writerow(self.columns())
        writer.writerows(self.cells(row) for row in self.rows)
        return out.getvalue()

    def to_dict(self) -> dict[str, Any]:
        return {
            "videos": len(self.rows),
            "statuses": self.status_counts(),
            "totals": self.totals(),
            "columns": self.columns(),
            "rows": [row.to_dict() for row in self.rows],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def to_html(self, title: str = "Batch") -> str:
        """The batch's index page: totals per class, then a row per video linking to its report, failures with their
        reason. Every string from outside is escaped, and the page loads nothing (the report's policy)."""
        statuses = ", ".join(f"{count} {status}" for status, count in self.status_counts().items() if count)
        totals = html_table(
            ["class", "unique, all videos"],
            [[escape(name), f"{count:,}"] for name, count in self.totals().items()],
            right={1},
        )
        header = ["video", "status", "duration", *(escape(name) for name in self.classes), "error"]
        rows, css = [], []
        for row in self.rows:
            name = escape(row.video)
            video = f'<a href="{escape(row.report)}">{name}</a>' if row.report else name
            duration = "-" if row.duration_s is None else f"{row.duration_s:.1f} s"
            counts = [f"{row.unique.get(name, 0):,}" for name in self.classes]
            rows.append([video, escape(row.status), duration, *counts, escape(row.error or "")])
            css.append("failed" if row.status == "failed" else "")
        videos = html_table(header, rows, right=set(range(2, 3 + len(self.classes))), row_classes=css)
        summary = f"<p>{len(self.rows)} videos: {escape(statuses or 'none')}</p>"
        return html_page(
            title, [f"<h1>{escape(title)}</h1>", summary, "<h2>Totals</h2>", totals, "<h2>Videos</h2>", videos]
        )
