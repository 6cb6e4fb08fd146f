"""Which blob names the app takes for videos: a plain relative name with a known video extension.

Names come from users (HTTP API, upload command) and from blob events. One rule set keeps the trigger, the API and
the upload command in agreement, and keeps a name from escaping its container in a URL, a route or a cache path.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from pathlib import PurePosixPath

from videoanalysis.contracts import BlobRef

MAX_NAME_LENGTH = 1024
"""Azure Blob Storage's limit on a blob name."""


def has_video_extension(name: str, extensions: Iterable[str]) -> bool:
    """Case-insensitive; VIDEO_EXTENSIONS entries may be written with or without the dot (".mp4" or "mp4")."""
    suffix = PurePosixPath(name).suffix.lower()
    return bool(suffix) and suffix in {"." + ext.strip().lstrip(".").lower() for ext in extensions}


def name_problem(name: str) -> str | None:
    """Why `name` is not a safe blob name, or None: no empty, '.' or '..' segments (so no leading or trailing '/'),
    no backslashes, no control or invisible format characters (which can disguise an extension)."""
    if not name:
        return "the blob name is empty"
    if len(name) > MAX_NAME_LENGTH:
        return f"the blob name is longer than {MAX_NAME_LENGTH} characters"
    if "\\" in name:
        return "the blob name contains a backslash"
    if any(unicodedata.category(char) in ("Cc", "Cf", "Cs") for char in name):
        return "the blob name contains control or invisible formatting characters"
    if any(segment in ("", ".", "..") for segment in name.split("/")):
        return "the blob name has an empty, '.' or '..' path segment (or starts or ends with '/')"
    return None


def video_name_problem(name: str, extensions: Iterable[str]) -> str | None:
    """Why `name` is not a video blob the app analyses, or None."""
    extensions = tuple(extensions)
    if problem := name_problem(name):
        return problem
    if not has_video_extension(name, extensions):
        return f"{PurePosixPath(name).name!r} does not have a video extension ({', '.join(extensions)})"
    return None


def instance_id(video: BlobRef, etag: str) -> str:
    """Durable instance id of one blob version: readable prefix + hash, no '/', stable across duplicate events."""
    digest = hashlib.sha256(f"{video.container}/{video.name}@{etag}".encode()).hexdigest()[:24]
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", video.name)[-60:].strip("-.") or "video"
    return f"{readable}-{digest}"
