"""Make a statically quantised INT8 ONNX of a YOLO detection export (issue 17), for faster CPU inference.

ONNX Runtime's `quantize_static` in QDQ format: INT8 weights (per output channel by default) and UINT8 activations
whose ranges come from calibration frames run through the model exactly as the app feeds it
(`videoanalysis.onnx_model.preprocess`: letterbox to the model's own size, RGB, [0, 1]). The detection head's
decoding (box arithmetic in pixels and class scores in [0, 1], concatenated into one output) stays FP32: one INT8
scale for both would round every score to 0 or 1. The output keeps the input's metadata (class names, image size,
task), so `--model my-int8.onnx` works in the runner as the FP32 file does.

Weights are 7-bit by default (`reduce_range`): x86 CPUs without VNNI sum UINT8 x INT8 products in 16 bits, which 8-bit
weights can saturate, so an 8-bit file finds other boxes there than on a CPU with VNNI; a 7-bit one finds the same
boxes on both, bit for bit (`python -m bench.int8_cpus`).

Calibration frames are rendered from generated scenes of bench.eval_counts' *tuning* seeds (never the held-out
6000-6119), or read from a folder of the user's own images and videos (`--calibration DIR`): use frames of the
cameras the model will watch.

    .venv/bin/python tools/quantize_model.py                          # models/demo-yolo26n-int8.onnx
    .venv/bin/python tools/quantize_model.py my.onnx --calibration my-frames/ --out my-int8.onnx
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from videoanalysis.onnx_model import OnnxModel, letterbox_geometry, load_onnx, preprocess  # noqa: E402

DEFAULT_MODEL = ROOT / "models" / "demo-yolo26n.onnx"
# bench.eval_counts' tuning split (seed 5000 + k in its scenario k); the held-out 6000-6119 never.
CALIBRATION_SEEDS: tuple[int, ...] = tuple(range(5000, 5012))
CALIBRATION_TIMES_S: tuple[float, ...] = (7.5, 22.5, 37.5, 52.5)  # 4 frames per scene: 48 in all
SCENE_SECONDS, SCENE_FPS, SCENE_SIZE = 60.0, 25.0, (1280, 720)  # the evaluation's scenes
SCENES_DESCRIBED = (
    f"generated scenes of bench.eval_counts' tuning split (seed {CALIBRATION_SEEDS[0]} + k in scenario k, "
    f"k < {len(CALIBRATION_SEEDS)}), "
    f"{SCENE_SIZE[0]}x{SCENE_SIZE[1]}, frames at {', '.join(f'{t:g}' for t in CALIBRATION_TIMES_S)} s"
)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".ts"}
FRAMES_PER_VIDEO = 8
BRANCHES = ("cv2.", "cv3.", "one2one_cv2.", "one2one_cv3.")  # the head's convolutions (box, class; both heads)


def scene_frames(
    seeds: Sequence[int] = CALIBRATION_SEEDS,
    times_s: Sequence[float] = CALIBRATION_TIMES_S,
    size: tuple[int, int] = SCENE_SIZE,
) -> Iterator[np.ndarray]:
    """BGR frames of generated scenes at `times_s`; seed 5000 + k in scenario k % 12, as bench.eval_counts renders
    its tuning split."""
    from scenes.generator import Scene
    from scenes.scenarios import SCENARIOS

    for seed in seeds:
        scenario = SCENARIOS[(seed - CALIBRATION_SEEDS[0]) % len(SCENARIOS)]
        scene = Scene(seed, SCENE_SECONDS, SCENE_FPS, size, scenario=scenario)
        for t in times_s:
            yield scene.frame(min(round(t * SCENE_FPS), scene.n_frames - 1)).image


def folder_frames(folder: Path, per_video: int = FRAMES_PER_VIDEO) -> Iterator[np.ndarray]:
    """BGR frames of every image in `folder` (recursively), and `per_video` evenly spaced frames of every video."""
    import cv2

    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                yield image
        elif suffix in VIDEO_SUFFIXES:
            capture = cv2.VideoCapture(str(path))
            count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
            for i in range(per_video):
                capture.set(cv2.CAP_PROP_POS_FRAMES, (2 * i + 1) * count // (2 * per_video))
                ok, image = capture.read()
                if ok:
                    yield image
            capture.release()


def network_inputs(model: OnnxModel, frames: Iterable[np.ndarray]) -> list[np.ndarray]:
    """Each frame as the app feeds it to the network at the model's own size (IMGSZ=0), one frame per tensor."""
    out = []
    for frame in frames:
        ratio, pad = letterbox_geometry(frame.shape[:2], model.imgsz, square=model.static)
        out.append(preprocess([frame], ratio, pad))
    return out


