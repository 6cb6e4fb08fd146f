"""The records that cross the durable boundary, and the one an activity stores for another (the full chunk result).

Frozen dataclasses, each with `to_dict` (plain JSON: the SDK's class encoding would pin module paths into the
orchestration history) and `from_dict`. The dict shapes are the wire format that in-flight orchestrations replay:
a new field gets a default so that an older history still parses; renaming or removing one needs a new version.
`tests/test_contracts.py` pins the shapes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, TypeVar

from videoanalysis.settings import Settings
from videoanalysis.stats import ClassStats

Json = dict[str, Any]
Status = Literal["ok", "failed"]
T = TypeVar("T")


def _optional(parse: Callable[[Any], T], value: Any) -> T | None:
    """An optional field of the wire format: absent or null is None, anything else is parsed."""
    return None if value is None else parse(value)


def _dumped(record: BlobRef | VideoInfo | None) -> Json | None:
    return None if record is None else record.to_dict()


@dataclass(frozen=True)
class BlobRef:
    container: str
    name: str

    def to_dict(self) -> dict[str, str]:
        return {"container": self.container, "name": self.name}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BlobRef:
        return cls(container=str(data["container"]), name=str(data["name"]))


@dataclass(frozen=True)
class StorageSpec:
    """Which storage the activities open: Azure (from the app's own settings; no secret travels) or local folders."""

    kind: Literal["azure", "local"] = "azure"
    access: str = "cache"  # azure: VIDEO_ACCESS
    containers: Mapping[str, str] = field(default_factory=dict)  # local: container name -> folder
    cache_mb: float = 8192.0  # azure: VIDEO_CACHE_MB

    def to_dict(self) -> Json:
        if self.kind == "local":
            return {"kind": "local", "containers": dict(self.containers)}
        return {"kind": "azure", "access": self.access, "cache_mb": self.cache_mb}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StorageSpec:
        if data.get("kind") == "local":
            return cls(kind="local", containers={str(k): str(v) for k, v in data["containers"].items()})
        return cls(kind="azure", access=str(data.get("access", "cache")), cache_mb=float(data.get("cache_mb", 8192.0)))


@dataclass(frozen=True)
class VideoInfo:
    """What the chunk plan and the summary need to know about a video."""

    fps: float
    frame_count: int
    duration_s: float
    width: int
    height: int
    codec: str
    size_bytes: int | None
    claimed_frame_count: int | None = None  # what the container says, where it differs from the decodable count
    untimed: bool = False  # its frames carry no timestamps (a raw H.264 stream): frame i is at i / fps
    gaps: tuple[tuple[int, int], ...] = ()  # [after_ms, before_ms): long spans with no frame, no chunk seeks into

    def to_dict(self) -> Json:
        return {**asdict(self), "gaps": [list(gap) for gap in self.gaps]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> VideoInfo:
        values = {f.name: data[f.name] for f in fields(cls) if f.name in data}
        values["gaps"] = tuple((int(a), int(b)) for a, b in values.get("gaps") or ())
        return cls(**values)


@dataclass(frozen=True)
class Chunk:
    """Core [start_ms, end_ms) (end None: to the end of the video), decoded from window_start_ms: the analysed frame
    before the core is where the camera's motion into the core is measured from (`chunking.plan_chunks`)."""

    index: int
    start_ms: int
    end_ms: int | None
    window_start_ms: int

    def to_dict(self) -> Json:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Chunk:
        return cls(
            index=int(data["index"]),
            start_ms=int(data["start_ms"]),
            end_ms=_optional(int, data["end_ms"]),
            window_start_ms=int(data["window_start_ms"]),
        )


@dataclass(frozen=True)
class Job:
    """The orchestration input: everything an analysis needs, as plain data that survives replay."""

    video: BlobRef
    summary: BlobRef  # this analysis's own summary
    results: BlobRef  # container + name prefix of the per-chunk files (`videoanalysis.artefacts`)
    settings: Settings = field(default_factory=Settings)
    storage: StorageSpec = field(default_factory=StorageSpec)
    latest: BlobRef | None = None  # the video's "latest" summary, written while this version is still the current one
    etag: str | None = None  # the version of the video this analysis is of
    instance: str | None = None  # the durable instance id, for logs

    def to_dict(self) -> Json:
        return {
            "video": self.video.to_dict(),
            "summary": self.summary.to_dict(),
            "results": self.results.to_dict(),
            "settings": self.settings.to_dict(),
            "storage": self.storage.to_dict(),
            "latest": _dumped(self.latest),
            "etag": self.etag,
            "instance": self.instance,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Job:
        return cls(
            video=BlobRef.from_dict(data["video"]),
            summary=BlobRef.from_dict(data["summary"]),
            results=BlobRef.from_dict(data["results"]),
            settings=Settings.from_dict(data["settings"]),
            storage=StorageSpec.from_dict(data["storage"]),
            latest=_optional(BlobRef.from_dict, data.get("latest")),
            etag=data.get("etag"),
            instance=data.get("instance"),
        )


@dataclass(frozen=True)
class JobSpec:
    """What planning stores for the chunks (`artefacts.job_spec`): the job and the probed video."""

    job: Job
    video: VideoInfo

    def to_dict(self) -> Json:
        return {"job": self.job.to_dict(), "video": self.video.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> JobSpec:
        return cls(job=Job.from_dict(data["job"]), video=VideoInfo.from_dict(data["video"]))


@dataclass(frozen=True)
class PlanResult:
    """`plan_chunks`' output: the chunks, or why the video cannot be analysed."""

    status: Status
    error: str | None = None
    video: VideoInfo | None = None
    spec: BlobRef | None = None
    chunks: tuple[Chunk, ...] = ()

    @classmethod
    def failed(cls, error: str) -> PlanResult:
        return cls(status="failed", error=error)

    def to_dict(self) -> Json:
        return {
            "status": self.status,
            "error": self.error,
            "video": _dumped(self.video),
            "spec": _dumped(self.spec),
            "chunks": [chunk.to_dict() for chunk in self.chunks],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanResult:
        return cls(
            status=data["status"],
            error=data.get("error"),
            video=_optional(VideoInfo.from_dict, data.get("video")),
            spec=_optional(BlobRef.from_dict, data.get("spec")),
            chunks=tuple(Chunk.from_dict(chunk) for chunk in data.get("chunks") or ()),
        )


@dataclass(frozen=True)
class ChunkInput:
    """`analyze_chunk`'s input: it points at the stored job spec instead of repeating the job once per chunk."""

    storage: StorageSpec
    spec: BlobRef
    chunk: Chunk

    def to_dict(self) -> Json:
        return {"storage": self.storage.to_dict(), "spec": self.spec.to_dict(), "chunk": self.chunk.to_dict()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkInput:
        return cls(
            storage=StorageSpec.from_dict(data["storage"]),
            spec=BlobRef.from_dict(data["spec"]),
            chunk=Chunk.from_dict(data["chunk"]),
        )


@dataclass(frozen=True)
class Timing:
    """Seconds a chunk spent decoding, detecting, measuring the camera's motion, and in all.

    In JSON the motion's time keeps the key `track_s` from when the chunks tracked: chunk results, orchestration
    histories and summaries of every version carry it, and the summary's schema pins it."""

    decode_s: float = 0.0
    infer_s: float = 0.0
    motion_s: float = 0.0
    total_s: float = 0.0

    def to_dict(self) -> dict[str, float]:
        return {_TIMING_JSON_KEYS.get(name, name): value for name, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Timing:
        data = data or {}
        return cls(**{f.name: float(data.get(_TIMING_JSON_KEYS.get(f.name, f.name)) or 0.0) for f in fields(cls)})


_TIMING_JSON_KEYS = {"motion_s": "track_s"}
"""`Timing`'s fields whose JSON key is another name."""


@dataclass(frozen=True)
class ChunkOutcome:
    """What the orchestrator keeps per chunk (`analyze_chunk`'s output): status and counters, never tracks or boxes.

    A chunk that failed for good carries only its index, status and error.
    """

    index: int
    status: Status
    error: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    frames_decoded: int = 0
    frames_analyzed: int = 0
    timing: Timing = field(default_factory=Timing)

    @classmethod
    def failed(cls, index: int, error: str) -> ChunkOutcome:
        return cls(index=index, status="failed", error=error)

    def to_dict(self) -> Json:
        return {
            "index": self.index,
            "status": self.status,
            "error": self.error,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "frames_decoded": self.frames_decoded,
            "frames_analyzed": self.frames_analyzed,
            "timing": self.timing.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkOutcome:
        return cls(
            index=int(data["index"]),
            status=data["status"],
            error=data.get("error"),
            start_ms=_optional(int, data.get("start_ms")),
            end_ms=_optional(int, data.get("end_ms")),
            frames_decoded=int(data.get("frames_decoded") or 0),
            frames_analyzed=int(data.get("frames_analyzed") or 0),
            timing=Timing.from_dict(data.get("timing")),
        )


@dataclass(frozen=True)
class Crop:
    """What one of a chunk's thumbnails shows: detection `det` of the analysed frame at `t_ms`, of confidence `conf`."""

    t_ms: int
    det: int
    conf: float

    def to_json(self) -> list[Any]:
        return [self.t_ms, self.det, self.conf]

    @classmethod
    def from_json(cls, value: Any) -> Crop:
        t_ms, det, conf = value
        return cls(int(t_ms), int(det), float(conf))


@dataclass(frozen=True)
class ChunkResult:
    """A chunk's full result, stored beside its detections for `summarize`; `outcome()` is what history keeps.

    `thumbnails` holds the detection each of the chunk's crops shows, by crop id (`artefacts.thumbnail`).
    """

    index: int
    status: Status
    error: str | None = None
    start_ms: int | None = None
    end_ms: int | None = None
    window_start_ms: int | None = None
    frames_decoded: int = 0
    frames_analyzed: int = 0
    classes: Mapping[str, ClassStats] = field(default_factory=dict)
    thumbnails: Mapping[int, Crop] = field(default_factory=dict)
    timing: Timing = field(default_factory=Timing)
    detections_key: str | None = None
    job_digest: str | None = None  # what it was computed from (`analyze_chunk` reuses a result only for its own job)
    frames_owned: int | None = None  # frames decoded in the core, sampled or not (None: a result written before it)

    @classmethod
    def from_outcome(cls, outcome: ChunkOutcome) -> ChunkResult:
        """A chunk known only by its outcome (failed, or its stored result is gone): no classes, no tracks."""
        return cls(**{f.name: getattr(outcome, f.name) for f in fields(ChunkOutcome)})

    def outcome(self) -> ChunkOutcome:
        return ChunkOutcome(**{f.name: getattr(self, f.name) for f in fields(ChunkOutcome)})

    def to_dict(self) -> Json:
        return {
            **self.outcome().to_dict(),
            "window_start_ms": self.window_start_ms,
            "classes": {name: stats.to_dict() for name, stats in sorted(self.classes.items())},
            "thumbnails": {str(crop_id): crop.to_json() for crop_id, crop in self.thumbnails.items()},
            "detections_key": self.detections_key,
            "job_digest": self.job_digest,
            "frames_owned": self.frames_owned,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChunkResult:
        outcome = ChunkOutcome.from_dict(data)
        return cls(
            index=outcome.index,
            status=outcome.status,
            error=outcome.error,
            start_ms=outcome.start_ms,
            end_ms=outcome.end_ms,
            window_start_ms=_optional(int, data.get("window_start_ms")),
            frames_decoded=outcome.frames_decoded,
            frames_analyzed=outcome.frames_analyzed,
            classes={name: ClassStats.from_dict(stats) for name, stats in (data.get("classes") or {}).items()},
            thumbnails={int(crop_id): Crop.from_json(crop) for crop_id, crop in (data.get("thumbnails") or {}).items()},
            timing=outcome.timing,
            detections_key=data.get("detections_key"),
            job_digest=data.get("job_digest"),
            frames_owned=_optional(int, data.get("frames_owned")),
        )


@dataclass(frozen=True)
class SummarizeInput:
    job: Job
    plan: PlanResult
    chunks: tuple[ChunkOutcome, ...]
    started_at: str  # ISO time the orchestration started (from its replay-safe clock)

    def to_dict(self) -> Json:
        return {
            "job": self.job.to_dict(),
            "plan": self.plan.to_dict(),
            "chunks": [chunk.to_dict() for chunk in self.chunks],
            "started_at": self.started_at,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SummarizeInput:
        return cls(
            job=Job.from_dict(data["job"]),
            plan=PlanResult.from_dict(data["plan"]),
            chunks=tuple(ChunkOutcome.from_dict(chunk) for chunk in data["chunks"]),
            started_at=str(data["started_at"]),
        )


@dataclass(frozen=True)
class AnalysisOutcome:
    """The orchestration's output (`summarize`'s): how it went and where the summary is."""

    status: str  # "succeeded" | "partial" | "failed"
    error: str | None
    summary: BlobRef
    chart: BlobRef
    unique: Mapping[str, int]
    latest: BlobRef | None = None  # where it was also written as the video's latest summary; None: a newer version

    def to_dict(self) -> Json:
        return {
            "status": self.status,
            "error": self.error,
            "summary": self.summary.to_dict(),
            "chart": self.chart.to_dict(),
            "unique": dict(self.unique),
            "latest": _dumped(self.latest),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AnalysisOutcome:
        return cls(
            status=str(data["status"]),
            error=data.get("error"),
            summary=BlobRef.from_dict(data["summary"]),
            chart=BlobRef.from_dict(data["chart"]),
            unique={str(k): int(v) for k, v in data["unique"].items()},
            latest=_optional(BlobRef.from_dict, data.get("latest")),
        )


@dataclass(frozen=True)
class Progress:
    """The orchestration's custom status, which `GET /api/analyses/{id}` and the runner's progress bars read."""

    stage: str  # "planning" | "analyzing" | "summarizing" | "done"
    chunks_done: int
    chunks_total: int

    def to_dict(self) -> Json:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Progress:
        return cls(str(data["stage"]), int(data["chunks_done"]), int(data["chunks_total"]))
