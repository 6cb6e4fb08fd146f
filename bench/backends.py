"""Backends: per-frame latency and frames/s of each engine at batch 1 and 8, imgsz 640, 480 and the run's own,
1 and all threads."""

from __future__ import annotations

from typing import Any

from bench.common import Context
from bench.engines import KINDS, PRODUCT_BACKENDS
from bench.extras import openvino_site
from bench.workers import backend_grid, in_fresh_process


def run(ctx: Context) -> dict[str, Any]:
    site, skipped = openvino_site()
    kinds = [kind for kind in KINDS if kind != "openvino-raw" or site]
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        model = str(ctx.model_for(kind))
        for threads in sorted({1, ctx.cores}):
            rows += in_fresh_process(
                backend_grid,
                kind,
                model,
                str(ctx.video),
                ctx.sample_fps,
                ctx.conf,
                threads,
                sorted({640, 480, ctx.imgsz}, reverse=True),
                [1, 8],
                8 if ctx.quick else 32,
                site,
            )
    openvino = "measured" if site else f"skipped: {skipped}"
    return {"rows": rows, "openvino": openvino, **recommend(ctx, rows)}


def recommend(ctx: Context, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Frames/s of each engine in the runner's own configuration (one thread per worker, the run's imgsz and batch)."""
    setup = [r for r in rows if r["threads"] == 1 and r["imgsz"] == ctx.imgsz and r["batch"] == ctx.batch]
    fps = {r["backend"]: r["fps"] for r in setup}
    return {
        "fps_runner_setup": fps,
        "fastest_product": max((k for k in fps if k in PRODUCT_BACKENDS), key=fps.__getitem__),
        "fastest": max(fps, key=fps.__getitem__),
    }
