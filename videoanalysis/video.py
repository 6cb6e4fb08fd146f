"""Probe a video and iterate its frames by presentation time, with verified seeking and global sampling.

Frames are identified by `t_ms`, OpenCV's CAP_PROP_POS_MSEC after a grab, rounded half up: it survives variable
frame rates and inaccurate seeks, where frame numbers do not. A frame that has no timestamp (OpenCV says 0 ms) is one
frame interval after the one before it (`_Clock`). OpenCV's seek can land on the wrong frame (it converts a
time to a frame number with the average fps and grabs forward from a keyframe; opencv issues 4890, 9053, 20227), so
every seek is checked against the timestamp of the frame it actually lands on.
"""

from __future__ import annotations

import functools
import math
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from typing import Any, Protocol
from urllib.parse import urlsplit

import cv2
import numpy as np

from videoanalysis.container import presented_seconds
from videoanalysis.contracts import VideoInfo

OPEN_TIMEOUT_MS = 30_000
"""OpenCV/FFmpeg open and read timeouts, so an unreachable URL fails instead of hanging."""

SEEK_MARGIN_MS = 500
"""Seek this far before a window start, so at least one frame precedes it (the sampling rule needs its time)."""

TAIL_MS = 2_000
"""Probe decodes this much from the claimed end to check the container's frame count and duration."""

MIN_BYTES_PER_SECOND = 16
"""An encoded second of video takes more than this even for a still image at a low rate: a file that claims more
seconds than its size allows has timestamps that cannot be right (a frame stamped hours after the one before)."""

MAX_FPS = 1_000.0
"""A container fps above this (or <= 0) is a time base, not a frame rate, and is not trusted."""

GAP_MS = 10_000
"""A span without frames at least this long (and GAP_INTERVALS frame intervals) is a gap: no chunk starts inside one,
since a seek there finds no frame before its target and retries further and further back."""

GAP_INTERVALS = 10

MAX_GAPS = 32
"""The longest gaps a probe records; a plan keeps its history small."""


class VideoError(Exception):
    """A video that cannot be analysed, with a message fit for the user and a machine-readable `reason`.

    reason: "missing" | "empty" | "unreadable" | "no_frames" | "too_large" | "untimed". The message names the source
    it was opened from; `about(name)` says the same of the name the user knows (a blob, not the worker's cache path or
    a URL).
    """

    def __init__(self, template: str, reason: str, source: str) -> None:
        super().__init__(template.format(video=display_name(source)))
        self.template = template
        self.reason = reason

    def about(self, name: str) -> str:
        return self.template.format(video=name)


@dataclass(frozen=True)
class Frame:
    """A sampled frame; `owned` says whether it lies in the caller's core [owned_from_ms, owned_to_ms)."""

    t_ms: int
    image: np.ndarray
    owned: bool


@dataclass
class DecodeStats:
    """What one pass cost and covered; summed over chunks, frames_owned is the video's frame count (a check).

    Frames that OpenCV decodes inside its own seek (from the keyframe to the seek target) are not counted;
    their time is in `decode_s`.
    """

    frames_decoded: int = 0  # grabbed by the reader: seek landings and pre-roll included
    frames_owned: int = 0  # decoded frames in the core [owned_from_ms, owned_to_ms), sampled or not
    frames_sampled: int = 0  # yielded frames
    frames_sampled_owned: int = 0  # yielded frames in the core
    seeks: int = 0  # seek attempts; more than one means a landing at or after the target was caught
    from_start: bool = False  # read from the first frame (window at 0, or every seek failed)
    ended_early: bool = False  # the stream stopped before end_ms: a truncated or corrupt file
    decode_s: float = 0.0  # seconds inside the reader (open, seek, grab, retrieve), not in the caller

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Capture(Protocol):
    """The part of cv2.VideoCapture this module uses (a seam for tests that simulate bad seeks)."""

    def grab(self) -> bool: ...
    def retrieve(self) -> tuple[bool, np.ndarray | None]: ...
    def get(self, prop: int) -> float: ...
    def set(self, prop: int, value: float) -> bool: ...
    def isOpened(self) -> bool: ...
    def release(self) -> None: ...


def is_url(source: str) -> bool:
    return "://" in source


def display_name(source: str) -> str:
    """The source without URL query and fragment, so a SAS token never lands in a message or log."""
    if not is_url(source):
        return source
    parts = urlsplit(source)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def covered_seconds(info: VideoInfo) -> float:
    """The seconds of the video that hold frames: its duration less its gaps."""
    return info.duration_s - sum(before - after for after, before in info.gaps) / 1000


