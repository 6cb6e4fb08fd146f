"""What an MP4 or QuickTime file's own index says its video track presents: the seconds left after its edit list.

OpenCV's frame count is the track's sample count. A stream-copied trim (`ffmpeg -ss 3.3 -i in.mp4 -c copy out.mp4`)
keeps the samples from the keyframe before the cut and hides those before the cut with an edit list, so the file
presents fewer frames than it holds: taking the sample count as the video's would call a valid file truncated. The
track header's duration is the edited one (ISO/IEC 14496-12, 8.3.2), in the movie header's time scale.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import BinaryIO

MAX_MOOV_BYTES = 64 << 20
"""A movie header larger than this is not read (hours of samples take a few MB)."""

_UNKNOWN = {0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF}
"""Track durations that say nothing: fragmented files write 0 or all ones."""


def presented_seconds(path: str) -> float | None:
    """The video track's duration after its edits, or None when `path` is not an MP4/MOV whose index says it."""
    try:
        with open(path, "rb") as file:
            moov = _find(_boxes(file, None), b"moov", file)
            if moov is None:
                return None
            return _video_seconds(moov)
    except (OSError, struct.error, ValueError, IndexError):
        return None


def _boxes(file: BinaryIO, end: int | None) -> Iterator[tuple[bytes, int, int]]:
    """(type, payload offset, payload size) of the boxes from the file's position up to `end` (None: its end)."""
    while end is None or file.tell() + 8 <= end:
        start = file.tell()
        header = file.read(8)
        if len(header) < 8:
            return
        size, kind = struct.unpack(">I4s", header)
        head = 8
        if size == 1:
            (size,) = struct.unpack(">Q", file.read(8))
            head = 16
        elif size == 0:
            size = file.seek(0, 2) - start
        if size < head:
            raise ValueError("bad box size")
        yield kind, start + head, size - head
        file.seek(start + size)


def _find(boxes: Iterator[tuple[bytes, int, int]], kind: bytes, file: BinaryIO) -> bytes | None:
    """The payload of the first box of `kind`."""
    for found, offset, size in boxes:
        if found == kind:
            if size > MAX_MOOV_BYTES:
                return None
            file.seek(offset)
            return file.read(size)
    return None


def _children(payload: bytes) -> Iterator[tuple[bytes, bytes]]:
    """(type, payload) of the boxes inside a box's payload."""
    at = 0
    while at + 8 <= len(payload):
        size, kind = struct.unpack_from(">I4s", payload, at)
        head = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", payload, at + 8)
            head = 16
        elif size == 0:
            size = len(payload) - at
        if size < head:
            raise ValueError("bad box size")
        yield kind, payload[at + head : at + size]
        at += size


def _video_seconds(moov: bytes) -> float | None:
    children = list(_children(moov))
    mvhd = next((payload for kind, payload in children if kind == b"mvhd"), None)
    if mvhd is None:
        return None
    (timescale,) = struct.unpack_from(">I", mvhd, 20 if mvhd[0] == 1 else 12)
    for kind, trak in children:
        if kind != b"trak":
            continue
        parts = dict(_children(trak))
        hdlr = dict(_children(parts.get(b"mdia", b""))).get(b"hdlr", b"")
        if hdlr[8:12] != b"vide" or b"tkhd" not in parts:
            continue
        tkhd = parts[b"tkhd"]
        (duration,) = struct.unpack_from(">Q", tkhd, 28) if tkhd[0] == 1 else struct.unpack_from(">I", tkhd, 20)
        return None if duration in _UNKNOWN or not timescale else duration / timescale
    return None
