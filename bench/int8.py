"""`python -m bench.int8` (also `python -m bench int8`): the INT8 ONNX of a detector against its FP32 source (issue 17).

- **Latency**: the network alone (`session.run` on the tensors the app feeds, `onnx_model.preprocess`), per frame,
  FP32 and INT8 in turn on the same frames, repetitions interleaved so that a busy machine slows both alike; medians.
  One thread (what each runner worker uses) and all threads; batches of 1 and 8 (the runner's BATCH_SIZE).
- **Agreement**: `OnnxModel.predict` as the app runs it (conf 0.25, NMS) on frames of bench.eval_counts' tuning
  scenes, at other times than tools/quantize_model.py's calibration frames. Per frame and class, INT8 boxes are
  matched one to one to FP32 boxes at IoU >= 0.5 (optimal assignment): recall = matched / FP32 boxes, precision =
  matched / INT8 boxes, mean IoU of the matches, and the confidence shift (INT8 - FP32) of the matches.
- **Sizes** of both files.

The INT8 model is `<fp32>-int8.onnx` beside the FP32 file if it exists, else made now (tools/quantize_model.py's
defaults) under bench/results/tmp. Writes bench/results/int8.json and int8.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import lap
import numpy as np

from bench.common import RESULTS, ROOT, TMP, median, write_results
from scenes.boxes import iou_matrix
from tools import quantize_model
from videoanalysis.models import available_cores

DEFAULT_MODEL = ROOT / "models" / "demo-yolo26n.onnx"
AGREEMENT_SEEDS = tuple(range(5000, 5012))  # bench.eval_counts' tuning split, as the calibration; never 6000-6119
AGREEMENT_TIMES_S = tuple(1.0 + 3.0 * k for k in range(20))  # 1, 4, ..., 58 s: none is a calibration time
LATENCY_FRAMES = 16
MIN_IOU = 0.5
CONF = 0.25


def int8_model(fp32: Path) -> Path:
    """The INT8 file beside `fp32`, or one made now under bench/results/tmp."""
    beside = fp32.with_name(f"{fp32.stem}-int8.onnx")
    if beside.is_file():
        return beside
    made = TMP / beside.name
    if not made.is_file():
        quantize_model.quantize(fp32, made, quantize_model.scene_frames())
    return made


def match(reference: np.ndarray, other: np.ndarray, min_iou: float = MIN_IOU) -> list[tuple[int, int, float]]:
    """(row in reference, row in other, IoU): same class, IoU >= min_iou, one to one, most IoU in all."""
    pairs: list[tuple[int, int, float]] = []
    if len(reference) == 0 or len(other) == 0:
        return pairs
    ious = iou_matrix(reference[:, :4], other[:, :4])
    ious[reference[:, 5, None] != other[None, :, 5]] = 0.0
    cost = np.where(ious >= min_iou, 1.0 - ious, 2.0)
    _, row_to_col, _ = lap.lapjv(cost, extend_cost=True, cost_limit=1.0 - min_iou + 1e-9)
    return [(i, int(j), float(ious[i, j])) for i, j in enumerate(row_to_col) if j >= 0 and ious[i, j] >= min_iou]


def agreement(fp32: list[np.ndarray], int8: list[np.ndarray], names: dict[int, str]) -> dict[str, Any]:
    """Per class and overall: how INT8's detections (N, 6 arrays per frame) reproduce FP32's on the same frames."""
    tally: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for ref, got in zip(fp32, int8, strict=True):
        pairs = match(ref, got)
        for cls in set(ref[:, 5].astype(int)) | set(got[:, 5].astype(int)):
            for key in (names[cls], "all"):
                tally[key]["fp32"].append(float(np.sum(ref[:, 5] == cls)))
                tally[key]["int8"].append(float(np.sum(got[:, 5] == cls)))
        for i, j, iou in pairs:
            for key in (names[int(ref[i, 5])], "all"):
                tally[key]["iou"].append(iou)
                tally[key]["shift"].append(float(got[j, 4] - ref[i, 4]))
    out = {}
    for key in [*sorted(k for k in tally if k != "all"), "all"]:
        t = tally[key]
        matched = len(t["iou"])
        out[key] = {
            "fp32_boxes": int(sum(t["fp32"])),
            "int8_boxes": int(sum(t["int8"])),
            "matched": matched,
            "recall": matched / max(sum(t["fp32"]), 1),
            "precision": matched / max(sum(t["int8"]), 1),
            "mean_iou": float(np.mean(t["iou"])) if matched else None,
            "conf_shift_mean": float(np.mean(t["shift"])) if matched else None,
            "conf_shift_abs_mean": float(np.mean(np.abs(t["shift"]))) if matched else None,
        }
    return out


def measure_agreement(fp32_path: Path, int8_path: Path) -> dict[str, Any]:
    from videoanalysis.onnx_model import load_onnx

    fp32, int8 = load_onnx(str(fp32_path)), load_onnx(str(int8_path))
    frames = list(quantize_model.scene_frames(AGREEMENT_SEEDS, AGREEMENT_TIMES_S))
    ref = [fp32.predict([frame], 0, CONF)[0] for frame in frames]
    got = [int8.predict([frame], 0, CONF)[0] for frame in frames]
    return {
        "frames": len(frames),
        "seeds": f"{AGREEMENT_SEEDS[0]}-{AGREEMENT_SEEDS[-1]}",
        "times_s": list(AGREEMENT_TIMES_S),
        "classes": agreement(ref, got, fp32.names),
    }


def latency_inputs(fp32_path: Path) -> list[np.ndarray]:
    """The network inputs of LATENCY_FRAMES frames of tuning scenes, as the app feeds them (1280x720 -> 416x256)."""
    from videoanalysis.onnx_model import load_onnx

    frames = quantize_model.scene_frames(AGREEMENT_SEEDS[:4], AGREEMENT_TIMES_S[: LATENCY_FRAMES // 4])
    return quantize_model.network_inputs(load_onnx(str(fp32_path), threads=1), frames)


def measure_latency(
    fp32_path: Path, int8_path: Path, tensors: list[np.ndarray], threads: int, batch: int, repeats: int
) -> dict[str, Any]:
    """Median seconds per frame of each model's network on the same tensors, repetitions interleaved."""
    from videoanalysis.onnx_model import cpu_session

    blobs = [np.concatenate(tensors[i : i + batch]) for i in range(0, len(tensors), batch)]
    sessions = {"fp32": cpu_session(str(fp32_path), threads), "int8": cpu_session(str(int8_path), threads)}
    name = sessions["fp32"].get_inputs()[0].name
    times: dict[str, list[float]] = {key: [] for key in sessions}
    for session in sessions.values():  # warm-up: first runs allocate and pick kernels
        session.run(None, {name: blobs[0]})
    for repeat in range(repeats):
        for blob in blobs:
            order = list(sessions.items())
            for key, session in order[:: 1 if repeat % 2 else -1]:  # neither always runs right after the other
                start = time.perf_counter()
                session.run(None, {name: blob})
                times[key].append((time.perf_counter() - start) / len(blob))
    fp32_ms, int8_ms = median(times["fp32"]) * 1e3, median(times["int8"]) * 1e3
    return {
        "threads": threads,
        "batch": batch,
        "calls": len(times["fp32"]),
        "fp32_ms": fp32_ms,
        "int8_ms": int8_ms,
        "speedup": fp32_ms / int8_ms,
    }


