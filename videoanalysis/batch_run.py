"""One Azure batch run (POST /api/batches): its records across the durable boundary, its blobs, its rows.

The orchestration (`orchestrators.analyze_batch`) holds only small records: a page of listed videos at most, the
analyses in flight (at most BATCH_MAX_IN_FLIGHT) and counters. Everything that grows with the batch is a blob under
`{SUMMARY_CONTAINER}/batches/{id}/`: the spec the request made (`spec.json`), and the rows of the videos that finished
during each generation of the orchestration (`rows-00001.json`, ...). The final table (`batches/{id}.json`, `.csv`,
`.html`, `videoanalysis.batch.BatchTable`) is made from those row blobs.

Rows name their analysis's own summary and the video's report by API paths relative to the API root
(`analyses/{id}/summary`, `videos/{name}/report`); the index page, served at `batches/{id}/index`, links them
relative to itself.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from videoanalysis import artefacts
from videoanalysis.batch import BatchRow, BatchTable
from videoanalysis.contracts import AnalysisOutcome, BlobRef
from videoanalysis.settings import Settings
from videoanalysis.storage import Storage, StorageError

FINISHED = ("Completed", "Failed", "Terminated", "Canceled")
"""Durable runtime statuses after which an analysis does nothing more (the names the durable client reports)."""


@dataclass(frozen=True)
class BatchRef:
    """Where one batch keeps its blobs."""

    id: str
    container: str  # SUMMARY_CONTAINER

    @property
    def spec(self) -> BlobRef:
        return artefacts.batch_spec(self.container, self.id)

    def rows(self, generation: int) -> BlobRef:
        return artefacts.batch_rows(self.container, self.id, generation)

    def result(self, suffix: str) -> BlobRef:
        """The batch's table: "json", "csv" or "html"."""
        return artefacts.batch_table(self.container, self.id, suffix)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "container": self.container}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchRef:
        return cls(str(data["id"]), str(data["container"]))


@dataclass(frozen=True)
class BatchSpec:
    """What the request asked for, stored once (`BatchRef.spec`) instead of travelling in every activity's input:
    the videos (a prefix of VIDEO_CONTAINER, or names in it), `force`, and the settings of its analyses."""

    container: str
    prefix: str | None = None
    names: tuple[str, ...] | None = None
    force: bool = False
    settings: Settings = field(default_factory=Settings)

    def __post_init__(self) -> None:
        if (self.prefix is None) == (self.names is None):
            raise ValueError("a batch lists a prefix or names, one of the two")

    def to_dict(self) -> dict[str, Any]:
        return {
            "container": self.container,
            "prefix": self.prefix,
            "names": None if self.names is None else list(self.names),
            "force": self.force,
            "settings": self.settings.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchSpec:
        names = data.get("names")
        return cls(
            container=str(data["container"]),
            prefix=data.get("prefix"),
            names=None if names is None else tuple(str(name) for name in names),
            force=bool(data.get("force", False)),
            settings=Settings.from_dict(data.get("settings") or {}),
        )


@dataclass(frozen=True)
class VideoVersion:
    """A listed video: its place in the listing (the row order), its name and the version listed."""

    index: int
    name: str
    etag: str

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "etag": self.etag}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoVersion:
        return cls(int(data["index"]), str(data["name"]), str(data["etag"]))


@dataclass(frozen=True)
class InFlight:
    """A video whose analysis the batch started or found, and waits for."""

    video: VideoVersion
    instance: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.video.to_dict(), "instance": self.instance}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> InFlight:
        return cls(VideoVersion.from_dict(data), str(data["instance"]))


