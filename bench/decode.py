"""`python -m bench.decode [--quick]` (also `python -m bench decode`): what decoding costs a chunk (issue 17, item 4).

Everything reads the benchmark scene (bench.common: 60 s 1280x720 H.264 at 25 fps, B-frames, the keyframe interval
measured here) with the app's reader, `videoanalysis.video.FrameReader`, at the app's 5 fps sampling, in this one
process. CPU seconds are getrusage(RUSAGE_SELF) deltas: FFmpeg's decoder threads and OpenCV's conversion threads run
in this process, so their time is in them. Repetitions interleave the variants (the order rotates); medians.

1. **Decoder threads per worker.** One 10 s chunk's window as the app plans and reads it, with OpenCV limited to 1,
   2 and its default number of threads (cv2.setNumThreads, which is what a worker's `configure_threads` does; the
   reader opens the video with CAP_PROP_N_THREADS = cv2.getNumThreads(), so FFmpeg decodes with that many threads).
   The default is what a fresh process gets (one per core): an Azure activity runs with it, the local runner's
   workers with cores / workers.
2. **grab() against read() for unsampled frames.** The same window with the reader (grab() every frame, retrieve()
   the sampled ones) against a bench-only copy of its loop that calls read() on every frame, and one that grabs
   every frame and converts none (the floor under any reader). Same verified seek, same window and sampling rules.
3. **Chunk length.** For chunks of 2.5, 5, 10, 20 and 60 s, the app's plan (`plan_chunks`: each window starts one
   analysed frame before its core) and every chunk's window read as
   analyze_chunk reads it, one after another. Frames decoded per frame owned; decode CPU per video-second; and the
   share of that CPU spent before each window starts, measured as a reader pass over the empty window
   [window_start, window_start): open, seek (FFmpeg decodes from the keyframe before the seek target) and pre-roll.
   DecodeStats counts the frames the reader grabs; those FFmpeg decodes inside OpenCV's seek are estimated from the
   keyframe positions (SEEK_BACKOFF_FRAMES).

Sections 2 and 3 decode with 1 thread, as each local-runner worker does on a machine with one worker per core.
Writes bench/results/decode.json and decode.md (--quick: a 20 s scene and one repetition, a smoke run whose numbers
are not for comparison).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from itertools import pairwise
from pathlib import Path
from typing import Any

import cv2

from bench.common import RESULTS, ROOT, TMP, Context, cpu_model, ensure_scene, median, write_results
from videoanalysis.chunking import lead_ms, plan_chunks
from videoanalysis.contracts import Chunk
from videoanalysis.settings import Settings
from videoanalysis.video import (
    SEEK_MARGIN_MS,
    DecodeStats,
    FrameReader,
    _position,
    open_capture,
    probe,
    sample_slot,
    to_t_ms,
)

CHUNK_LENGTHS_S = (2.5, 5.0, 10.0, 20.0, 60.0)
WINDOW_CHUNK_S = 10.0  # sections 1 and 2 read the window of one chunk of this plan
SECTION_THREADS = 1  # decoder threads of sections 2 and 3: a local-runner worker's, one worker per core
SEEK_BACKOFF_FRAMES = 16
"""OpenCV's FFmpeg seek to frame N (cap_ffmpeg_impl.hpp, CvCapture_FFMPEG::seek) asks FFmpeg for the keyframe at or
before frame N - 16, then decodes forward to N - 1; before the first seek of a capture it decodes the first frame."""


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(read: Callable[[], DecodeStats]) -> dict[str, Any]:
    """Wall and CPU seconds (all threads of this process) of one pass, and its DecodeStats."""
    wall, cpu = time.perf_counter(), cpu_s()
    stats = read()
    return {"wall_s": time.perf_counter() - wall, "cpu_s": cpu_s() - cpu, "stats": stats.to_dict()}


def rotated(items: Sequence[Any], k: int) -> list[Any]:
    """`items` starting at the k-th: repetition k runs the variants in this order, so drift hits them alike."""
    k %= len(items)
    return [*items[k:], *items[:k]]


def read_window(video: str, chunk: Chunk, sample_fps: float) -> DecodeStats:
    """The app's pass over a chunk's window, as videoanalysis.analysis.analyze_window makes it: the reader grabs
    every frame and retrieves (converts to BGR) the sampled ones."""
    reader = FrameReader(video, chunk.window_start_ms, chunk.end_ms, sample_fps, chunk.start_ms, chunk.end_ms)
    for _ in reader:
        pass
    return reader.stats


def reach_window(video: str, chunk: Chunk, sample_fps: float) -> DecodeStats:
    """What the reader spends before a window starts: a pass over the empty window [start, start) opens, seeks,
    grabs the pre-roll and stops at the first frame at or after the start (the one frame of the window it grabs)."""
    reader = FrameReader(video, chunk.window_start_ms, chunk.window_start_ms, sample_fps)
    for _ in reader:
        pass
    return reader.stats


def read_every_frame(video: str, chunk: Chunk, sample_fps: float, convert: bool = True) -> DecodeStats:
    """NOT THE APP, a bench-only variant of the reader's loop: read() (decode and convert to BGR) on every frame; with
    convert=False grab() only, converting no frame at all, not even the sampled ones (the floor under any reader).
    Positioned by the app's own verified seek; the same window, ownership and sampling rules as FrameReader."""
    stats = DecodeStats()
    cap: Any
    cap, landed = _position(video, chunk.window_start_ms, stats)
    prev_ms = None if landed is None else to_t_ms(landed)
    end_ms = chunk.end_ms
    try:
        while cap.read()[0] if convert else cap.grab():
            t_ms = to_t_ms(cap.get(cv2.CAP_PROP_POS_MSEC))
            stats.frames_decoded += 1
            sampled = (
                sample_fps == 0 or prev_ms is None or sample_slot(t_ms, sample_fps) != sample_slot(prev_ms, sample_fps)
            )
            prev_ms = t_ms
            if t_ms < chunk.window_start_ms:
                continue
            if end_ms is not None and t_ms >= end_ms:
                break
            owned = t_ms >= chunk.start_ms and (chunk.end_ms is None or t_ms < chunk.end_ms)
            stats.frames_owned += owned
            stats.frames_sampled += sampled and convert
    finally:
        cap.release()
    return stats