def implausible_duration(info: VideoInfo) -> str | None:
    """Why the probed duration cannot be trusted for planning, or None; planning on it would cut hours of chunks
    that find no frames (hundreds of activities on Azure). The gaps the probe found are not planned (`plan_chunks`),
    so only the seconds that hold frames count."""
    seconds = covered_seconds(info)
    if not info.size_bytes or seconds * MIN_BYTES_PER_SECOND <= info.size_bytes:
        return None
    return (
        f"its timestamps cannot be right: {info.frame_count} frames over {seconds:.0f} s in "
        f"{info.size_bytes} bytes (fewer than {MIN_BYTES_PER_SECOND} bytes per second)"
    )


def sample_slot(t_ms: int, sample_fps: float) -> int:
    """The sampling bucket of a time: a frame is sampled when its bucket differs from its predecessor's."""
    return math.floor(t_ms * sample_fps / 1000)


def open_capture(source: str) -> Capture:
    """Open with the FFmpeg backend and timeouts; raise VideoError for anything that is not an openable video."""
    if not is_url(source):
        if not os.path.isfile(source):
            raise VideoError("Video file not found (or not a file): {video}", "missing", source)
        if os.path.getsize(source) == 0:
            raise VideoError("Video file is empty (0 bytes): {video}", "empty", source)
    params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, OPEN_TIMEOUT_MS, cv2.CAP_PROP_READ_TIMEOUT_MSEC, OPEN_TIMEOUT_MS]
    params += [cv2.CAP_PROP_N_THREADS, cv2.getNumThreads()]  # a worker limited to n threads decodes with n
    cap = cv2.VideoCapture(source, cv2.CAP_FFMPEG, params)
    if not cap.isOpened():
        raise VideoError(
            "Cannot read {video} as a video: it is not a video file, is in an unsupported format, "
            "has no video frames, or is incomplete (e.g. a partial upload)",
            "unreadable",
            source,
        )
    return cap


def _no_frames(source: str) -> VideoError:
    return VideoError("{video} contains no decodable video frames", "no_frames", source)


def _pos_ms(cap: Capture) -> float:
    return cap.get(cv2.CAP_PROP_POS_MSEC)


class _Clock:
    """The time of each frame grabbed in turn: OpenCV's, except for a frame without a timestamp, which OpenCV reports
    at 0 ms. A raw H.264 stream (Annex B, no container) has none at all, and in an AVI with B-frames the last frame
    comes out of the decoder without one: such a frame, after the first, is one interval of the stream's frame rate
    after its predecessor. `prev` is the time of the frame before the next one grabbed (None: that one is the first).
    """

    def __init__(self, cap: Capture, prev: float | None) -> None:
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.frame_ms = 1000 / fps if 0 < fps <= MAX_FPS else 0.0
        self.prev = prev
        self.untimed = 0  # frames it gave a time

    def __call__(self, cap: Capture) -> float:
        pos = _pos_ms(cap)
        if pos == 0 and self.prev is not None:
            pos = self.prev + self.frame_ms
            self.untimed += 1
        self.prev = pos
        return pos


def to_t_ms(pos_ms: float) -> int:
    """A frame's t_ms: its time rounded half up. The epsilon absorbs float noise, so a frame at exactly 500.5 ms
    (frame 15 at 29.97 fps) is 501 whether OpenCV computes 500.4999999 or 500.5000001."""
    return math.floor(pos_ms + 0.5 + 1e-6)


def probe(source: str, max_pixels: int = 0) -> VideoInfo:
    """Video facts, with frame count and duration checked by decoding (see `_probe`); a frame larger than
    `max_pixels` (0: no limit) is refused before one is decoded, since one such frame can take gigabytes.

    A local file is probed once per process while its size and modification time stay the same: the local runner
    sizes its chunks by the duration and then plans them, and each probe decodes the video's last seconds.
    """
    if is_url(source):
        return _probe(source, max_pixels)
    try:
        stat = os.stat(source)
    except OSError:
        return _probe(source, max_pixels)  # which says what is wrong, as for any unreadable source
    return _probe_file(os.path.realpath(source), stat.st_size, stat.st_mtime_ns, max_pixels)


@functools.lru_cache(maxsize=16)
def _probe_file(path: str, size: int, mtime_ns: int, max_pixels: int) -> VideoInfo:
    return _probe(path, max_pixels)


