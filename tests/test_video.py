"""probe, FrameReader and write_video against numbered clips: every frame is identified by its pixels."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import cv2
import imageio_ffmpeg
import numpy as np
import pytest

from scenes.writer import write_video
from tests.support.clips import (
    FPS,
    HEIGHT,
    WIDTH,
    frame_index,
    numbered_frame,
    vfr_timestamps,
    write_empty,
    write_header_only,
    write_numbered,
    write_text,
    write_truncated,
)
from videoanalysis import video
from videoanalysis.chunking import plan_chunks
from videoanalysis.video import DecodeStats, FrameReader, VideoError, VideoInfo, display_name, probe

N = 300  # 12 s at 25 fps
N_VFR = 200  # about 14.6 s
N_NTSC = 150  # 5 s at 29.97 fps: frame times are not whole milliseconds
NTSC_FPS = 30000 / 1001
CLIP_NAMES = ["mp4v", "h264", "vfr", "ntsc"]

Seen = list[tuple[int, int, bool]]  # (t_ms, index shown in the pixels, owned)


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, list[int]]]:
    """Each clip with the t_ms of every frame: mp4v, H.264 (B-frames, 4 s GOPs), VFR H.264, 29.97 fps H.264."""
    folder = tmp_path_factory.mktemp("clips")
    cfr = [round(i * 1000 / FPS) for i in range(N)]
    vfr = vfr_timestamps(N_VFR)
    ntsc = [(2002 * i + 30) // 60 for i in range(N_NTSC)]  # i * 1001 / 30 ms, rounded half up
    return {
        "mp4v": (str(write_numbered(folder / "mp4v.mp4", "mp4v", N)), cfr),
        "h264": (str(write_numbered(folder / "h264.mp4", "h264", N)), cfr),
        "vfr": (str(write_numbered(folder / "vfr.mp4", "h264", N_VFR, vfr)), vfr),
        "ntsc": (str(write_numbered(folder / "ntsc.mp4", "h264", N_NTSC, fps=NTSC_FPS)), ntsc),
    }


@pytest.fixture(scope="module")
def sequential(clips: dict[str, tuple[str, list[int]]]) -> dict[tuple[str, float], Seen]:
    """One sequential pass per clip and sample rate: the reference every chunked pass must reproduce."""
    return {(name, fps): read(path, sample_fps=fps)[0] for name, (path, _) in clips.items() for fps in (0.0, 5.0)}


def read(
    source: str, start_ms: int = 0, end_ms: int | None = None, sample_fps: float = 0.0, owned_from: int | None = None
) -> tuple[Seen, DecodeStats]:
    reader = FrameReader(source, start_ms, end_ms, sample_fps, owned_from)
    seen = [(f.t_ms, frame_index(f.image), f.owned) for f in reader]
    return seen, reader.stats


def expected_samples(times: list[int], sample_fps: float) -> list[int]:
    """The contract's sampling rule, written out independently of the library."""
    slots = [math.floor(t * sample_fps / 1000) for t in times]
    return [t for i, t in enumerate(times) if i == 0 or slots[i] != slots[i - 1]]


def frame_types(path: str) -> dict[str, int]:
    """How many I, P and B pictures ffmpeg decodes from a file."""
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", path, "-vf", "showinfo", "-f", "null"]
    log = subprocess.run([*cmd, "-"], capture_output=True, text=True, check=True).stderr
    return {kind: log.count(f"type:{kind}") for kind in "IPB"}


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_sequential_pass_sees_every_frame_at_its_time(clips: dict, sequential: dict, name: str) -> None:
    _, times = clips[name]
    assert sequential[(name, 0.0)] == [(t, i, True) for i, t in enumerate(times)]


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_sampling_follows_the_global_rule(clips: dict, sequential: dict, name: str) -> None:
    _, times = clips[name]
    assert [t for t, _, _ in sequential[(name, 5.0)]] == expected_samples(times, 5.0)
    if name in ("mp4v", "h264"):
        assert [i for _, i, _ in sequential[(name, 5.0)]] == list(range(0, N, 5))


