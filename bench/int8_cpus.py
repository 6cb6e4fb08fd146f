"""`python -m bench.int8_cpus`: do INT8 detectors give the same boxes, and counts, on x86 CPUs with and without VNNI?

ONNX Runtime picks its integer kernels from the CPU it runs on. With VNNI (AVX-512 VNNI, AVX-VNNI) a UINT8 x INT8
dot product accumulates exactly in 32 bits; with AVX2 alone it multiplies in pairs summed into 16 bits, which
saturates when 8-bit weights meet large activations, so the same file can find other boxes there, and count other
objects. 7-bit weights (`tools/quantize_model.py`'s default) stay under the 16-bit limit.

Each model runs here and again under user-mode emulation of an AVX2 CPU without AVX-512 or VNNI (`qemu-x86_64 -cpu
Haswell`, Debian package `qemu-user`; about a second a frame), on frames letterboxed here, so that only the network
and NMS run emulated:

- **Boxes**: bench.int8's agreement frames. Frames whose boxes are bit for bit the same on both, and each run's
  boxes against the FP32 file's found here (bench.int8's one-to-one matching).
- **Counts** (`--scenes N`): the frames the app analysed in the first N tuning scenes of `make eval` (its stored 10 s
  chunk runs; run it first), detected on both, each counted by the app's fan-in (`bench.eval_refanin.resummarised`)
  in place of the stored detections: scene/class pairs whose count differs between the two CPUs.

Writes int8-cpus.json and .md under --out.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from bench.common import RESULTS, ROOT, cpu_flags, write_results
from bench.int8 import AGREEMENT_SEEDS, AGREEMENT_TIMES_S, CONF, DEFAULT_MODEL, agreement
from videoanalysis.onnx_model import OnnxModel, letterbox, letterbox_geometry, load_onnx

EMULATED_CPU = "Haswell"  # AVX2 and FMA, no AVX-512, no VNNI
MODELS = (ROOT / "models" / "demo-yolo26n-int8.onnx",)
NAMES = {0: "car", 1: "person", 2: "bike"}


def letterboxed(frames: list[np.ndarray], model: OnnxModel, out: Path) -> None:
    """`frames` (one size) letterboxed as the app feeds `model`'s network, with their geometry, saved to `out`."""
    shape = frames[0].shape[:2]
    ratio, pad = letterbox_geometry(shape, model.imgsz, square=model.static)
    images = np.stack([letterbox(frame, ratio, pad) for frame in frames])
    np.savez(out, images=images, ratio=ratio, pad=np.asarray(pad), shape=np.asarray(shape))


def detect(model: Path, images: Path, out: Path) -> None:
    """Boxes of `model` on `letterboxed` images, one frame a call on one thread (the child process's work)."""
    network = load_onnx(str(model), threads=1)
    with np.load(images) as saved:
        frames, ratio = list(saved["images"]), float(saved["ratio"])
        top, bottom, left, right = (int(v) for v in saved["pad"])
        height, width = (int(v) for v in saved["shape"])
    pad, shape = (top, bottom, left, right), (height, width)
    found = [network.predict_letterboxed([frame], ratio, pad, shape, CONF)[0] for frame in frames]
    np.savez(out, *found)


def boxes(model: Path, images: Path, emulate: str | None) -> list[np.ndarray]:
    """`detect` in a child process: on this CPU, or under qemu as the `emulate` CPU model."""
    out = images.with_name(f"{images.stem}-{model.stem}-{emulate or 'native'}.npz")
    command = [sys.executable, "-m", "bench.int8_cpus", "--detect", str(model), str(images), str(out)]
    if emulate:
        command = ["qemu-x86_64", "-cpu", emulate, *command]
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if done.returncode:
        last = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        raise RuntimeError(f"{model.name} on {emulate or 'this CPU'}: {last}")
    with np.load(out) as saved:
        return [saved[f"arr_{i}"] for i in range(len(saved.files))]


def same_frames(one: list[np.ndarray], other: list[np.ndarray]) -> int:
    """Frames whose detections are bit for bit the same."""
    return sum(a.shape == b.shape and np.array_equal(a, b) for a, b in zip(one, other, strict=True))


