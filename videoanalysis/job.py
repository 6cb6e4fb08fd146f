"""The orchestration input: everything an analysis needs, as plain data that survives replay."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from videoanalysis.settings import Settings
from videoanalysis.storage import BlobRef


@dataclass(frozen=True)
class Job:
    video: BlobRef
    summary: BlobRef
    results: BlobRef  # container + name prefix of the per-chunk files
    settings: Settings = field(default_factory=Settings)
    storage: Mapping[str, object] = field(default_factory=lambda: {"kind": "azure", "access": "cache"})

    def chunk_ref(self, index: int, suffix: str) -> BlobRef:
        return BlobRef(self.results.container, f"{self.results.name}/chunk-{index:05d}.{suffix}")

    @property
    def spec_ref(self) -> BlobRef:
        """Where planning stores the job and the probed video, so chunk inputs need only point at it."""
        return BlobRef(self.results.container, f"{self.results.name}/job.json")

    def to_dict(self) -> dict[str, object]:
        return {
            "video": self.video.to_dict(),
            "summary": self.summary.to_dict(),
            "results": self.results.to_dict(),
            "settings": self.settings.to_dict(),
            "storage": dict(self.storage),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Job:
        return cls(
            video=BlobRef.from_dict(data["video"]),  # type: ignore[arg-type]
            summary=BlobRef.from_dict(data["summary"]),  # type: ignore[arg-type]
            results=BlobRef.from_dict(data["results"]),  # type: ignore[arg-type]
            settings=Settings.from_dict(data["settings"]),  # type: ignore[arg-type]
            storage=dict(data["storage"]),  # type: ignore[call-overload]
        )


def instance_id(video: BlobRef, etag: str) -> str:
    """Durable instance id of one blob version: readable prefix + hash, no '/', stable across duplicate events."""
    digest = hashlib.sha256(f"{video.container}/{video.name}@{etag}".encode()).hexdigest()[:24]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", video.name)[-60:].strip("-.") or "video"
    return f"{readable}-{digest}"