@pytest.mark.parametrize("sample_fps", [0.0, 5.0])
@pytest.mark.parametrize("chunk_s", [1.0, 2.5, 3.7])
@pytest.mark.parametrize("name", CLIP_NAMES)
def test_chunked_pass_equals_sequential(
    clips: dict, sequential: dict, name: str, chunk_s: float, sample_fps: float
) -> None:
    """Owned frames of all chunks = one sequential pass, none lost or doubled; the frames before a core match it too."""
    path, times = clips[name]
    reference = sequential[(name, sample_fps)]
    owned: Seen = []
    frames_owned = 0
    for chunk in plan_chunks(probe(path), chunk_s, sample_fps=sample_fps):
        seen, stats = read(path, chunk.window_start_ms, chunk.end_ms, sample_fps, chunk.start_ms)
        head = [(t, i, True) for t, i, o in seen if not o]
        assert head == [f for f in reference if chunk.window_start_ms <= f[0] < chunk.start_ms]
        owned += [f for f in seen if f[2]]
        frames_owned += stats.frames_owned
    assert owned == reference
    assert frames_owned == len(times)


@pytest.mark.parametrize("name", CLIP_NAMES)
def test_odd_window_boundaries_equal_sequential(clips: dict, sequential: dict, name: str) -> None:
    """Boundaries on, between and just around frame times, including empty windows."""
    path, _ = clips[name]
    cuts = [0, 1, 39, 40, 41, 1013, 4999, 5000, 5000, 7777, 9001]
    owned: Seen = []
    for start, end in zip(cuts, [*cuts[1:], None], strict=True):
        owned += read(path, start, end, 5.0)[0]
    assert owned == sequential[(name, 5.0)]


@pytest.mark.parametrize("target_ms", range(40, 11_800, 333))
def test_seek_lands_on_the_right_frame_in_long_gop_h264(clips: dict, target_ms: int) -> None:
    """4 s GOPs and B-frames: the first frame of a window is the right one by its pixels, and no decode from 0."""
    path, _ = clips["h264"]
    seen, stats = read(path, target_ms, target_ms + 200)
    first = math.ceil(target_ms / 40)
    assert seen == [(i * 40, i, True) for i in range(first, math.ceil((target_ms + 200) / 40))]
    assert stats.seeks == int(target_ms > video.SEEK_MARGIN_MS)
    assert stats.frames_decoded <= 25  # margin (12.5 frames) + window (5) + the frame that ends it


def test_vfr_seek_overshoot_is_caught_and_corrected(clips: dict) -> None:
    """OpenCV maps a time to a frame number with the average fps, so on VFR it lands after the target: retried."""
    path, times = clips["vfr"]
    retried = 0
    for start in range(1000, times[-1], 700):
        seen, stats = read(path, start, start + 700)
        assert [t for t, _, _ in seen] == [t for t in times if start <= t < start + 700]
        assert [i for _, i, _ in seen] == [times.index(t) for t, _, _ in seen]
        retried += stats.seeks > 1
    assert retried > 0


class _SeekShifted:
    """A capture whose seeks land `shift_ms` later than asked (or on nothing), like the OpenCV issues describe."""

    def __init__(self, cap: Any, shift_ms: float) -> None:
        self.cap = cap
        self.shift_ms = shift_ms

    def set(self, prop: int, value: float) -> bool:
        assert prop == cv2.CAP_PROP_POS_MSEC
        return self.cap.set(prop, value + self.shift_ms)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cap, name)


@pytest.mark.parametrize(("shift_ms", "seeks", "from_start"), [(460.0, 1, False), (3000.0, 4, False), (60e3, 4, True)])
def test_late_or_lost_seeks_fall_back_until_right(
    clips: dict, sequential: dict, monkeypatch: pytest.MonkeyPatch, shift_ms: float, seeks: int, from_start: bool
) -> None:
    """Window at 6040 ms, whose predecessor (6000 ms) is in the same 5 fps slot, so 6040 must not be sampled.

    +460 ms: lands on exactly that predecessor; +3 s: retried from 1, 2, 4 s back until it lands before the window;
    +60 s: past the end every time, read from 0.
    """
    path, _ = clips["h264"]
    real_open = video.open_capture
    monkeypatch.setattr(video, "open_capture", lambda source: _SeekShifted(real_open(source), shift_ms))
    seen, stats = read(path, 6040, 8000, 5.0)
    assert seen == [f for f in sequential[("h264", 5.0)] if 6040 <= f[0] < 8000]
    assert seen[0][0] == 6200
    assert (stats.seeks, stats.from_start) == (seeks, from_start)


