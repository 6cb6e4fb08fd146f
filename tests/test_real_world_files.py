"""Files as cameras, recorders and editing tools write them, made from numbered clips by the FFmpeg binary the project
ships (imageio-ffmpeg): each is probed, planned and read in chunks, and every frame read is identified by its pixels.

- a raw H.264 elementary stream (Annex B, no container, no timestamps), as `.h264` and renamed `.mp4`;
- MPEG-4 Part 2 in AVI with B-frames, whose last frame OpenCV reports at 0 ms;
- a stream-copied trim (`-ss ... -c copy`), an MP4 whose edit list hides the frames before the cut;
- a normal file whose last frame is stamped hours after the others;
- a file whose decoder gives up part way, though its index promises every frame.
"""

from __future__ import annotations

import math
import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from tests.conftest import DEMO_ONNX
from tests.support.clips import FPS, frame_index, write_numbered
from videoanalysis.analysis import analyze_window
from videoanalysis.chunking import plan_chunks
from videoanalysis.settings import Settings
from videoanalysis.summary import build_summary, video_warnings
from videoanalysis.summary_records import SummaryVideo
from videoanalysis.tracking.video_pass import VideoTracks
from videoanalysis.video import FrameReader, implausible_duration, probe

N = 100  # 4 s at 25 fps
FRAME_MS = round(1000 / FPS)


def ffmpeg(*args: str) -> None:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *args]
    subprocess.run(cmd, check=True, timeout=60)


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """H.264 with B-frames and 4 s GOPs, N numbered frames at 25 fps."""
    return write_numbered(tmp_path_factory.mktemp("real") / "source.mp4", "h264", N)


def read_all(path: Path, chunks_s: float, sample_fps: float = 0.0) -> list[tuple[int, int]]:
    """(t_ms, index shown) of every core frame the chunks of `chunks_s` seconds read, in order."""
    info = probe(str(path))
    seen = []
    for chunk in plan_chunks(info, chunks_s, sample_fps=sample_fps):
        reader = FrameReader(str(path), chunk.window_start_ms, chunk.end_ms, sample_fps, chunk.start_ms, chunk.end_ms)
        seen += [(frame.t_ms, frame_index(frame.image)) for frame in reader if frame.owned]
    return seen


@pytest.mark.timeout(60)
@pytest.mark.parametrize("suffix", [".h264", ".mp4"])
def test_a_raw_h264_stream_is_read_at_its_frame_rate(source: Path, tmp_path: Path, suffix: str) -> None:
    """No container, so no timestamps (OpenCV reports 0 ms for every frame): frame i is at i / fps."""
    raw = tmp_path / f"camera{suffix}"
    ffmpeg("-i", str(source), "-c", "copy", "-bsf:v", "h264_mp4toannexb", "-f", "h264", str(raw))

    info = probe(str(raw))

    assert (info.fps, info.frame_count, info.duration_s) == (FPS, N, N / FPS)
    assert read_all(raw, 1.5) == [(i * FRAME_MS, i) for i in range(N)]
    assert read_all(raw, 1.5, sample_fps=5.0) == [(i * FRAME_MS, i) for i in range(0, N, 5)]


@pytest.mark.timeout(60)
def test_an_avi_with_b_frames_is_probed_and_read_whole(source: Path, tmp_path: Path) -> None:
    """MPEG-4 Part 2 with B-frames in AVI: OpenCV reports the last frame at 0 ms, which made the duration negative.
    FFmpeg presents frame i at (i + 1) / fps (AVI stores no presentation times; the B-frames delay them by one)."""
    avi = tmp_path / "bframes.avi"
    ffmpeg("-i", str(source), "-c:v", "mpeg4", "-bf", "2", "-q:v", "4", str(avi))

    info = probe(str(avi))

    assert (info.fps, info.frame_count, info.duration_s) == (FPS, N, (N + 1) / FPS)
    assert read_all(avi, 1.5) == [((i + 1) * FRAME_MS, i) for i in range(N)]