@dataclass(frozen=True)
class Counts:
    """How far the batch is: videos listed, names it ignored (no video extension), and finished videos by status."""

    listed: int = 0
    ignored: int = 0
    succeeded: int = 0
    partial: int = 0
    failed: int = 0

    @property
    def done(self) -> int:
        return self.succeeded + self.partial + self.failed

    def add(self, statuses: list[str], listed: int = 0, ignored: int = 0) -> Counts:
        return Counts(
            self.listed + listed,
            self.ignored + ignored,
            self.succeeded + statuses.count("succeeded"),
            self.partial + statuses.count("partial"),
            self.failed + statuses.count("failed"),
        )

    def to_dict(self) -> dict[str, int]:
        return {
            "listed": self.listed,
            "ignored": self.ignored,
            "succeeded": self.succeeded,
            "partial": self.partial,
            "failed": self.failed,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Counts:
        return cls(**{key: int(data.get(key, 0)) for key in ("listed", "ignored", "succeeded", "partial", "failed")})


@dataclass(frozen=True)
class BatchState:
    """The orchestration's input, one per generation (`continue_as_new`): its size is bounded by the page size and
    BATCH_MAX_IN_FLIGHT, whatever the number of videos."""

    batch: BatchRef
    max_in_flight: int
    page_size: int
    poll_seconds: float
    retry_attempts: int
    retry_interval_seconds: float
    generation: int = 1
    continuation: str | None = None  # where the listing goes on; None with listing_done False: from the start
    listing_done: bool = False
    pending: tuple[VideoVersion, ...] = ()  # listed, not started yet
    in_flight: tuple[InFlight, ...] = ()
    counts: Counts = field(default_factory=Counts)

    @classmethod
    def first(cls, batch: BatchRef, settings: Settings) -> BatchState:
        return cls(
            batch=batch,
            max_in_flight=settings.batch_max_in_flight,
            page_size=settings.batch_page_size,
            poll_seconds=settings.batch_poll_seconds,
            retry_attempts=settings.chunk_retry_attempts,
            retry_interval_seconds=settings.chunk_retry_interval_seconds,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "batch": self.batch.to_dict(),
            "max_in_flight": self.max_in_flight,
            "page_size": self.page_size,
            "poll_seconds": self.poll_seconds,
            "retry_attempts": self.retry_attempts,
            "retry_interval_seconds": self.retry_interval_seconds,
            "generation": self.generation,
            "continuation": self.continuation,
            "listing_done": self.listing_done,
            "pending": [video.to_dict() for video in self.pending],
            "in_flight": [video.to_dict() for video in self.in_flight],
            "counts": self.counts.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchState:
        return cls(
            batch=BatchRef.from_dict(data["batch"]),
            max_in_flight=int(data["max_in_flight"]),
            page_size=int(data["page_size"]),
            poll_seconds=float(data["poll_seconds"]),
            retry_attempts=int(data["retry_attempts"]),
            retry_interval_seconds=float(data["retry_interval_seconds"]),
            generation=int(data.get("generation", 1)),
            continuation=data.get("continuation"),
            listing_done=bool(data.get("listing_done", False)),
            pending=tuple(VideoVersion.from_dict(video) for video in data.get("pending", ())),
            in_flight=tuple(InFlight.from_dict(video) for video in data.get("in_flight", ())),
            counts=Counts.from_dict(data.get("counts") or {}),
        )


@dataclass(frozen=True)
class ListPage:
    """One page of the listing: the videos to analyse, where the listing goes on (None: it is done), and the names
    it refused (each written as a failed row) or ignored."""

    videos: tuple[VideoVersion, ...]
    continuation: str | None
    refused: int = 0
    ignored: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "videos": [video.to_dict() for video in self.videos],
            "continuation": self.continuation,
            "refused": self.refused,
            "ignored": self.ignored,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ListPage:
        videos = tuple(VideoVersion.from_dict(video) for video in data["videos"])
        return cls(videos, data.get("continuation"), int(data.get("refused", 0)), int(data.get("ignored", 0)))


@dataclass(frozen=True)
class BatchOutcome:
    """The orchestration's output: the counts and where the table is."""

    counts: Counts
    json: BlobRef
    csv: BlobRef
    html: BlobRef

    def to_dict(self) -> dict[str, Any]:
        refs = {"json": self.json.to_dict(), "csv": self.csv.to_dict(), "html": self.html.to_dict()}
        return {"counts": self.counts.to_dict(), **refs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchOutcome:
        refs = {key: BlobRef.from_dict(data[key]) for key in ("json", "csv", "html")}
        return cls(Counts.from_dict(data["counts"]), refs["json"], refs["csv"], refs["html"])


def report_path(video_name: str) -> str:
    return f"videos/{quote(video_name, safe='/')}/report"


def finished_row(
    video: InFlight, runtime_status: str, output: Any, read_summary: Callable[[BlobRef], bytes]
) -> BatchRow:
    """The row of a finished analysis: from its own summary when it completed, else the one-line reason it ended."""
    if runtime_status != "Completed":
        error = str(output).strip() if output else f"the analysis ended {runtime_status.lower()}"
        return replace(BatchRow.failed(video.video.name, error), version=video.video.etag)
    try:
        summary = json.loads(read_summary(AnalysisOutcome.from_dict(output).summary))
    except (TypeError, KeyError, ValueError, StorageError) as error:
        reason = f"no summary of analysis {video.instance}: {error}"
        return replace(BatchRow.failed(video.video.name, reason), version=video.video.etag)
    return summary_row(video, summary)


def summary_row(video: InFlight, summary: Mapping[str, Any]) -> BatchRow:
    """The row of an analysis's own summary, linked to it and to the video's report."""
    row = BatchRow.from_summary(
        video.video.name, summary, f"analyses/{video.instance}/summary", report_path(video.video.name)
    )
    return replace(row, version=video.video.etag)


def merge_rows(storage: Storage, ref: BlobRef, rows: Mapping[int, BatchRow]) -> None:
    """Add rows (by listing index) to a generation's row blob; writing the same row again changes nothing."""
    if not rows:
        return
    stored = read_rows(storage, ref)
    stored.update(rows)
    document = {"rows": {str(index): row.to_dict() for index, row in sorted(stored.items())}}
    storage.write_bytes(ref, json.dumps(document).encode(), "application/json")


def read_rows(storage: Storage, ref: BlobRef) -> dict[int, BatchRow]:
    try:
        data = json.loads(storage.read_bytes(ref))
    except StorageError:
        return {}
    return {int(index): BatchRow.from_dict(row) for index, row in data["rows"].items()}


def write_results(storage: Storage, batch: BatchRef, generations: int, counts: Counts) -> BatchOutcome:
    """The batch's table from its row blobs, in listing order: JSON, CSV and the HTML index."""
    rows: dict[int, BatchRow] = {}
    for generation in range(1, generations + 1):
        rows.update(read_rows(storage, batch.rows(generation)))
    table = BatchTable(tuple(row for _, row in sorted(rows.items())))
    linked = BatchTable(tuple(_linked_from_index(row) for row in table.rows))
    refs = {suffix: batch.result(suffix) for suffix in ("json", "csv", "html")}
    storage.write_bytes(refs["json"], table.to_json().encode(), "application/json")
    storage.write_bytes(refs["csv"], table.to_csv().encode(), "text/csv")
    storage.write_bytes(refs["html"], linked.to_html(f"Batch {batch.id}").encode(), "text/html")
    return BatchOutcome(counts, refs["json"], refs["csv"], refs["html"])


def _linked_from_index(row: BatchRow) -> BatchRow:
    """The index is served at `batches/{id}/index`: two levels below the API root the rows' paths are relative to."""
    return replace(row, report=None if row.report is None else f"../../{row.report}")