def test_landing_on_a_frame_that_rounds_into_the_window(
    clips: dict, sequential: dict, monkeypatch: pytest.MonkeyPatch
) -> None:
    """29.97 fps: frame 32 is at 1067.73 ms, t_ms 1068. A seek landing on it for a window at 1068 is not 'before'."""
    path, times = clips["ntsc"]
    real_open = video.open_capture
    monkeypatch.setattr(video, "open_capture", lambda source: _SeekShifted(real_open(source), video.SEEK_MARGIN_MS))
    for start in times[20:50]:
        seen, _ = read(path, start, start + 100)
        assert seen == [f for f in sequential[("ntsc", 0.0)] if start <= f[0] < start + 100]


@pytest.mark.parametrize(
    ("name", "fps", "frame_count", "duration_s", "codecs"),
    [
        ("mp4v", 25.0, N, 12.0, {"FMP4", "mp4v"}),
        ("h264", 25.0, N, 12.0, {"h264", "avc1"}),
        ("vfr", None, N_VFR, None, {"h264", "avc1"}),
        ("ntsc", NTSC_FPS, N_NTSC, 5.005, {"h264", "avc1"}),
    ],
)
def test_probe_facts(
    clips: dict, name: str, fps: float | None, frame_count: int, duration_s: float | None, codecs: set[str]
) -> None:
    path, times = clips[name]
    info = probe(path)
    assert (info.width, info.height, info.frame_count) == (WIDTH, HEIGHT, frame_count)
    assert info.codec in codecs
    assert info.size_bytes == Path(path).stat().st_size
    if name == "vfr":
        assert info.duration_s == pytest.approx((2 * times[-1] - times[-2]) / 1000)  # last gap as last duration
        assert info.fps == pytest.approx(N_VFR / info.duration_s, rel=0.05)
    else:
        assert (info.fps, info.duration_s) == pytest.approx((fps, duration_s))
    assert VideoInfo.from_dict(json.loads(json.dumps(info.to_dict()))) == info


def test_probe_short_clip(tmp_path: Path) -> None:
    """Shorter than the tail probe decodes: counted from the start."""
    info = probe(str(write_numbered(tmp_path / "short.mp4", "h264", 7)))
    assert (info.frame_count, info.duration_s) == (7, 0.28)


def test_probe_of_a_changed_file_is_not_reused(tmp_path: Path) -> None:
    """Probes of an unchanged local file are reused within a process; a rewritten file is probed again."""
    path = tmp_path / "clip.mp4"
    first = probe(str(write_numbered(path, "h264", 7)))
    assert probe(str(tmp_path / "." / "clip.mp4")) is first
    write_numbered(path, "h264", 12)
    assert probe(str(path)).frame_count == 12


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory, clips: dict) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("broken")
    return {
        "missing": str(folder / "nope.mp4"),
        "folder": str(folder),
        "empty": str(write_empty(folder / "empty.mp4")),
        "text": str(write_text(folder / "text.mp4")),
        "truncated_mp4v": str(write_truncated(Path(clips["mp4v"][0]), folder / "cut-mp4v.mp4")),
        "header_only": str(write_header_only(Path(clips["h264"][0]), folder / "header.mp4")),
    }


@pytest.mark.timeout(30)
@pytest.mark.parametrize(
    ("kind", "reason", "words"),
    [
        ("missing", "missing", "not found"),
        ("folder", "missing", "not found"),
        ("empty", "empty", "empty"),
        ("text", "unreadable", "not a video"),
        ("truncated_mp4v", "unreadable", "incomplete"),  # its index (moov) was at the end, now cut off
        ("header_only", "no_frames", "no decodable video frames"),
    ],
)
def test_bad_inputs_raise_video_error(broken: dict, kind: str, reason: str, words: str) -> None:
    path = broken[kind]
    for attempt in (lambda: probe(path), lambda: list(FrameReader(path, 0, None, 5.0))):
        with pytest.raises(VideoError, match=words) as caught:
            attempt()
        assert caught.value.reason == reason
        assert path in str(caught.value)


@pytest.mark.timeout(30)
def test_truncated_h264_ends_cleanly(clips: dict, tmp_path: Path) -> None:
    """Fast-start MP4 cut in half: the header promises 300 frames; probe and passes see the decodable ones only."""
    path = str(write_truncated(Path(clips["h264"][0]), tmp_path / "cut.mp4"))
    info = probe(path)
    assert 0 < info.frame_count < N
    assert info.duration_s == pytest.approx(info.frame_count / FPS)
    seen, _ = read(path)
    assert seen == [(i * 40, i, True) for i in range(info.frame_count)]
    assert read(path, 10_000, None)[0] == []
    assert read(path, 0, 10_000)[1].ended_early


