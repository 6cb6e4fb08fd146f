"""The summary's records: what `summary.build_summary` builds, written as the summary JSON by `Summary.to_dict`.

The JSON is the stored format (docs/summary.schema.json pins it) and what every reader reads: the report, the chart,
the CLI table and the batch table take the dict, as they take a summary stored by an older version. The schema is
versioned because summaries outlive the code that wrote them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from videoanalysis.contracts import Json, Timing, VideoInfo
from videoanalysis.regions import Direction
from videoanalysis.tracking.gaps import Point

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class SummaryVideo:
    """`video`: the video's name and what its probe found; a video that could not be read has its name alone."""

    name: str
    probe: VideoInfo | None = None

    def to_dict(self) -> Json:
        return {"name": self.name, **(self.probe.to_dict() if self.probe is not None else {})}


@dataclass(frozen=True)
class ClassRow:
    """`classes.<name>`: the class's unique objects, and its frame statistics merged over the chunks."""

    unique: int
    peak: int
    detections: int
    frames_present: int
    first_seen_s: float | None
    last_seen_s: float | None
    timeline: tuple[int, ...]  # per second of the video, the most objects of the class seen in one frame of it

    def to_dict(self) -> Json:
        return {
            "unique": self.unique,
            "peak": self.peak,
            "detections": self.detections,
            "frames_present": self.frames_present,
            "first_seen_s": self.first_seen_s,
            "last_seen_s": self.last_seen_s,
            "timeline": list(self.timeline),
        }


@dataclass(frozen=True)
class LineCount:
    """Counted objects of one class that crossed a line each way."""

    in_: int = 0
    out: int = 0

    def to_dict(self) -> Json:
        return {"in": self.in_, "out": self.out}


@dataclass(frozen=True)
class LineCrossing:
    """One counted object's crossing of a line, for the chart."""

    t_s: float
    cls: str
    direction: Direction

    def to_dict(self) -> Json:
        return {"t_s": self.t_s, "cls": self.cls, "direction": self.direction}


@dataclass(frozen=True)
class LineRow:
    """`lines.<name>`: the line's ends, its counts per class, and every counted crossing in time order."""

    points: tuple[Point, Point]
    classes: Mapping[str, LineCount]
    crossings: tuple[LineCrossing, ...]

    def to_dict(self) -> Json:
        return {
            "points": [list(point) for point in self.points],
            "classes": {cls: count.to_dict() for cls, count in self.classes.items()},
            "crossings": [crossing.to_dict() for crossing in self.crossings],
        }


@dataclass(frozen=True)
class ZoneCount:
    """Counted objects of one class inside a zone at least once, and the most tracked boxes inside in one frame."""

    entered: int
    peak: int

    def to_dict(self) -> Json:
        return {"entered": self.entered, "peak": self.peak}


@dataclass(frozen=True)
class ZoneRow:
    """`zones.<name>`: the zone's corners and its counts per class."""

    points: tuple[Point, ...]
    classes: Mapping[str, ZoneCount]

    def to_dict(self) -> Json:
        return {
            "points": [list(point) for point in self.points],
            "classes": {cls: count.to_dict() for cls, count in self.classes.items()},
        }


@dataclass(frozen=True)
class ObjectCrossing:
    """One of an object's crossings (its own, or one out of sight listed on it)."""

    line: str
    t_s: float
    direction: Direction

    def to_dict(self) -> Json:
        return {"line": self.line, "t_s": self.t_s, "direction": self.direction}


@dataclass(frozen=True)
class ObjectRow:
    """`objects[i]`: one object of the video, counted or a fragment, with where to see it."""

    cls: str
    first_s: float
    last_s: float
    chunks: tuple[int, ...]  # the chunks whose cores its time span lies in
    hits: int
    counted: bool
    thumbnail: str | None
    crossings: tuple[ObjectCrossing, ...]
    zones: tuple[str, ...]

    def to_dict(self) -> Json:
        return {
            "cls": self.cls,
            "first_s": self.first_s,
            "last_s": self.last_s,
            "chunks": list(self.chunks),
            "hits": self.hits,
            "counted": self.counted,
            "thumbnail": self.thumbnail,
            "crossings": [crossing.to_dict() for crossing in self.crossings],
            "zones": list(self.zones),
        }


@dataclass(frozen=True)
class ChunkRow:
    """`chunks[i]`: how one chunk went (a failed one knows its core only when the plan gave it)."""

    index: int
    status: str
    start_s: float | None
    end_s: float | None
    frames_decoded: int
    frames_analyzed: int
    error: str | None
    timing: Timing

    def to_dict(self) -> Json:
        return {
            "index": self.index,
            "status": self.status,
            "start_s": self.start_s,
            "end_s": self.end_s,
            "frames_decoded": self.frames_decoded,
            "frames_analyzed": self.frames_analyzed,
            "error": self.error,
            "timing": self.timing.to_dict(),
        }


@dataclass(frozen=True)
class Totals:
    """`totals`: the chunks' counters and times added up, and the analysis's wall-clock time."""

    chunks: int
    chunks_failed: int
    frames_decoded: int
    frames_analyzed: int
    detections: int
    unique_objects: int
    chunk_time_s: Timing
    wall_s: float | None

    def to_dict(self) -> Json:
        return {
            "chunks": self.chunks,
            "chunks_failed": self.chunks_failed,
            "frames_decoded": self.frames_decoded,
            "frames_analyzed": self.frames_analyzed,
            "detections": self.detections,
            "unique_objects": self.unique_objects,
            "chunk_time_s": self.chunk_time_s.to_dict(),
            "wall_s": self.wall_s,
        }


@dataclass(frozen=True)
class Summary:
    """What a user reads after the fan-in. `settings` is the JSON of the settings the analysis ran with, as given:
    stored settings of older versions lack those added since, whose absence means "off"."""

    status: str
    error: str | None
    warnings: tuple[str, ...]
    video: SummaryVideo
    settings: Mapping[str, Any]
    classes: Mapping[str, ClassRow]
    lines: Mapping[str, LineRow]
    zones: Mapping[str, ZoneRow]
    objects: tuple[ObjectRow, ...]
    chunks: tuple[ChunkRow, ...]
    totals: Totals

    @property
    def failed_chunks(self) -> list[int]:
        return [chunk.index for chunk in self.chunks if chunk.status != "ok"]

    def to_dict(self) -> Json:
        """The summary JSON (`json.dumps` of it is the stored document)."""
        return {
            "schema_version": SCHEMA_VERSION,
            "status": self.status,
            "error": self.error,
            "warnings": list(self.warnings),
            "video": self.video.to_dict(),
            "settings": dict(self.settings),
            "classes": {name: row.to_dict() for name, row in self.classes.items()},
            "lines": {name: row.to_dict() for name, row in self.lines.items()},
            "zones": {name: row.to_dict() for name, row in self.zones.items()},
            "objects": [row.to_dict() for row in self.objects],
            "chunks": [row.to_dict() for row in self.chunks],
            "failed_chunks": self.failed_chunks,
            "totals": self.totals.to_dict(),
        }