LATE = [i * FRAME_MS for i in range(N - 1)] + [36_000_000]  # the last frame stamped 10 hours in
MIDDLE = [i * FRAME_MS for i in range(N // 2)] + [3_600_000 + i * FRAME_MS for i in range(N // 2, N)]  # an hour off


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("times", "gap", "starts"),
    [
        (LATE, ((N - 1) * FRAME_MS, 36_000_000), [0, 1000, 2000, 3000]),
        (MIDDLE, (N // 2 * FRAME_MS, 3_602_000), [0, 1000, 2000, 3_603_000]),  # 2000 ms: the gap's start
    ],
)
def test_a_gap_of_hours_is_neither_planned_nor_decoded(
    tmp_path: Path, times: list[int], gap: tuple[int, int], starts: list[int]
) -> None:
    """4 s of frames spread over hours: the probe finds the gap, the plan cuts chunks over the 4 s that hold frames
    (none starts inside the gap), and each chunk decodes each frame at most once. OpenCV seeks to a frame number at
    the container's average rate, one frame per 36 s here, so a window after the gap takes a few seeks doubling back
    to reach a frame before it."""

    path = write_numbered(tmp_path / "late.mp4", "h264", N, times)

    info = probe(str(path))

    assert info.gaps == (gap,) and info.frame_count == N and info.fps == FPS
    assert implausible_duration(info) is None
    chunks = plan_chunks(info, 1.0, sample_fps=5.0)
    assert [chunk.start_ms for chunk in chunks] == starts
    seen = []
    for chunk in chunks:
        reader = FrameReader(str(path), chunk.window_start_ms, chunk.end_ms, 5.0, chunk.start_ms, chunk.end_ms)
        seen += [(frame.t_ms, frame_index(frame.image)) for frame in reader if frame.owned]
        assert reader.stats.seeks <= 6 and reader.stats.frames_decoded <= N and not reader.stats.ended_early
    assert seen == [(times[i], i) for i in range(N) if i % 5 == 0 or times[i] - times[i - 1] > 1000]


@pytest.mark.timeout(120)
def test_a_video_whose_decoder_gives_up_early_is_not_a_success(tmp_path: Path) -> None:
    """Noise a third into an H.264 file whose index is whole: the probe finds its 300 frames where the container puts
    them, but the decoder gives up at the damage. The chunk analysed what it read, and the summary says partial, why,
    and how many frames are missing."""
    data = bytearray(write_numbered(tmp_path / "whole.mp4", "h264", 300).read_bytes())
    noise = np.random.default_rng(0).integers(0, 256, 3000, dtype=np.uint8).tobytes()
    data[len(data) // 3 : len(data) // 3 + len(noise)] = noise
    path = tmp_path / "damaged.mp4"
    path.write_bytes(data)
    info = probe(str(path))
    settings = Settings(model_path=str(DEMO_ONNX), sample_fps=5.0)
    results = [analyze_window(str(path), info, chunk, settings).result for chunk in plan_chunks(info, 10.0, 1, 5.0)]

    summary = build_summary(SummaryVideo(path.name, info), {"sample_fps": 5.0}, results, VideoTracks(), wall_s=None)

    read = sum(result.frames_owned or 0 for result in results)
    assert info.frame_count == 300 and 0 < read < 300
    assert summary.status == "partial"
    (warning,) = summary.warnings
    assert warning.startswith(f"only {read} of the 300 frames the video holds were read ({300 - read} missing: ")


@pytest.mark.timeout(60)
@pytest.mark.parametrize("cut_s", ["1.3", "2"])
def test_a_stream_copied_trim_is_whole_and_a_cut_file_is_not(source: Path, tmp_path: Path, cut_s: str) -> None:
    """`-ss` with `-c copy` keeps the samples from the keyframe before the cut (frame 0 here) and hides those before
    the cut with an edit list: the file presents the frames from the cut on, and nothing is missing. The same file
    cut short still says it ended early."""
    trim = tmp_path / "trim.mp4"
    ffmpeg("-ss", cut_s, "-i", str(source), "-c", "copy", "-movflags", "+faststart", str(trim))
    first = math.ceil(float(cut_s) * FPS)  # the first frame at or after the cut

    info = probe(str(trim))

    assert (info.frame_count, info.claimed_frame_count) == (N - first, None)
    assert video_warnings(info.to_dict()) == []
    assert read_all(trim, 1.0) == [(i * FRAME_MS, first + i) for i in range(N - first)]
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(trim.read_bytes()[: trim.stat().st_size * 4 // 5])
    (warning,) = video_warnings(probe(str(cut)).to_dict())
    assert "the video ended early" in warning


@pytest.mark.timeout(60)
def test_a_packet_stamped_hours_late_out_of_order_is_a_gap_not_a_negative_duration(
    source: Path, tmp_path: Path
) -> None:
    """The last packet in decode order, stamped at 10 hours: with B-frames it is not the last frame shown, so the
    times go back after it (which made the duration negative). It counts where its time puts it."""
    late = tmp_path / "late.mp4"
    last = f"eq(N\\,{N - 1})"
    setts = f"setts=pts=if({last}\\,36000/TB\\,PTS):dts=if({last}\\,36000/TB-1\\,DTS)"
    ffmpeg("-i", str(source), "-c", "copy", "-bsf:v", setts, str(late))

    info = probe(str(late))

    assert (info.frame_count, info.duration_s, info.gaps) == (N, 36_000 + 1 / FPS, ((N * FRAME_MS, 36_000_000),))
    chunks = plan_chunks(info, 1.0, sample_fps=0.0)
    seen = []
    for chunk in chunks:
        reader = FrameReader(str(late), chunk.window_start_ms, chunk.end_ms, 0.0, chunk.start_ms, chunk.end_ms)
        seen += [frame_index(frame.image) for frame in reader if frame.owned]
    assert sorted(seen) == list(range(N))