def run(fp32_path: Path = DEFAULT_MODEL, quick: bool = False, out: Path | None = RESULTS) -> dict[str, Any]:
    """Every measurement of this section; with `out`, also written to int8.json / int8.md there."""
    int8_path = int8_model(fp32_path)
    cores = available_cores()
    repeats = 2 if quick else 10
    tensors = latency_inputs(fp32_path)
    latency = [
        measure_latency(fp32_path, int8_path, tensors, threads, batch, repeats)
        for threads in sorted({1, cores})
        for batch in (1, 8)
    ]
    results = {
        "fp32": str(fp32_path.relative_to(ROOT) if fp32_path.is_relative_to(ROOT) else fp32_path),
        "int8": str(int8_path.relative_to(ROOT) if int8_path.is_relative_to(ROOT) else int8_path),
        "sizes_mb": {"fp32": fp32_path.stat().st_size / 1e6, "int8": int8_path.stat().st_size / 1e6},
        "cores": cores,
        "load_before": os.getloadavg()[0],
        "latency": latency,
        "agreement": measure_agreement(fp32_path, int8_path),
        "load_after": os.getloadavg()[0],
    }
    if out is not None:
        write_results(out, "int8", results, render(results))
    return results


def render(results: dict[str, Any]) -> list[str]:
    sizes, agree = results["sizes_mb"], results["agreement"]
    lines = [
        "## INT8 ONNX against FP32",
        "",
        f"{results['fp32']} ({sizes['fp32']:.1f} MB) against {results['int8']} ({sizes['int8']:.1f} MB); "
        f"{results['cores']} cores, load average {results['load_before']:.2f} before, {results['load_after']:.2f} "
        "after.",
        "",
        "Network latency per frame (median; FP32 and INT8 interleaved on the same frames):",
        "",
        "| threads | batch | calls each | FP32 ms | INT8 ms | speed-up |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["latency"]:
        lines.append(
            f"| {row['threads']} | {row['batch']} | {row['calls']} | {row['fp32_ms']:.2f} | {row['int8_ms']:.2f} "
            f"| {row['speedup']:.2f}x |"
        )
    lines += [
        "",
        f"Box agreement on {agree['frames']} frames of tuning scenes (seeds {agree['seeds']}), conf {CONF}: INT8 boxes "
        f"matched one to one to FP32 boxes of the same class at IoU >= {MIN_IOU}.",
        "",
        "| class | FP32 boxes | INT8 boxes | matched | recall | precision | mean IoU | conf shift (mean, mean abs) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for cls, row in agree["classes"].items():
        iou = f"{row['mean_iou']:.3f}" if row["mean_iou"] is not None else "-"
        shift = f"{row['conf_shift_mean']:+.3f}, {row['conf_shift_abs_mean']:.3f}" if row["matched"] else "-"
        lines.append(
            f"| {cls} | {row['fp32_boxes']} | {row['int8_boxes']} | {row['matched']} | {row['recall']:.3f} "
            f"| {row['precision']:.3f} | {iou} | {shift} |"
        )
    return [*lines, ""]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.int8", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="FP32 detection ONNX")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (numbers not for comparison)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for int8.json and int8.md")
    args = parser.parse_args(argv)
    results = run(args.model.resolve(), args.quick, args.out)
    print("\n".join(render(results)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