def analysed_frames(run: Path, video: Path) -> tuple[list[int], list[np.ndarray]]:
    """The times (ms) and frames the stored app `run` analysed, read from its `video` (constant frame rate)."""
    from bench.eval_refanin import stored_frames

    times = [frame.t_ms for frame in stored_frames(run)]
    capture = cv2.VideoCapture(str(video))
    fps = capture.get(cv2.CAP_PROP_FPS)
    wanted = {round(t * fps / 1000): t for t in times}
    frames: dict[int, np.ndarray] = {}
    index = 0
    while len(frames) < len(wanted):
        ok, frame = capture.read()
        if not ok:
            raise RuntimeError(f"{video.name} ends before {len(wanted)} analysed frames")
        if index in wanted:
            frames[wanted[index]] = frame
        index += 1
    capture.release()
    return times, [frames[t] for t in times]


def counted(run: Path, times: list[int], found: list[np.ndarray], scratch: Path) -> dict[str, int]:
    """`unique` per class of the stored `run` counted again with `found` in place of its detections."""
    from bench.eval_refanin import resummarised

    by_time = dict(zip(times, found, strict=True))
    copy = scratch / "recounted-run"
    shutil.rmtree(copy, ignore_errors=True)
    (copy / "summary.chunks").mkdir(parents=True)
    shutil.copy(run / "summary.json", copy)
    for chunk in run.glob("summary.chunks/chunk-*[0-9].json"):
        shutil.copy(chunk, copy / "summary.chunks")
        lines = []
        for line in chunk.with_suffix(".jsonl").open():
            row = json.loads(line)
            row["detections"] = [
                {"cls": NAMES[int(d[5])], "conf": round(float(d[4]), 3), "box": [round(float(v), 1) for v in d[:4]]}
                for d in by_time[row["t_ms"]]
            ]
            lines.append(json.dumps(row) + "\n")
        (copy / "summary.chunks" / chunk.with_suffix(".jsonl").name).write_text("".join(lines))
    classes = resummarised(copy)["classes"]
    return {name: classes.get(name, {}).get("unique", 0) for name in NAMES.values()}


def box_rows(
    fp32: Path, network: OnnxModel, models: tuple[Path, ...], frames: int, scratch: Path
) -> list[dict[str, Any]]:
    from tools import quantize_model

    images = scratch / "agreement.npz"
    letterboxed(list(quantize_model.scene_frames(AGREEMENT_SEEDS, AGREEMENT_TIMES_S))[:frames], network, images)
    reference = boxes(fp32, images, None)
    rows = []
    for model in models:
        here, emulated = boxes(model, images, None), boxes(model, images, EMULATED_CPU)
        rows.append(
            {
                "model": _shown(model),
                "frames": len(here),
                "same_frames": same_frames(here, emulated),
                "other_box_count": sum(len(a) != len(b) for a, b in zip(here, emulated, strict=True)),
                "here_vs_fp32": agreement(reference, here, NAMES)["all"],
                "emulated_vs_fp32": agreement(reference, emulated, NAMES)["all"],
            }
        )
    return rows


def count_rows(network: OnnxModel, models: tuple[Path, ...], scenes: int, scratch: Path) -> list[dict[str, Any]]:
    from bench.eval_counts import EVAL, scenes_for

    rows = []
    for spec in scenes_for("tune", scenes):
        run = EVAL / "runs" / "defaults" / spec.key / "chunks-10"
        if not (run / "summary.json").is_file():
            raise RuntimeError(f"no stored run of {spec.key}: run `make eval` first")
        times, frames = analysed_frames(run, spec.video)
        images = scratch / f"{spec.key}.npz"
        letterboxed(frames, network, images)
        truth = json.loads(spec.truth_path.read_text())["unique"]
        for model in models:
            here, emulated = (boxes(model, images, cpu) for cpu in (None, EMULATED_CPU))
            rows.append(
                {
                    "model": _shown(model),
                    "scene": spec.key,
                    "truth": {name: truth.get(name, 0) for name in NAMES.values()},
                    "here": counted(run, times, here, scratch),
                    "emulated": counted(run, times, emulated, scratch),
                }
            )
    return rows