def head_decode_nodes(graph: Any) -> list[str]:
    """The Detect head's nodes after its convolutions: reshapes, box decoding, the class sigmoid, the output concat.

    Their tensors mix pixel coordinates with [0, 1] scores; they are cheap, and INT8 there loses most boxes
    (recall 0.15 against FP32 on the demo model). Ultralytics names nodes after their layer (`/model.23/...`):
    the head is the layer that makes the output.
    """
    last = next(node.name for node in graph.node if graph.output[0].name in node.output)
    if not last.startswith("/model.") or last.count("/") < 2:
        raise ValueError(f"cannot find the Detect head (output made by {last!r}, not an Ultralytics export?)")
    head = last[: last.index("/", 1) + 1]
    branches = tuple(head + branch for branch in BRANCHES)
    return [node.name for node in graph.node if node.name.startswith(head) and not node.name.startswith(branches)]


def _no_preprocessing_hint(record: logging.LogRecord) -> bool:
    """Drop ONNX Runtime's advice to run `quant_pre_process` first: its symbolic shape inference fails on these
    dynamic-shape exports, and without it the graph optimisation changed neither boxes nor speed (measured)."""
    return "pre-processing" not in record.getMessage()


def quantize(
    source: Path,
    out: Path,
    frames: Iterable[np.ndarray],
    per_channel: bool = True,
    keep_head_fp32: bool = True,
    reduce_range: bool = True,
    method: str = "minmax",
    calibration: str = "",
) -> dict[str, Any]:
    """Write the INT8 model of `source` to `out`, calibrated on `frames` (described by `calibration`, for the
    record in its metadata); returns what was done."""
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    model = load_onnx(str(source), threads=1)  # refuses a file that is not a detection export
    inputs = network_inputs(model, frames)
    if not inputs:
        raise ValueError("no calibration frames")
    name = model.session.get_inputs()[0].name

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.feed = iter(inputs)

        def get_next(self) -> dict[str, np.ndarray] | None:
            blob = next(self.feed, None)
            return None if blob is None else {name: blob}

    fp32 = onnx.load(str(source))
    excluded = head_decode_nodes(fp32.graph) if keep_head_fp32 else []
    methods = {"minmax": CalibrationMethod.MinMax, "percentile": CalibrationMethod.Percentile}
    out.parent.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    logging.getLogger().addFilter(_no_preprocessing_hint)
    try:
        with tempfile.TemporaryDirectory(prefix="quantize-") as scratch:
            partial = Path(scratch) / out.name
            quantize_static(
                str(source),
                str(partial),
                Reader(),
                quant_format=QuantFormat.QDQ,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                per_channel=per_channel,
                reduce_range=reduce_range,
                nodes_to_exclude=excluded,
                calibrate_method=methods[method],
            )
            quantized = onnx.load(str(partial))
    finally:
        logging.getLogger().removeFilter(_no_preprocessing_hint)
    record = {
        "calibration": calibration or f"{len(inputs)} frames",
        "frames": len(inputs),
        "per_channel": per_channel,
        "head_decoding_fp32": keep_head_fp32,
        "reduce_range": reduce_range,
        "method": method,
    }
    # The backend reads names, task and imgsz from metadata_props: carry all of the source's, say what was done.
    del quantized.metadata_props[:]
    for prop in fp32.metadata_props:
        quantized.metadata_props.add(key=prop.key, value=prop.value)
    quantized.metadata_props.add(key="quantization", value=f"onnxruntime static QDQ int8 {json.dumps(record)}")
    onnx.save(quantized, str(out))
    load_onnx(str(out), threads=1)  # the runner must load it as it loads the source
    return {**record, "seconds": round(time.perf_counter() - start, 1)}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path, nargs="?", default=DEFAULT_MODEL, help="FP32 detection ONNX")
    parser.add_argument("--out", type=Path, help="INT8 ONNX to write (default: <model>-int8.onnx beside it)")
    parser.add_argument("--calibration", type=Path, metavar="DIR", help="images/videos to calibrate on")
    parser.add_argument("--per-video", type=int, default=FRAMES_PER_VIDEO, help="frames taken from each video")
    parser.add_argument("--no-per-channel", dest="per_channel", action="store_false", help="one scale per tensor")
    parser.add_argument("--quantize-head", dest="keep_head_fp32", action="store_false", help="INT8 decoding too")
    parser.add_argument(
        "--full-range",
        dest="reduce_range",
        action="store_false",
        help="8-bit weights: boxes then differ between x86 CPUs with and without VNNI",
    )
    parser.add_argument("--method", choices=("minmax", "percentile"), default="minmax", help="calibration method")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out = args.out or args.model.with_name(f"{args.model.stem}-int8.onnx")
    if not args.model.is_file():
        print(f"error: no model file {args.model}", file=sys.stderr)
        return 2
    if args.calibration is not None and not args.calibration.is_dir():
        print(f"error: --calibration {args.calibration} is not a folder", file=sys.stderr)
        return 2
    if args.calibration:
        frames, described = folder_frames(args.calibration, args.per_video), f"folder {args.calibration.name}"
    else:
        frames, described = scene_frames(), SCENES_DESCRIBED
    options = (args.per_channel, args.keep_head_fp32, args.reduce_range, args.method, described)
    try:
        record = quantize(args.model, out, frames, *options)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    size = out.stat().st_size / 1e6
    print(f"{out}: {size:.1f} MB (from {args.model.stat().st_size / 1e6:.1f} MB), {record}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
