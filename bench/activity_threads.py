"""Concurrent activities in one worker process, as the Functions host runs them: every core each, or a share each.

The host runs up to `maxConcurrentActivityFunctions` (host.json: 2) activities at once as threads of one Python
worker process. Without a limit each decodes (FFmpeg) and infers (ONNX Runtime) with every core of the instance;
`function_app` now gives each `cores // maxConcurrentActivityFunctions` threads. Each variant runs in a fresh
process: two 10 s chunks of the benchmark scene analysed at once by `analyze_window` on two threads; wall time and
the process's CPU time, variants interleaved, medians.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bench.common import Context, median
from bench.workers import in_fresh_process

AT_ONCE = 2  # host.json's maxConcurrentActivityFunctions


def two_chunks_at_once(video: str, model: str, threads: int | None) -> dict[str, float]:
    """Analyse two 10 s chunks (with the analysed frame before each) on two threads of this process;
    `threads` None leaves every library at its default (all cores)."""
    from videoanalysis.analysis import analyze_window
    from videoanalysis.chunking import plan_chunks
    from videoanalysis.models import configure_threads, load_detection_model
    from videoanalysis.settings import Settings
    from videoanalysis.video import probe

    if threads is not None:
        configure_threads(threads)
    settings = Settings(model_path=model)
    info = probe(video)
    chunks = plan_chunks(info, settings.chunk_seconds, 500, settings.sample_fps)
    load_detection_model(model)  # a warm worker: the model is loaded, as after its first chunk
    wall, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(AT_ONCE) as pool:
        list(pool.map(lambda chunk: analyze_window(video, info, chunk, settings), _past_the_first(chunks)[:AT_ONCE]))
    return {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}


def _past_the_first(chunks: list[Any]) -> list[Any]:
    """Chunks after the first, whose windows seek as most chunks' do; all of them in a clip too short for that."""
    return chunks[1:] if len(chunks) > AT_ONCE else chunks


def run(ctx: Context) -> dict[str, Any]:
    variants = {"every core each": None, f"{max(1, ctx.cores // AT_ONCE)} thread(s) each": max(1, ctx.cores // AT_ONCE)}
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in variants}
    for _ in range(ctx.repeats):
        for name, threads in variants.items():
            runs[name].append(in_fresh_process(two_chunks_at_once, str(ctx.video), str(ctx.model_onnx), threads))
    return {
        "at_once": AT_ONCE,
        "cores": ctx.cores,
        "model": ctx.model_onnx.name,
        "rows": {
            name: {
                "wall_s": median([r["wall_s"] for r in measured]),
                "cpu_s": median([r["cpu_s"] for r in measured]),
                "runs": measured,
            }
            for name, measured in runs.items()
        },
    }