@contextmanager
def opencv_threads(n: int, video: str) -> Iterator[int]:
    """OpenCV limited to `n` threads, as `videoanalysis.models.configure_threads(n)` limits a worker; yields the
    decoder threads the reader then asks FFmpeg for (CAP_PROP_N_THREADS of a capture opened as it opens one)."""
    before = cv2.getNumThreads()
    cv2.setNumThreads(n)
    try:
        cap = open_capture(video)
        used = int(cap.get(cv2.CAP_PROP_N_THREADS))
        cap.release()
        yield used
    finally:
        cv2.setNumThreads(before)


def default_threads() -> int:
    """cv2.getNumThreads() of a fresh interpreter: what a process that sets nothing (an Azure activity) decodes with."""
    code = "import cv2; print(cv2.getNumThreads())"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    return int(done.stdout.split()[-1])


def keyframe_times_ms(video: str) -> list[float]:
    """Presentation times of the video's keyframes, from its packets (OpenCV's raw-stream mode: nothing decoded)."""
    cap = cv2.VideoCapture(video, cv2.CAP_FFMPEG, [cv2.CAP_PROP_FORMAT, -1])
    times = []
    try:
        while cap.grab():
            if cap.get(cv2.CAP_PROP_LRF_HAS_KEY_FRAME):
                times.append(cap.get(cv2.CAP_PROP_POS_MSEC))
    finally:
        cap.release()
    return times


def frames_inside_seek(chunk: Chunk, fps: float, keyframes: Sequence[int]) -> int:
    """Frames FFmpeg decodes inside the reader's seek, which DecodeStats does not count (an estimate, see
    SEEK_BACKOFF_FRAMES): the reader seeks to window_start - SEEK_MARGIN_MS, frame N; FFmpeg decodes from the
    keyframe at or before N - 16 up to N - 1, after the first frame. 0 for a window read from the start."""
    target_ms = chunk.window_start_ms - SEEK_MARGIN_MS
    if target_ms <= 0:
        return 0
    n = int(target_ms * fps / 1000 + 0.5)
    key = max((k for k in keyframes if k <= n - SEEK_BACKOFF_FRAMES), default=0)
    return 1 + n - key


def machine() -> dict[str, Any]:
    build = cv2.getBuildInformation().splitlines()
    ffmpeg = {
        name: line.split(":", 1)[1].strip()
        for line in build
        for name in ("avcodec", "avformat")
        if line.strip().startswith(f"{name}:")
    }
    return {
        "cpu": cpu_model(),
        "cores": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "opencv": cv2.__version__,
        "ffmpeg": ffmpeg,
    }


def load() -> list[float]:
    """Load average over 1, 5 and 15 minutes."""
    return [round(value, 2) for value in os.getloadavg()]


def summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians of one variant's runs, every run's seconds, and the frame counts (the same in every run)."""
    cpu, wall = [run["cpu_s"] for run in runs], [run["wall_s"] for run in runs]
    return {"cpu_s": median(cpu), "wall_s": median(wall), "cpu_runs": cpu, "wall_runs": wall, **runs[-1]["stats"]}


def threads_section(video: str, chunk: Chunk, sample_fps: float, default: int, repeats: int) -> dict[str, Any]:
    counts = sorted({1, 2, default})
    runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
    used: dict[int, int] = {}
    loads = []
    for rep in range(repeats):
        loads.append(load()[0])
        for n in rotated(counts, rep):
            with opencv_threads(n, video) as decoder_threads:
                used[n] = decoder_threads
                runs[n].append(measure(lambda: read_window(video, chunk, sample_fps)))
    rows = []
    for n in counts:
        row = summary(runs[n])
        rows.append({"threads": n, "default": n == default, "decoder_threads": used[n], **row})
    one = next(row for row in rows if row["threads"] == 1)
    for row in rows:
        row["cores_busy"] = row["cpu_s"] / row["wall_s"]
        row["cpu_vs_1"] = row["cpu_s"] / one["cpu_s"]
        row["wall_vs_1"] = row["wall_s"] / one["wall_s"]
    return {"rows": rows, "load_1min_per_repeat": loads}


ACCESS_VARIANTS = {
    "reader": "app: FrameReader, grab() every frame, retrieve() the sampled ones",
    "read_all": "bench only: read() every frame",
    "grab_only": "bench only: grab() every frame, convert none (floor)",
}


def access_section(video: str, chunk: Chunk, sample_fps: float, repeats: int) -> dict[str, Any]:
    passes: dict[str, Callable[[], DecodeStats]] = {
        "reader": lambda: read_window(video, chunk, sample_fps),
        "read_all": lambda: read_every_frame(video, chunk, sample_fps),
        "grab_only": lambda: read_every_frame(video, chunk, sample_fps, convert=False),
    }
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in passes}
    loads = []
    for rep in range(repeats):
        loads.append(load()[0])
        for name in rotated(list(passes), rep):
            runs[name].append(measure(passes[name]))
    rows = []
    for name in passes:
        row = summary(runs[name])
        converted = row["frames_decoded"] if name == "read_all" else row["frames_sampled"]
        rows.append({"variant": name, "label": ACCESS_VARIANTS[name], "frames_converted": converted, **row})
    app = rows[0]
    for row in rows:
        row["cpu_vs_app"] = row["cpu_s"] / app["cpu_s"]
        row["wall_vs_app"] = row["wall_s"] / app["wall_s"]
    return {"threads": SECTION_THREADS, "rows": rows, "load_1min_per_repeat": loads}


def chunking_section(
    video: str, plans: dict[float, list[Chunk]], sample_fps: float, fps: float, keyframes: Sequence[int], repeats: int
) -> dict[str, Any]:
    totals: dict[float, list[dict[str, float]]] = {length: [] for length in plans}
    last: dict[float, list[tuple[dict[str, Any], dict[str, Any]]]] = {}
    loads = []
    for rep in range(repeats):
        loads.append(load()[0])
        for length in rotated(list(plans), rep):
            passes = [
                (
                    measure(partial(read_window, video, chunk, sample_fps)),
                    measure(partial(reach_window, video, chunk, sample_fps)),
                )
                for chunk in plans[length]
            ]
            totals[length].append(
                {
                    "cpu_s": sum(full["cpu_s"] for full, _ in passes),
                    "wall_s": sum(full["wall_s"] for full, _ in passes),
                    "before_cpu_s": sum(before["cpu_s"] for _, before in passes),
                    "before_wall_s": sum(before["wall_s"] for _, before in passes),
                }
            )
            last[length] = passes
    rows = []
    for length, chunks in plans.items():
        passes = last[length]
        reader_decoded = sum(full["stats"]["frames_decoded"] for full, _ in passes)
        owned = sum(full["stats"]["frames_owned"] for full, _ in passes)
        # the empty-window pass grabs the pre-roll and the window's first frame
        before_reader = sum(max(0, before["stats"]["frames_decoded"] - 1) for _, before in passes)
        inside_seek = sum(frames_inside_seek(chunk, fps, keyframes) for chunk in chunks)
        in_window = reader_decoded - before_reader
        decoded = reader_decoded + inside_seek
        runs = totals[length]
        cpu, before_cpu = median([r["cpu_s"] for r in runs]), median([r["before_cpu_s"] for r in runs])
        rows.append(
            {
                "chunk_s": length,
                "chunks": len(chunks),
                "frames_owned": owned,
                "frames_window_not_owned": in_window - owned,
                "frames_before_window_reader": before_reader,
                "frames_inside_seek_est": inside_seek,
                "frames_decoded": decoded,
                "decoded_per_owned": decoded / owned,
                "seeks": sum(full["stats"]["seeks"] for full, _ in passes),
                "cpu_s": cpu,
                "wall_s": median([r["wall_s"] for r in runs]),
                "cpu_runs": [r["cpu_s"] for r in runs],
                "before_cpu_s": before_cpu,
                "before_wall_s": median([r["before_wall_s"] for r in runs]),
                "before_share": before_cpu / cpu,
                "windows": [[c.window_start_ms, c.end_ms] for c in chunks],
            }
        )
    single = [row for row in rows if row["chunks"] == 1]
    for row in rows:
        row["cpu_vs_one_chunk"] = row["cpu_s"] / single[0]["cpu_s"] if single else None
    return {"threads": SECTION_THREADS, "rows": rows, "load_1min_per_repeat": loads}


def run(ctx: Context, out: Path | None = RESULTS, video: Path | None = None) -> dict[str, Any]:
    """Every measurement of this section; with `out`, also written to decode.json / decode.md there."""
    started, wall = datetime.now(UTC), time.perf_counter()
    load_start = load()
    if video is None:
        ensure_scene(ctx)
        video = ctx.video
    source = str(video)
    info = probe(source)
    settings = Settings()
    repeats = ctx.repeats
    keyframe_ms = keyframe_times_ms(source)
    keyframes = [round(t * info.fps / 1000) for t in keyframe_ms]
    gaps = [b - a for a, b in pairwise(keyframe_ms)]
    plans = {length: plan_chunks(info, length, settings.max_chunks, ctx.sample_fps) for length in CHUNK_LENGTHS_S}
    ten = plans[WINDOW_CHUNK_S]
    window = ten[len(ten) // 2]  # a chunk in the middle: its seek and its lead are the usual ones
    default = default_threads()
    before = cv2.getNumThreads()
    try:
        cv2.setNumThreads(SECTION_THREADS)
        read_window(source, window, ctx.sample_fps)  # warm-up, not measured: page cache, FFmpeg and OpenCV start-up
        threads = threads_section(source, window, ctx.sample_fps, default, repeats)
        access = access_section(source, window, ctx.sample_fps, repeats)
        chunking = chunking_section(source, plans, ctx.sample_fps, info.fps, keyframes, repeats)
    finally:
        cv2.setNumThreads(before)
    results = {
        "generated": started.isoformat(timespec="seconds"),
        "quick": ctx.quick,
        "repeats": repeats,
        "machine": machine(),
        "load_start": load_start,
        "load_end": load(),
        "duration_s": time.perf_counter() - wall,
        "video": {
            "path": str(video.relative_to(ROOT) if video.is_relative_to(ROOT) else video),
            "width": info.width,
            "height": info.height,
            "fps": info.fps,
            "frames": info.frame_count,
            "duration_s": info.duration_s,
            "codec": info.codec,
            "keyframes": len(keyframe_ms),
            "keyframe_interval_s": median(gaps) / 1000 if gaps else None,
            "keyframe_interval_frames": median([b - a for a, b in pairwise(keyframes)]) if gaps else None,
        },
        "sample_fps": ctx.sample_fps,
        "lead_ms": lead_ms(info, ctx.sample_fps),
        "default_threads": default,
        "window": {
            "chunk_s": WINDOW_CHUNK_S,
            "index": window.index,
            "core": [window.start_ms, window.end_ms],
            "window": [window.window_start_ms, window.end_ms],
        },
        "threads": threads,
        "access": access,
        "chunking": chunking,
    }
    if out is not None:
        write_results(out, "decode", results, render(results))
    return results


def _s(ms: int | None) -> str:
    return "end" if ms is None else f"{ms / 1000:g}"


def render_section(results: dict[str, Any]) -> list[str]:
    """The three tables (markdown, ready for docs/performance.md), each with what it measured."""
    video, win = results["video"], results["window"]
    span = f"[{_s(win['window'][0])}, {_s(win['window'][1])}) s (core [{_s(win['core'][0])}, {_s(win['core'][1])}))"
    n = results["repeats"]
    lines = [
        "## Decode",
        "",
        f"{video['width']}x{video['height']} {video['codec']}, {video['fps']:g} fps, {video['duration_s']:g} s, "
        f"{video['frames']} frames; keyframe every {video['keyframe_interval_s']:g} s "
        f"({video['keyframe_interval_frames']:g} frames, measured from the packets); "
        f"{results['sample_fps']:g} fps sampled; medians of {n} interleaved repetition{'s' * (n > 1)}.",
        "",
        f"**Decoder threads per worker**: one {win['chunk_s']:g} s chunk's window {span}, read by FrameReader after "
        "cv2.setNumThreads(n) (a worker's `configure_threads`; FFmpeg gets CAP_PROP_N_THREADS = n). "
        f"OpenCV's default in a fresh process here: {results['default_threads']}.",
        "",
        "| threads | FFmpeg threads | CPU s | wall s | cores busy | CPU vs 1 | wall vs 1 |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["threads"]["rows"]:
        label = f"{row['threads']} (default)" if row["default"] else str(row["threads"])
        lines.append(
            f"| {label} | {row['decoder_threads']} | {row['cpu_s']:.2f} | {row['wall_s']:.2f} "
            f"| {row['cores_busy']:.2f} | {row['cpu_vs_1']:.2f}x | {row['wall_vs_1']:.2f}x |"
        )
    access = results["access"]
    lines += [
        "",
        f"**grab() against read() for unsampled frames**: the same window, {access['threads']} decoder thread; "
        "only the first row is the app's code.",
        "",
        "| loop | frames decoded | frames converted | CPU s | wall s | CPU vs app |",
        "|---|---|---|---|---|---|",
    ]
    for row in access["rows"]:
        lines.append(
            f"| {row['label']} | {row['frames_decoded']} | {row['frames_converted']} | {row['cpu_s']:.2f} "
            f"| {row['wall_s']:.2f} | {row['cpu_vs_app']:.2f}x |"
        )
    chunking = results["chunking"]
    lines += [
        "",
        f"**Chunk length**: the app's plan (each window starts {results['lead_ms']} ms before its core, the analysed "
        "frame before it), every chunk's window read by FrameReader as analyze_chunk reads it, "
        f"one after another, {chunking['threads']} decoder thread. Frames decoded = grabbed by the reader + decoded "
        "inside its seek (estimated from the keyframes); before window = seek from the keyframe and pre-roll, "
        "its CPU measured as a reader pass over the empty window (for a window from 0: opening the video alone).",
        "",
        "| chunk s | chunks | frames decoded / owned | frames before windows | lead frames "
        "| decode CPU s | CPU s per video-s | vs one chunk | CPU before windows |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in chunking["rows"]:
        before = row["frames_before_window_reader"] + row["frames_inside_seek_est"]
        versus = "" if row["cpu_vs_one_chunk"] is None else f"{row['cpu_vs_one_chunk']:.2f}x"
        lines.append(
            f"| {row['chunk_s']:g} | {row['chunks']} | {row['decoded_per_owned']:.2f} ({row['frames_decoded']} / "
            f"{row['frames_owned']}) | {before} | {row['frames_window_not_owned']} | {row['cpu_s']:.2f} "
            f"| {row['cpu_s'] / video['duration_s']:.3f} | {versus} | {row['before_share']:.0%} |"
        )
    return [*lines, ""]


def render(results: dict[str, Any]) -> list[str]:
    m = results["machine"]
    smoke = " (--quick: a smoke run, its numbers are not for comparison)" if results["quick"] else ""
    ffmpeg = ", ".join(f"{k} {v}" for k, v in m["ffmpeg"].items())
    lines = [
        f"# Decode benchmark {results['generated']}{smoke}",
        "",
        f"{m['cpu']}, {m['cores']} cores; OpenCV {m['opencv']} ({ffmpeg}), Python {m['python']}. "
        f"Load average (1/5/15 min) {' / '.join(map(str, results['load_start']))} at the start, "
        f"{' / '.join(map(str, results['load_end']))} at the end ({results['duration_s'] / 60:.1f} min): "
        "the machine is shared, compare within this run. Video: " + results["video"]["path"] + ".",
        "",
    ]
    return lines + render_section(results)[2:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.decode", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: a 20 s scene, one repetition")
    parser.add_argument("--video", type=Path, help="read this video instead of the benchmark scene")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for decode.json and decode.md")
    args = parser.parse_args(argv)
    models = ROOT / "models"
    ctx = Context(
        models / "demo-yolo26n.pt", models / "demo-yolo26n.onnx", quick=args.quick, seconds=20.0 if args.quick else 60.0
    )
    TMP.mkdir(parents=True, exist_ok=True)
    results = run(ctx, args.out, args.video.resolve() if args.video else None)
    print("\n".join(render(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