@pytest.mark.timeout(30)
def test_corrupt_middle_ends_the_pass_and_later_windows_still_read(clips: dict, tmp_path: Path) -> None:
    """3 KB of noise a third into the file: OpenCV stops there (no hang); a window after it seeks past the damage."""
    data = bytearray(Path(clips["h264"][0]).read_bytes())
    noise = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    data[len(data) // 3 : len(data) // 3 + len(noise)] = noise
    path = tmp_path / "corrupt.mp4"
    path.write_bytes(data)
    seen, stats = read(str(path), 0, 10_000)
    assert stats.ended_early
    assert 0 < len(seen) < 250
    assert [t for t, _, _ in seen] == sorted({t for t, _, _ in seen})
    assert read(str(path), 10_000, 11_000)[0] == [(i * 40, i, True) for i in range(250, 275)]


@pytest.mark.timeout(30)
def test_url_errors_never_show_the_sas_token() -> None:
    url = "http://127.0.0.1:9/container/video.mp4?sv=2024&sig=SECRET"
    assert display_name(url) == "http://127.0.0.1:9/container/video.mp4"
    with pytest.raises(VideoError) as caught:
        probe(url)
    assert "SECRET" not in str(caught.value)
    assert caught.value.reason == "unreadable"


@pytest.mark.parametrize(("start", "end", "fps"), [(-1, None, 0.0), (500, 100, 0.0), (0, None, -1.0)])
def test_reader_rejects_bad_windows(start: int, end: int | None, fps: float) -> None:
    with pytest.raises(ValueError):
        FrameReader("any.mp4", start, end, fps)


def test_stats_are_plain_data(clips: dict) -> None:
    path, _ = clips["h264"]
    seen, stats = read(path, 4000, 6000, 5.0, owned_from=5000)
    assert (stats.frames_owned, stats.frames_sampled, stats.frames_sampled_owned) == (25, len(seen), 5)
    assert stats.frames_decoded > 50
    assert not stats.ended_early
    assert json.loads(json.dumps(stats.to_dict())) == stats.to_dict()


def test_h264_writer_makes_long_gops_with_b_frames(clips: dict) -> None:
    types = frame_types(clips["h264"][0])
    assert types["I"] == math.ceil(N / (4 * FPS))
    assert types["B"] > N // 3


@pytest.mark.parametrize("codec", ["mp4v", "h264"])
def test_writer_vfr_times_are_exact(tmp_path: Path, codec: str) -> None:
    times = [0, 1, 41, 42, 100, 1100, 1133, 1166, 2999]
    path = write_video((numbered_frame(i) for i in range(len(times))), tmp_path / "v.mp4", 30.0, codec, times)
    cap = cv2.VideoCapture(str(path))
    got = []
    while cap.grab():
        got.append((cap.get(cv2.CAP_PROP_POS_MSEC), frame_index(cap.retrieve()[1])))
    cap.release()
    assert got == [(float(t), i) for i, t in enumerate(times)]


@pytest.mark.parametrize(
    ("frames", "codec", "times", "message"),
    [
        ([], "mp4v", None, "no frames"),
        ([np.zeros((241, 320, 3), np.uint8)], "h264", None, "even"),
        ([np.zeros((240, 320), np.uint8)], "mp4v", None, "HxWx3"),
        ([numbered_frame(0)] * 2, "h264", [10, 20], "start at 0"),
        ([numbered_frame(0)] * 2, "h264", [0], "more frames than timestamps"),
        ([numbered_frame(0)] * 2, "mp4v", [0, 40, 80], "2 frames for 3 timestamps"),
    ],
)
def test_writer_rejects_bad_input(tmp_path: Path, frames: list, codec: str, times: list | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        write_video(frames, tmp_path / "x.mp4", 25.0, codec, times)


@pytest.mark.parametrize("threads", [1, 2])
def test_decoder_threads_follow_opencv_threads(clips: dict, threads: int) -> None:
    """A worker limited to n threads (cv2.setNumThreads) decodes with n FFmpeg threads, not one per core."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(threads)
    try:
        cap = video.open_capture(clips["h264"][0])
        assert cap.get(cv2.CAP_PROP_N_THREADS) == threads
        cap.release()
    finally:
        cv2.setNumThreads(before)
