"""End-to-end throughput: the single-pass Ultralytics script a user would write vs the local runner (CLI subprocess).

Every variant is a fresh process (imports and model load included), on the same video, model file, thresholds and
sampling; repetitions are interleaved so drift of the machine hits every variant alike.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from bench.common import TMP, Context, call_json, median, python


def baseline(
    video: str, model: str, imgsz: int, conf: float, stride: int, tracker: str | None, fixed_camera: bool = False
) -> dict[str, Any]:
    """Ultralytics `track(stream=True, vid_stride=k)`, one pass; distinct track ids per (majority) class.

    `tracker=None` is the plain call a user writes (Ultralytics' default tracker, TrackTrack in 8.4);
    `fixed_camera` runs a copy of its YAML with `gmc_method: none`, as a user would for a fixed camera.
    """
    from ultralytics import YOLO

    votes: dict[int, Counter] = defaultdict(Counter)
    frames = 0
    if fixed_camera:
        tracker = _without_gmc(tracker or "tracktrack.yaml")
    options = {"tracker": tracker} if tracker else {}
    for result in YOLO(model, task="detect").track(
        video, stream=True, vid_stride=stride, imgsz=imgsz, conf=conf, verbose=False, **options
    ):
        frames += 1
        if result.boxes.id is not None:
            for track_id, cls in zip(result.boxes.id.int().tolist(), result.boxes.cls.int().tolist(), strict=True):
                votes[track_id][result.names[cls]] += 1
    unique = Counter(counter.most_common(1)[0][0] for counter in votes.values())
    return {"frames": frames, "unique": dict(unique)}


def _without_gmc(tracker: str) -> str:
    from ultralytics.utils import YAML
    from ultralytics.utils.checks import check_yaml

    config = YAML.load(check_yaml(tracker))
    path = TMP / f"{Path(tracker).stem}-fixed-camera.yaml"
    YAML.save(path, {**config, "gmc_method": "none"})
    return str(path)


def _baseline_once(
    ctx: Context, model: Path, stride: int, tracker: str | None, fixed_camera: bool = False
) -> tuple[float, dict[str, Any]]:
    args = (str(ctx.video), str(model), ctx.imgsz, ctx.conf, stride, tracker, fixed_camera)
    return call_json("bench.throughput:baseline", *args)


def _runner_once(
    ctx: Context, model: Path, workers: int, name: str, fixed_camera: bool = False
) -> tuple[float, dict[str, Any]]:
    """`videoanalysis analyze` as a user runs it; its summary's counts and the chunks' own timings."""
    out = TMP / "runs" / name / "summary.json"
    shutil.rmtree(out.parent, ignore_errors=True)
    wall, _ = python(
        [
            *("-m", "runner", "analyze", str(ctx.video), "--model", str(model), "--out", str(out)),
            *("--sample-fps", f"{ctx.sample_fps:g}", "--imgsz", str(ctx.imgsz), "--conf", f"{ctx.conf:g}"),
            *("--batch-size", str(ctx.batch), "--workers", str(workers), "--quiet"),
        ],
        env={"TRACKER_GMC": "none"} if fixed_camera else None,
    )
    summary = json.loads(out.read_text())
    totals = summary["totals"]
    return wall, {
        "frames": totals["frames_analyzed"],
        "frames_decoded": totals["frames_decoded"],
        "chunks": totals["chunks"],
        "unique": {name: stats["unique"] for name, stats in summary["classes"].items()},
        "orchestration_s": totals["wall_s"],
        "chunk_time_s": totals["chunk_time_s"],
    }


def variants(ctx: Context) -> dict[str, Any]:
    """Name -> a function running the variant once; the .onnx and fixed-camera variants only outside --quick.

    A name with `_onnx` runs the ONNX export, one ending in `_fixed` tracks without camera-motion compensation
    (TRACKER_GMC=none, and `gmc_method: none` for its baseline); each is compared with the baseline of the same model
    file. The other runners run with the product's defaults (TRACKER_GMC=auto) and their baselines with
    Ultralytics', as each user would run them.
    """
    stride = round(ctx.truth()["fps"] / ctx.sample_fps)
    found = {
        "baseline": lambda: _baseline_once(ctx, ctx.model_pt, stride, None),
        "baseline_bytetrack": lambda: _baseline_once(ctx, ctx.model_pt, stride, "bytetrack.yaml"),
        "runner_1": lambda: _runner_once(ctx, ctx.model_pt, 1, "runner_1"),
        f"runner_{ctx.cores}": lambda: _runner_once(ctx, ctx.model_pt, ctx.cores, f"runner_{ctx.cores}"),
    }
    if not ctx.quick:
        found["baseline_onnx"] = lambda: _baseline_once(ctx, ctx.model_onnx, stride, None)
        found[f"runner_{ctx.cores}_onnx"] = lambda: _runner_once(
            ctx, ctx.model_onnx, ctx.cores, f"runner_{ctx.cores}_onnx"
        )
        found["baseline_onnx_fixed"] = lambda: _baseline_once(ctx, ctx.model_onnx, stride, None, fixed_camera=True)
        found[f"runner_{ctx.cores}_onnx_fixed"] = lambda: _runner_once(
            ctx, ctx.model_onnx, ctx.cores, f"runner_{ctx.cores}_onnx_fixed", fixed_camera=True
        )
    return found


def baseline_of(name: str) -> str:
    """The baseline with the same model file and tracker settings as variant `name`."""
    return "baseline" + ("_onnx" if "_onnx" in name else "") + ("_fixed" if name.endswith("_fixed") else "")


def run(ctx: Context) -> dict[str, Any]:
    truth = ctx.truth()
    seconds = truth["duration_ms"] / 1000
    walls: dict[str, list[float]] = defaultdict(list)
    outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    todo = variants(ctx)
    for _ in range(ctx.repeats):
        for name, once in todo.items():
            wall, output = once()
            walls[name].append(wall)
            outputs[name].append(output)
    rows = {}
    for name in todo:
        wall = median(walls[name])
        last = outputs[name][-1]
        rows[name] = {
            "wall_s": walls[name],
            "median_s": wall,
            "video_s_per_s": seconds / wall,
            "frames": last["frames"],
            "frames_per_s": last["frames"] / wall,
            "baseline": baseline_of(name),
            "ratio_to_baseline": median(walls[baseline_of(name)]) / wall,
            "unique": last["unique"],
            "counts_stable": all(output["unique"] == last["unique"] for output in outputs[name]),
            **{key: value for key, value in last.items() if key not in ("frames", "unique")},
        }
    return {"video_s": seconds, "truth": truth["unique"], "workers": ctx.cores, "rows": rows}