def _probe(source: str, max_pixels: int = 0) -> VideoInfo:
    """Video facts, with frame count and duration checked by decoding.

    Rule: decode the last TAIL_MS of the claimed length (a verified seek); an MP4's claim is what its edit list
    presents (`container.presented_seconds`). The container's frame count is kept when
    the tail is constant-rate at the container fps and the last frame sits where that count puts it; otherwise
    (VFR, a missing or estimated count, a truncated file, a raw stream) every frame is counted with grab(), which
    decodes but skips colour conversion, and the spans without frames (`GAP_MS`) are the video's gaps. Duration = last
    frame time + one frame interval (the usual one where the last frame follows a gap). A stream whose frames carry no
    timestamps is `untimed` (`_Clock`).
    """
    cap = open_capture(source)
    try:
        fps = cap.get(cv2.CAP_PROP_FPS)
        claimed = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        width, height = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fourcc = int(cap.get(cv2.CAP_PROP_FOURCC))
        codec = "".join(chr((fourcc >> (8 * i)) & 0xFF) for i in range(4)).strip("\x00 ")
        if max_pixels and width * height > max_pixels:
            raise VideoError(
                f"{{video}} has {width}x{height} frames ({width * height / 1e6:.0f} MP), over the MAX_PIXELS limit of "
                f"{max_pixels / 1e6:g} MP",
                "too_large",
                source,
            )
        if not cap.grab():
            raise _no_frames(source)
    finally:
        cap.release()
    fps_ok = 0 < fps <= MAX_FPS
    if fps_ok and claimed > 0 and not is_url(source):
        claimed = _presented_count(source, claimed, fps)
    claimed_last_ms = (claimed - 1) * 1000 / fps if fps_ok and claimed > 0 else 0.0
    times, from_start, untimed = _decode_times(source, claimed_last_ms - TAIL_MS, seeks=1)
    frame_ms = 1000 / fps if fps_ok else 0.0
    steps = np.diff(times)
    cfr_tail = fps_ok and bool(np.all(np.abs(steps - frame_ms) <= max(1.0, 0.01 * frame_ms)))
    gaps: tuple[tuple[int, int], ...] = ()
    if cfr_tail and claimed > 0 and abs(times[-1] - claimed_last_ms) <= frame_ms / 2:
        frame_count = claimed
    else:
        if not from_start:
            times, _, untimed = _decode_times(source, 0.0)
        times = sorted(times)  # a frame stamped out of order (hours late, say) counts where its time puts it
        frame_count = len(times)
        steps = np.diff(times)
        gaps = _gaps(times, steps)
    if len(times) > 1 and times[-1] <= times[0]:
        raise VideoError(
            "{video} cannot be analysed: its frames carry no timestamps and its stream states no frame rate",
            "untimed",
            source,
        )
    last_step = float(steps[-1]) if len(steps) else frame_ms
    if gaps and to_t_ms(times[-1]) == gaps[-1][1]:
        last_step = float(np.median(steps))
    duration_s = (times[-1] + (frame_ms if cfr_tail else last_step)) / 1000
    size = None if is_url(source) else os.path.getsize(source)
    claimed_count = claimed if claimed > 0 and claimed != frame_count else None
    info = VideoInfo(fps, frame_count, duration_s, width, height, codec, size, claimed_count, untimed, gaps)
    if not fps_ok or gaps:  # a container's average rate counts the gaps' seconds
        covered = covered_seconds(info)
        info = replace(info, fps=frame_count / covered if covered > 0 else 0.0)
    return info


def _presented_count(path: str, claimed: int, fps: float) -> int:
    """The frames the file presents, where its edit list hides one or more of the `claimed` (a trim)."""
    shown = presented_seconds(path)
    frames = claimed if shown is None else shown * fps + 1e-3
    return math.floor(frames) if frames <= claimed - 1 else claimed


def _gaps(times: list[float], steps: np.ndarray) -> tuple[tuple[int, int], ...]:
    """The longest MAX_GAPS spans without frames of at least GAP_MS and GAP_INTERVALS usual frame intervals, in time
    order, each as [after_ms, before_ms): from one usual interval after the frame before it to the frame after it."""
    if not len(steps):
        return ()
    usual = float(np.median(steps))
    found = np.flatnonzero(steps >= max(GAP_MS, GAP_INTERVALS * usual))
    longest = sorted(found[np.argsort(-steps[found], kind="stable")][:MAX_GAPS])
    return tuple((to_t_ms(times[i] + usual), to_t_ms(times[i + 1])) for i in longest)


def _decode_times(source: str, from_ms: float, seeks: int = 0) -> tuple[list[float], bool, bool]:
    """Timestamps of all frames from a verified position before `from_ms` to the end; whether from the start; and
    whether the frames carry no timestamps (all but the first were given one). `seeks`: see `_position`."""
    stats = DecodeStats()
    cap, landed = _position(source, round(from_ms), stats, seeks)
    try:
        times = [] if landed is None else [landed]
        clock = _Clock(cap, landed)
        while cap.grab():
            times.append(clock(cap))
    finally:
        cap.release()
    if not times:
        raise _no_frames(source)
    return times, stats.from_start, stats.from_start and len(times) > 1 and clock.untimed == len(times) - 1


