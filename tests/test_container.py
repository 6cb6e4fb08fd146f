"""The MP4 index reader refuses what is not a whole MP4 index quietly: the probe then keeps OpenCV's frame count."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from tests.support.clips import write_numbered
from videoanalysis.container import presented_seconds


def box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not a video at all, just text" * 10,
        box(b"ftyp", b"isom") + struct.pack(">I4s", 3, b"moov"),  # a box smaller than its header
        box(b"ftyp", b"isom") + box(b"moov", box(b"mvhd", b"\x00" * 4)),  # a movie header cut short
        box(b"moov", box(b"mvhd", b"")),  # an empty one
        box(b"ftyp", b"isom") + box(b"moov", box(b"mvhd", bytes(100))),  # no video track
        box(b"ftyp", b"isom") + struct.pack(">I4sQ", 1, b"moov", 1 << 40),  # a 64-bit size past the end
    ],
)
def test_anything_but_a_whole_index_says_nothing(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "x.mp4"
    path.write_bytes(data)
    assert presented_seconds(str(path)) is None


def test_a_whole_file_presents_its_frames(tmp_path: Path) -> None:
    assert presented_seconds(str(write_numbered(tmp_path / "a.mp4", "h264", 50))) == 2.0
    assert presented_seconds(str(tmp_path / "missing.mp4")) is None
