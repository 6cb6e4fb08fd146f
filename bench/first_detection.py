"""Child process of the cold-start benchmark, in one of two modes.

- An engine: import, load, detect one frame, print the phase times as JSON; then, for the product's backends, make
  the tracker (Ultralytics: imports torch) and track that frame. The steps run one after another, so their times
  add up.
- `chunk`: what an activity in a fresh worker runs, `analyze_window` on a chunk whose window holds one sampled
  frame, CHUNK_START_MS into the video. Opening and seeking the video, loading the model, detecting, measuring the
  camera's motion and cropping run as the product runs them, so the time to its marker is a chunk worker's time to
  its first analysed frame.

Usage: python -m bench.first_detection KIND MODEL FRAME.npy IMGSZ CONF THREADS [OPENVINO_SITE]
       python -m bench.first_detection chunk MODEL VIDEO VIDEO_INFO_JSON THREADS
"""

from __future__ import annotations

import time

STARTED = time.perf_counter()

import importlib  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402

MARKER = "first-detection: "  # Ultralytics prints to stdout too
TRACK_MARKER = "first-track: "
CHUNK_MARKER = "first-chunk: "
CHUNK_START_MS = 10_000
RUNTIME_MODULES = {
    "pt": ("torch", "ultralytics"),
    "pt-e2e": ("torch", "ultralytics"),
    "onnx-ultralytics": ("torch", "ultralytics", "onnxruntime"),
    "onnx": ("onnxruntime",),
    "openvino-raw": ("openvino",),
}


def first_chunk(model: str, video: str, info: str, threads: int) -> None:
    from videoanalysis.analysis import analyze_window
    from videoanalysis.contracts import Chunk, VideoInfo
    from videoanalysis.models import configure_threads
    from videoanalysis.settings import Settings

    configure_threads(threads)
    settings = Settings(model_path=model)
    end_ms = CHUNK_START_MS + round(1000 / settings.sample_fps)
    window = analyze_window(
        video, VideoInfo.from_dict(json.loads(info)), Chunk(1, CHUNK_START_MS, end_ms, CHUNK_START_MS), settings
    )
    timing = window.result.timing
    phases = {"decode_s": timing.decode_s, "infer_s": timing.infer_s, "track_s": timing.motion_s}
    print(CHUNK_MARKER + json.dumps({**phases, "frames": window.result.frames_analyzed}), flush=True)


def main(argv: list[str]) -> None:
    if argv[0] == "chunk":
        model, video, info, threads = argv[1:]
        first_chunk(model, video, info, int(threads))
        return
    kind, model, frame_path, imgsz, conf, threads, *site = argv
    if site:
        sys.path.append(site[0])
    import numpy as np

    from bench.engines import PRODUCT_BACKENDS, make_engine

    for module in RUNTIME_MODULES[kind]:
        importlib.import_module(module)
    imported = time.perf_counter()
    frame = np.load(frame_path)
    engine = make_engine(kind, model, int(imgsz), float(conf), 1, int(threads), site[0] if site else None)
    loaded = time.perf_counter()
    found = engine.detect([frame])
    done = time.perf_counter()
    phases = {"import_s": imported - STARTED, "load_s": loaded - imported, "first_inference_s": done - loaded}
    loaded_modules = {"torch": "torch" in sys.modules, "torchvision": "torchvision" in sys.modules}
    print(MARKER + json.dumps({**phases, "detections": len(found[0]), "loaded": loaded_modules}), flush=True)
    if kind in PRODUCT_BACKENDS:
        from videoanalysis.detector import Detections
        from videoanalysis.settings import Settings
        from videoanalysis.tracking.tracker import new_tracker

        rows = found[0]
        new_tracker(5.0, Settings()).update(Detections(rows[:, :4], rows[:, 4], rows[:, 5].astype(np.int64)), frame)
        print(TRACK_MARKER + json.dumps({"tracker_s": time.perf_counter() - done}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
