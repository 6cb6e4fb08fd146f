"""Small test clips whose frames carry their own index in the pixels, and broken files.

Each frame shows its index as 16 large black/white blocks (Gray code, so consecutive frames differ in one block and
the encoder uses B-frames freely). Decoding a frame tells exactly which frame it is, whatever a seek claimed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from scenes.writer import Codec, write_video

WIDTH, HEIGHT = 320, 240
FPS = 25.0
GRID = 4  # 4 x 4 blocks = 16 bits
_BW, _BH = WIDTH // GRID, HEIGHT // GRID


def numbered_frame(index: int) -> np.ndarray:
    """A BGR frame showing `index` (< 65536) as Gray-coded blocks."""
    gray = index ^ (index >> 1)
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    for bit in range(GRID * GRID):
        if gray >> bit & 1:
            row, col = divmod(bit, GRID)
            image[row * _BH : (row + 1) * _BH, col * _BW : (col + 1) * _BW] = 255
    return image


def frame_index(image: np.ndarray) -> int:
    """The index a decoded frame shows (block centres only, so compression at block edges does not matter)."""
    gray = 0
    for bit in range(GRID * GRID):
        row, col = divmod(bit, GRID)
        y, x = row * _BH + _BH // 4, col * _BW + _BW // 4
        if image[y : y + _BH // 2, x : x + _BW // 2].mean() > 128:
            gray |= 1 << bit
    index = 0
    while gray:
        index ^= gray
        gray >>= 1
    return index


def _frames(count: int) -> Iterator[np.ndarray]:
    return (numbered_frame(i) for i in range(count))


def write_numbered(
    path: Path, codec: Codec, count: int, timestamps_ms: list[int] | None = None, fps: float = FPS
) -> Path:
    """A numbered clip at `fps` (constant rate) or at the given presentation times (variable rate)."""
    return write_video(_frames(count), path, fps, codec, timestamps_ms)


def vfr_timestamps(count: int) -> list[int]:
    """Irregular frame times: intervals from 20 ms to 250 ms and one 1.5 s freeze, as phones and screen grabs do."""
    steps = [40, 20, 33, 67, 40, 100, 40, 250, 33, 34]
    times = [0]
    for i in range(1, count):
        times.append(times[-1] + (1500 if i == count // 2 else steps[i % len(steps)]))
    return times


def write_empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def write_text(path: Path) -> Path:
    path.write_text("this is a text file with a video's name\n" * 20)
    return path


def write_truncated(source: Path, path: Path, keep: float = 0.5) -> Path:
    """The first `keep` fraction of a real file's bytes, as left by an interrupted upload."""
    data = source.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


def write_header_only(source: Path, path: Path) -> Path:
    """A fast-start MP4 cut just after its header: it opens (moov is complete) but no frame can be decoded."""
    data = source.read_bytes()
    mdat = data.index(b"mdat")
    path.write_bytes(data[: mdat + 4])
    return path