def _shown(model: Path) -> str:
    return str(model.relative_to(ROOT) if model.is_relative_to(ROOT) else model)


def run(fp32: Path, models: tuple[Path, ...], frames: int, scenes: int, out: Path | None) -> dict[str, Any]:
    if shutil.which("qemu-x86_64") is None:
        raise RuntimeError("qemu-x86_64 not found (apt-get install qemu-user)")
    network = load_onnx(str(fp32), threads=1)
    with tempfile.TemporaryDirectory(prefix="int8-cpus-") as scratch:
        results = {
            "here_vnni": bool(cpu_flags() & {"avx512_vnni", "avx_vnni"}),
            "emulated": EMULATED_CPU,
            "boxes": box_rows(fp32, network, models, frames, Path(scratch)),
            "counts": count_rows(network, models, scenes, Path(scratch)),
        }
    if out is not None:
        write_results(out, "int8-cpus", results, render(results))
    return results


def render(results: dict[str, Any]) -> list[str]:
    here = "with VNNI" if results["here_vnni"] else "without VNNI"
    lines = [
        "## INT8 boxes and counts on x86 CPUs with and without VNNI",
        "",
        f"This machine ({here}) against `qemu-x86_64 -cpu {results['emulated']}` (AVX2, no VNNI), one thread, one "
        "frame a call. Boxes on bench.int8's agreement frames; recall and precision: each run's boxes matched one to "
        "one to the FP32 file's boxes on this machine (same class, IoU >= 0.5).",
        "",
        "| model | frames bit for bit the same | frames with another number of boxes "
        "| recall, precision here | recall, precision emulated |",
        "|---|---|---|---|---|",
    ]
    for row in results["boxes"]:
        here_row, emulated = row["here_vs_fp32"], row["emulated_vs_fp32"]
        lines.append(
            f"| {row['model']} | {row['same_frames']} of {row['frames']} | {row['other_box_count']} "
            f"| {here_row['recall']:.3f}, {here_row['precision']:.3f} "
            f"| {emulated['recall']:.3f}, {emulated['precision']:.3f} |"
        )
    if results["counts"]:
        lines += [
            "",
            "Counts (`unique`) of the frames the app analysed in tuning scenes, counted by the app's fan-in:",
            "",
            "| model | scenes | pairs counted differently | error here (signed) | error emulated (signed) |",
            "|---|---|---|---|---|",
        ]
        for model in dict.fromkeys(row["model"] for row in results["counts"]):
            rows = [row for row in results["counts"] if row["model"] == model]
            pairs = [(row["truth"][c], row["here"][c], row["emulated"][c]) for row in rows for c in row["truth"]]
            differ = sum(here != emulated for _, here, emulated in pairs)
            lines.append(
                f"| {model} | {len(rows)} | {differ} of {len(pairs)} | {_error(pairs, 1)} | {_error(pairs, 2)} |"
            )
    return [*lines, ""]


def _error(pairs: list[tuple[int, int, int]], column: int) -> str:
    errors = [pair[column] - pair[0] for pair in pairs]
    return f"{sum(abs(e) for e in errors)} ({sum(errors):+d})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.int8_cpus", description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path, default=list(MODELS), help="INT8 ONNX files")
    parser.add_argument("--fp32", type=Path, default=DEFAULT_MODEL, help="the FP32 file they were made from")
    parser.add_argument("--frames", type=int, default=len(AGREEMENT_SEEDS) * len(AGREEMENT_TIMES_S))
    parser.add_argument("--scenes", type=int, default=0, help="count the first N tuning scenes too (make eval's)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for int8-cpus.json and .md")
    parser.add_argument("--detect", nargs=3, type=Path, metavar=("MODEL", "IMAGES", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.detect:
        detect(*args.detect)
        return 0
    models = tuple(model.resolve() for model in args.models)
    missing = [str(path) for path in (args.fp32, *models) if not path.is_file()]
    if missing:
        print(f"error: no model file {', '.join(missing)}", file=sys.stderr)
        return 2
    try:
        results = run(args.fp32.resolve(), models, args.frames, args.scenes, args.out)
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print("\n".join(render(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
