"""Write BGR frames to an MP4 file: mp4v through OpenCV, H.264 and variable frame rate through ffmpeg.

Tests, demos and benchmarks need real files of each kind a user might upload: OpenCV's own mp4v (cheap, every frame
near a keyframe), H.264 with B-frames and long GOPs (where naive seeking goes wrong) and variable frame rate (where
frame numbers and times disagree). ffmpeg is the binary shipped in the imageio-ffmpeg wheel, so nothing is downloaded.
"""

from __future__ import annotations

import contextlib
import subprocess
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction
from itertools import chain, pairwise
from pathlib import Path
from typing import IO, Literal

import cv2
import imageio_ffmpeg
import numpy as np

Codec = Literal["mp4v", "h264"]

GOP_SECONDS = 4.0
"""Keyframe interval of H.264 output: several seconds, so seeks land on a keyframe well before their target."""


def write_video(
    frames: Iterable[np.ndarray],
    path: str | Path,
    fps: float,
    codec: Codec = "mp4v",
    timestamps_ms: Sequence[int] | None = None,
) -> Path:
    """Write HxWx3 uint8 BGR frames to `path` and return it.

    With `timestamps_ms` (starting at 0, increasing) the file is variable-frame-rate and frame i is presented at
    exactly timestamps_ms[i]; `fps` then only sets the duration of the last frame. Frames are streamed, never all
    held in memory.
    """
    path = Path(path)
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    if codec not in ("mp4v", "h264"):
        raise ValueError(f"codec must be 'mp4v' or 'h264', got {codec!r}")
    path.parent.mkdir(parents=True, exist_ok=True)
    frames_iter = iter(frames)
    first = next(frames_iter, None)
    if first is None:
        raise ValueError("no frames to write")
    checked = _checked(first, frames_iter, codec)
    if timestamps_ms is not None:
        _write_vfr(checked, path, fps, codec, list(timestamps_ms))
    elif codec == "mp4v":
        _write_opencv(checked, path, fps, first.shape)
    else:
        _write_ffmpeg_pipe(checked, path, fps, first.shape)
    return path


def _checked(first: np.ndarray, rest: Iterator[np.ndarray], codec: str) -> Iterator[np.ndarray]:
    """All frames, the first included, each checked against the first's shape as it streams by."""
    for frame in chain([first], rest):
        _check_frame(frame, first.shape, codec)
        yield frame


def _check_frame(frame: np.ndarray, shape: tuple[int, ...], codec: str) -> None:
    if frame.dtype != np.uint8 or frame.ndim != 3 or frame.shape[2] != 3:
        raise ValueError(f"frames must be HxWx3 uint8 BGR, got shape {frame.shape} dtype {frame.dtype}")
    if frame.shape != shape:
        raise ValueError(f"all frames must have the shape of the first {shape}, got {frame.shape}")
    if codec == "h264" and (shape[0] % 2 or shape[1] % 2):
        raise ValueError(f"H.264 (yuv420p) needs even width and height, got {shape[1]}x{shape[0]}")


def _write_opencv(frames: Iterator[np.ndarray], path: Path, fps: float, shape: tuple[int, ...]) -> None:
    height, width = shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, (width, height))
    if not writer.isOpened():
        raise RuntimeError(f"OpenCV cannot open a mp4v writer for {path}")
    try:
        for frame in frames:
            writer.write(frame)
    finally:
        writer.release()


def _encoder_args(codec: Codec, fps: float) -> list[str]:
    """Encoder options: H.264 with B-frames and a long fixed GOP, or MPEG-4 part 2 tagged mp4v like OpenCV's."""
    if codec == "mp4v":
        return ["-c:v", "mpeg4", "-tag:v", "mp4v", "-q:v", "3"]
    gop = str(max(1, round(fps * GOP_SECONDS)))
    return [
        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p",
        "-bf", "3", "-g", gop, "-keyint_min", gop, "-sc_threshold", "0",
    ]  # fmt: skip


def _run_ffmpeg(args: list[str], frames: Iterator[np.ndarray] | None = None) -> None:
    """Run ffmpeg, writing raw frames to its stdin when given; raise with ffmpeg's own message on failure.

    stderr goes to a file, not a pipe, so a chatty ffmpeg can never block on a full pipe while we write frames.
    """
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args]
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL if frames is None else subprocess.PIPE, stderr=err)
        try:
            if frames is not None and proc.stdin is not None:
                _feed(proc.stdin, frames)
        finally:
            if proc.stdin is not None:
                with contextlib.suppress(BrokenPipeError):
                    proc.stdin.close()
            code = proc.wait()
        if code != 0:
            err.seek(0)
            message = err.read().decode(errors="replace").strip()
            raise RuntimeError(f"ffmpeg failed ({code}): {message[-2000:]}")


def _feed(stdin: IO[bytes], frames: Iterator[np.ndarray]) -> None:
    """Write frames to ffmpeg; a broken pipe means ffmpeg exited early, which the caller reports with its message."""
    with contextlib.suppress(BrokenPipeError):
        for frame in frames:
            stdin.write(np.ascontiguousarray(frame).tobytes())


def _write_ffmpeg_pipe(frames: Iterator[np.ndarray], path: Path, fps: float, shape: tuple[int, ...]) -> None:
    height, width = shape[:2]
    rate = Fraction(fps).limit_denominator(1001)
    args = [
        "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{width}x{height}", "-framerate", f"{rate}", "-i", "-",
        *_encoder_args("h264", fps), "-movflags", "+faststart", str(path),
    ]  # fmt: skip
    _run_ffmpeg(args, frames)


def _write_vfr(frames: Iterator[np.ndarray], path: Path, fps: float, codec: Codec, times: list[int]) -> None:
    """Variable frame rate: each frame becomes a lossless PNG listed in an ffconcat script with its own duration.

    Raw video on a pipe carries no timestamps, so the concat demuxer's per-file durations are what give every frame
    its exact time. The concat stream takes its time base from the first file, and a PNG defaults to 1/25 s, which
    would round times to 40 ms (and collide); `option framerate 1000` makes it 1 ms, as is the MP4 track timescale.
    """
    if not times or times[0] != 0 or any(b <= a for a, b in pairwise(times)):
        raise ValueError("timestamps_ms must start at 0 (readers count time from the first frame) and increase")
    last_ms = max(1, round(1000 / fps))
    with tempfile.TemporaryDirectory(prefix="vfr-") as tmp:
        lines = ["ffconcat version 1.0"]
        count = 0
        for count, frame in enumerate(frames, start=1):
            if count > len(times):
                raise ValueError(f"more frames than timestamps ({len(times)})")
            name = f"f{count:07d}.png"
            cv2.imwrite(str(Path(tmp, name)), frame, [cv2.IMWRITE_PNG_COMPRESSION, 1])
            nxt = times[count] if count < len(times) else times[count - 1] + last_ms
            lines += [f"file '{name}'", "option framerate 1000", f"duration {(nxt - times[count - 1]) / 1000:.6f}"]
        if count != len(times):
            raise ValueError(f"got {count} frames for {len(times)} timestamps")
        script = Path(tmp, "frames.ffconcat")
        script.write_text("\n".join(lines) + "\n")
        args = [
            "-f", "concat", "-safe", "0", "-i", str(script),
            "-fps_mode", "passthrough", "-enc_time_base", "1:1000", "-video_track_timescale", "1000",
            *_encoder_args(codec, fps), "-movflags", "+faststart", str(path),
        ]  # fmt: skip
        _run_ffmpeg(args)
