"""Ceiling: the least time the analysis could take here, from decode-only and inference-only work spread over the cores.

ceiling_s = (CPU s to decode the video, converting only the sampled frames
             + CPU s of warm, batched, one-thread inference on the sampled frames with the fastest backend) / cores.
Tracking, the fan-in, chunk overlap and process start are left out on purpose: they are what the ceiling charges the
runner for. Our share of the ceiling is ceiling_s / wall seconds of the fastest all-cores runner variant (1.0 = no
overhead at all); the share of the ceiling with that runner's own backend (ONNX Runtime for the .onnx model, PyTorch
for the .pt) separates pipeline overhead from the choice of backend. Baseline wall / ceiling_s is the best ratio to
the (.pt) baseline that any runner could reach on this machine.
"""

from __future__ import annotations

from typing import Any

from bench.common import Context
from bench.engines import KINDS
from bench.extras import openvino_site
from bench.workers import decode_only, in_fresh_process, inference_only


def run(ctx: Context, runner: str, runner_wall_s: float, baseline_wall_s: float) -> dict[str, Any]:
    video = str(ctx.video)
    decode = {
        f"{mode}_{'1thread' if threads else 'default'}": in_fresh_process(decode_only, video, fps, threads)
        for mode, fps in (("grab_all", None), ("sampled", ctx.sample_fps))
        for threads in (1, 0)
    }
    site, _ = openvino_site()
    infer = {
        kind: in_fresh_process(
            inference_only,
            kind,
            str(ctx.model_for(kind)),
            video,
            ctx.sample_fps,
            ctx.conf,
            ctx.imgsz,
            ctx.batch,
            site,
        )
        for kind in KINDS
        if kind != "openvino-raw" or site
    }
    decode_cpu = min(row["cpu_s"] for name, row in decode.items() if name.startswith("sampled"))
    fastest = min(infer, key=lambda kind: infer[kind]["cpu_s"])
    ceiling = (decode_cpu + infer[fastest]["cpu_s"]) / ctx.cores
    own_backend = "onnx" if "_onnx" in runner else "pt"
    ceiling_own = (decode_cpu + infer[own_backend]["cpu_s"]) / ctx.cores
    return {
        "decode": decode,
        "inference": infer,
        "decode_cpu_s": decode_cpu,
        "fastest_backend": fastest,
        "ceiling_s": ceiling,
        "runner": runner,
        "runner_backend": own_backend,
        "ceiling_own_s": ceiling_own,
        "runner_wall_s": runner_wall_s,
        "share_of_ceiling": ceiling / runner_wall_s,
        "share_of_ceiling_own": ceiling_own / runner_wall_s,
        "baseline_wall_s": baseline_wall_s,
        "best_ratio_to_baseline": baseline_wall_s / ceiling,
    }