def _position(source: str, start_ms: int, stats: DecodeStats, seeks: int = 0) -> tuple[Capture, float | None]:
    """Open `source` positioned on a frame strictly before `start_ms`; return it and that frame's time.

    A seek is trusted only if the frame it lands on is before the target; a landing at or after it (or on nothing)
    retries from twice as far back, and in the end reads from the start, where the landed time is None: the next
    grabbed frame is the first frame of the video. A landing at 0 ms reads from the start at once: it is the first
    frame, or one without a timestamp (in a raw stream every seek lands so).

    OpenCV seeks to a frame number, the time times the container's average frame rate, and lands on the first frame at
    or after that number's time. Where the video has gaps that rate is low (the gaps count), so the first try goes
    back two of its frame intervals at least, and a frame after a gap is found at once. With `seeks` (0: no limit)
    it reads from the start after that many: the probe, which decodes from the start anyway when its tail does not
    land, spends no more tries on a claimed end that lies in a gap or past a truncated file's data.
    """
    t0 = time.perf_counter()
    cap = open_capture(source)
    fps = cap.get(cv2.CAP_PROP_FPS)
    back = max(SEEK_MARGIN_MS, math.ceil(2000 / fps) if 0 < fps <= MAX_FPS else 0)
    try:
        while start_ms - back > 0 and not (seeks and stats.seeks >= seeks):
            stats.seeks += 1
            cap.set(cv2.CAP_PROP_POS_MSEC, start_ms - back)
            if cap.grab():
                stats.frames_decoded += 1
                landed = _pos_ms(cap)
                if landed == 0:
                    break
                if to_t_ms(landed) < start_ms:  # a frame at 999.6 ms has t_ms 1000: it belongs to a window at 1000
                    return cap, landed
            back *= 2
        cap.release()
        stats.from_start = True
        return open_capture(source), None
    finally:
        stats.decode_s += time.perf_counter() - t0


class FrameReader:
    """Sampled frames of the window [start_ms, end_ms) of a video, with decode stats of the last pass.

    Sampling is global: with sample_fps > 0 a frame is sampled iff sample_slot(t) differs from its predecessor's
    (or it is the first frame of the video); with 0 every frame is. Because the predecessor is always decoded (the
    seek lands before the window), any split into windows yields exactly the frames of one sequential pass.
    Frames outside the samples are only grabbed (decoded, no colour conversion). A stream that stops early (a
    truncated file, or corrupt data OpenCV gives up on) ends the pass with stats.ended_early set when end_ms is given;
    one with no frame at all raises VideoError.
    """

    def __init__(
        self,
        source: str,
        start_ms: int = 0,
        end_ms: int | None = None,
        sample_fps: float = 0.0,
        owned_from_ms: int | None = None,
        owned_to_ms: int | None = None,
    ) -> None:
        if start_ms < 0 or (end_ms is not None and end_ms < start_ms):
            raise ValueError(f"bad window [{start_ms}, {end_ms})")
        if not sample_fps >= 0:
            raise ValueError(f"sample_fps must be >= 0, got {sample_fps}")
        self.source = source
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.sample_fps = sample_fps
        self.owned_from_ms = start_ms if owned_from_ms is None else owned_from_ms
        self.owned_to_ms = owned_to_ms
        self.stats = DecodeStats()

    def __iter__(self) -> Iterator[Frame]:
        self.stats = stats = DecodeStats()
        cap, prev = _position(self.source, self.start_ms, stats)
        prev_ms = None if prev is None else to_t_ms(prev)
        clock = _Clock(cap, prev)
        busy_since = time.perf_counter()
        try:
            while cap.grab():
                t_ms = to_t_ms(clock(cap))
                stats.frames_decoded += 1
                sampled = self._sampled(t_ms, prev_ms)
                prev_ms = t_ms
                if t_ms < self.start_ms:
                    continue
                if self.end_ms is not None and t_ms >= self.end_ms:
                    break
                owned = t_ms >= self.owned_from_ms and (self.owned_to_ms is None or t_ms < self.owned_to_ms)
                stats.frames_owned += owned
                if not sampled:
                    continue
                image = cap.retrieve()[1]
                if image is None:
                    break  # grabbed but no picture: corrupt data, treated like the end of the stream
                stats.frames_sampled += 1
                stats.frames_sampled_owned += owned
                stats.decode_s += time.perf_counter() - busy_since
                try:
                    yield Frame(t_ms, image, owned)
                finally:
                    busy_since = time.perf_counter()
            else:
                stats.ended_early = self.end_ms is not None
            if stats.frames_decoded == 0:
                raise _no_frames(self.source)
        finally:
            cap.release()
            stats.decode_s += time.perf_counter() - busy_since

    def _sampled(self, t_ms: int, prev_ms: int | None) -> bool:
        if self.sample_fps == 0 or prev_ms is None:
            return True
        return sample_slot(t_ms, self.sample_fps) != sample_slot(prev_ms, self.sample_fps)
