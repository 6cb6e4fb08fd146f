"""Every setting of the app: one name, one default, read from the environment once.

The orchestrator never reads the environment: the trigger turns `Settings` into a plain dict that travels in the
orchestration input, so a replay sees exactly the settings the run started with.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from videoanalysis.regions import Regions

CHOICES: dict[str, tuple[str, ...]] = {
    # auto: ONNX Runtime for .onnx files, Ultralytics (PyTorch) otherwise
    "backend": ("auto", "onnxruntime", "ultralytics"),
    # Ultralytics trackers that need no ReID model (nothing to download)
    "tracker": ("tracktrack", "bytetrack"),
    # TrackTrack's camera-motion compensation: Ultralytics' default, off for a fixed camera, or on once the camera moves
    "tracker_gmc": ("sparseOptFlow", "none", "auto"),
    "video_access": ("cache", "stream"),
    # polling (Core Tools + Azurite, Consumption) or Event Grid (Flex Consumption)
    "blob_trigger_source": ("LogsAndContainerScan", "EventGrid"),
}
"""The allowed values of every setting that is a choice; `Settings` validates against them once."""

NO_REGIONS = Regions()
"""COUNT_REGIONS' default: no lines, no zones, nothing traced."""

DEFAULT_VIDEO_EXTENSIONS = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".h264", ".264")


@dataclass(frozen=True)
class Settings:
    """Analysis and storage settings; field names map to upper-case app settings (`chunk_seconds` -> CHUNK_SECONDS)."""

    model_path: str = "yolo26n.pt"
    chunk_seconds: float = 10.0
    max_chunks: int = 500
    sample_fps: float = 5.0
    confidence: float = 0.25
    imgsz: int = 0  # 0: the size the model was trained/exported for
    end2end: bool = False  # true: YOLO26's NMS-free head where the .pt model has one
    backend: str = "auto"
    batch_size: int = 8
    classes: tuple[str, ...] = ()
    tracker: str = "tracktrack"
    tracker_gmc: str = "auto"  # chosen by `make eval`: as accurate, without the compensation on a fixed camera
    track_lost_seconds: float = 1.0  # how long the tracker keeps a lost track
    min_track_seconds: float = 1.4  # an object tracked for less is a fragment, not counted (chosen by `make eval`)
    link_gap_seconds: float = 4.0  # tracks this far apart where the motion carries one object are one; 0 = never
    chunk_retry_attempts: int = 3
    chunk_retry_interval_seconds: float = 5.0
    video_container: str = "videos"
    results_container: str = "results"
    summary_container: str = "summaries"
    video_extensions: tuple[str, ...] = DEFAULT_VIDEO_EXTENSIONS
    max_video_mb: float = 4096.0
    max_pixels: int = 3840 * 2160  # frames larger than 4K are refused: memory per worker grows with the frame
    video_access: str = "cache"
    video_cache_mb: float = 8192.0  # VIDEO_ACCESS=cache keeps at most this much video per worker instance
    blob_trigger_source: str = "LogsAndContainerScan"
    history_retention_days: float = 30.0  # finished analyses' durable history is purged after this; 0 = kept
    count_regions: Regions = NO_REGIONS  # lines and zones to count (COUNT_REGIONS, JSON); none by default
    batch_max_in_flight: int = 10  # analyses a batch (POST /api/batches) keeps running at once
    batch_page_size: int = 100  # videos a batch lists per page (one page per continue_as_new)
    batch_poll_seconds: float = 15.0  # how often a batch looks at its analyses in flight

    def __post_init__(self) -> None:
        if self.chunk_seconds <= 0:
            raise ValueError(f"CHUNK_SECONDS must be > 0, got {self.chunk_seconds}")
        if self.max_chunks < 1:
            raise ValueError(f"MAX_CHUNKS must be >= 1, got {self.max_chunks}")
        if self.sample_fps < 0:
            raise ValueError(f"SAMPLE_FPS must be >= 0 (0 = every frame), got {self.sample_fps}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"CONFIDENCE must be in (0, 1), got {self.confidence}")
        if (self.imgsz and self.imgsz < 32) or self.batch_size < 1 or self.chunk_retry_attempts < 1:
            raise ValueError("IMGSZ must be 0 (the model's own) or >= 32, BATCH_SIZE and CHUNK_RETRY_ATTEMPTS >= 1")
        if min(self.min_track_seconds, self.track_lost_seconds, self.link_gap_seconds, self.max_pixels) < 0:
            raise ValueError("MIN_TRACK_SECONDS, TRACK_LOST_SECONDS, LINK_GAP_SECONDS and MAX_PIXELS must be >= 0")
        if self.video_cache_mb < 0:
            raise ValueError(f"VIDEO_CACHE_MB must be >= 0, got {self.video_cache_mb:g}")
        if self.history_retention_days < 0:
            raise ValueError(f"HISTORY_RETENTION_DAYS must be >= 0 (0 = keep all), got {self.history_retention_days:g}")
        if min(self.batch_max_in_flight, self.batch_page_size) < 1 or self.batch_poll_seconds <= 0:
            raise ValueError("BATCH_MAX_IN_FLIGHT and BATCH_PAGE_SIZE must be >= 1, BATCH_POLL_SECONDS > 0")
        for name, allowed in CHOICES.items():
            canonical = {value.lower(): value for value in allowed}.get(str(getattr(self, name)).lower())
            if canonical is None:
                raise ValueError(f"{name.upper()} must be one of {', '.join(allowed)}, got {getattr(self, name)!r}")
            object.__setattr__(self, name, canonical)  # choices are case-insensitive; keep the canonical spelling

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from app settings / environment variables; unset or empty ones keep their default."""
        return cls(**cls.env_values(environ))

    @classmethod
    def env_values(cls, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The settings the environment sets, parsed; a caller can tell a chosen value from a default."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for field in fields(cls):
            raw = environ.get(field.name.upper(), "").strip()
            if raw:
                values[field.name] = _parse(field.name, raw, getattr(cls, field.name))
        return values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Settings:
        """The `to_dict` form; a setting it lacks (one added since an older history was written) keeps its default."""
        known = {field.name for field in fields(cls)}
        return cls(**{key: _from_plain(getattr(cls, key), value) for key, value in data.items() if key in known})

    def to_dict(self) -> dict[str, object]:
        """Plain JSON, for the orchestration input and the summary."""
        return {field.name: _to_plain(getattr(self, field.name)) for field in fields(self)}

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)


def _to_plain(value: object) -> object:
    if isinstance(value, Regions):
        return value.to_dict()
    return list(value) if isinstance(value, tuple) else value


def _from_plain(default: object, value: Any) -> Any:
    if isinstance(default, Regions):
        return Regions.from_dict(value)
    return tuple(value) if isinstance(value, list) else value


def _parse(name: str, raw: str, default: object) -> object:
    if isinstance(default, Regions):
        try:
            return Regions.from_json(raw)
        except ValueError as error:
            raise ValueError(f"setting {name.upper()}: {error}") from None
    try:
        if isinstance(default, bool):
            if raw.lower() not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return raw.lower() in ("true", "1")
        if isinstance(default, tuple):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
        if isinstance(default, int):
            return int(raw)
        if isinstance(default, float):
            return float(raw)
    except ValueError as error:
        raise ValueError(f"setting {name.upper()}={raw!r} is not a valid {type(default).__name__}") from error
    return raw
