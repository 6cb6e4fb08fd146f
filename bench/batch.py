"""Batch: one `videoanalysis analyze FOLDER` against one `videoanalysis analyze CLIP` per clip, as whole processes.

`python -m bench batch` (or `python -m bench.batch`). The clips are generated scenes of the benchmark's shape, with
seeds no evaluation uses. Each repetition runs both variants, in alternating order, from empty output folders (so no
chunk result is reused); the table gives the medians. The ceiling is the machine's decode and inference work for all
the clips spread over its cores (`bench.ceiling`'s definition, with the runner's own model), so the share of the
ceiling and the overhead per video left are those of the batch as a user runs it: start-up included.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from bench.common import TMP, Context, median, python
from bench.workers import decode_only, in_fresh_process, inference_only

CLIPS, CLIP_SECONDS = 20, 15.0
QUICK_CLIPS, QUICK_SECONDS = 4, 5.0
FIRST_SEED = 7100
"""Seeds 7100 and up: apart from training (10000+), the evaluation's tuning and held-out seeds (5000s, 6000s)."""


def clips(count: int, seconds: float) -> list[Path]:
    """The batch's clips, rendered once and cached under bench/results/tmp."""
    from scenes.generator import write_scene

    folder = TMP / f"batch-{count}x{seconds:g}s"
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / f"clip-{index:02d}.mp4" for index in range(count)]
    for index, path in enumerate(paths):
        if not path.is_file():
            partial = path.with_name(f".{path.name}")
            write_scene(partial, partial.with_suffix(".truth.json"), FIRST_SEED + index, seconds, codec="h264")
            partial.replace(path)
    return paths


def ceiling_cpu(videos: list[str], model: str, sample_fps: float, conf: float, imgsz: int, batch: int) -> list[float]:
    """CPU seconds to decode (converting the sampled frames only) and to infer on every sampled frame, all clips."""
    decode = sum(decode_only(video, sample_fps, 1)["cpu_s"] for video in videos)
    infer = sum(inference_only("onnx", model, video, sample_fps, conf, imgsz, batch, None)["cpu_s"] for video in videos)
    return [decode, infer]


def run(ctx: Context, out: Path | None = None) -> dict[str, Any]:
    count, seconds = (QUICK_CLIPS, QUICK_SECONDS) if ctx.quick else (CLIPS, CLIP_SECONDS)
    videos = clips(count, seconds)
    folder, results = videos[0].parent, TMP / "batch-out"
    model = ["--model", str(ctx.model_onnx), "--quiet"]
    batch_args = ["-m", "runner", "analyze", str(folder), "--out", str(results / "batch"), *model]

    def batch() -> float:
        return python(batch_args)[0]

    def separate() -> float:
        return sum(
            python(
                ["-m", "runner", "analyze", str(video), "--out", str(results / "one" / f"{video.stem}.json"), *model]
            )[0]
            for video in videos
        )

    walls: dict[str, list[float]] = {"batch": [], "separate": []}
    variants = {"batch": batch, "separate": separate}
    for repeat in range(ctx.repeats):
        for name in sorted(variants, reverse=bool(repeat % 2)):
            shutil.rmtree(results, ignore_errors=True)
            walls[name].append(variants[name]())
    decode_s, infer_s = in_fresh_process(
        ceiling_cpu, [str(v) for v in videos], str(ctx.model_onnx), ctx.sample_fps, ctx.conf, ctx.imgsz, ctx.batch
    )
    ceiling_s = (decode_s + infer_s) / ctx.cores
    batch_s, separate_s = median(walls["batch"]), median(walls["separate"])
    section = {
        "clips": count,
        "clip_seconds": seconds,
        "model": ctx.model_onnx.name,
        "cores": ctx.cores,
        "walls_s": walls,
        "batch_s": batch_s,
        "separate_s": separate_s,
        "speedup": separate_s / batch_s,
        "decode_cpu_s": decode_s,
        "infer_cpu_s": infer_s,
        "ceiling_s": ceiling_s,
        "share_of_ceiling": ceiling_s / batch_s,
        "overhead_per_video_s": (batch_s - ceiling_s) / count,
        "separate_overhead_per_video_s": (separate_s - ceiling_s) / count,
    }
    if out is not None:
        (out / "batch.json").write_text(json.dumps(section, indent=1) + "\n")
        (out / "batch.md").write_text("\n".join(render_section(section)) + "\n")
    return section


def render_section(section: dict[str, Any]) -> list[str]:
    rows = [
        ("one batch (`videoanalysis analyze FOLDER`)", section["batch_s"], section["overhead_per_video_s"]),
        ("a run per clip", section["separate_s"], section["separate_overhead_per_video_s"]),
    ]
    return [
        f"## Batch: {section['clips']} clips of {section['clip_seconds']:g} s, {section['model']}, "
        f"{section['cores']} cores (whole processes, medians)",
        "",
        "| variant | wall s | beyond the ceiling, per video s |",
        "|---|---|---|",
        *(f"| {name} | {wall:.1f} | {overhead:.2f} |" for name, wall, overhead in rows),
        "",
        f"The batch is **{section['speedup']:.2f}x** the runs per clip, at **{section['share_of_ceiling']:.0%}** of "
        f"the ceiling ({section['ceiling_s']:.1f} s: {section['decode_cpu_s']:.1f} CPU s of decoding and "
        f"{section['infer_cpu_s']:.1f} of inference over {section['cores']} cores).",
        "",
    ]


if __name__ == "__main__":
    from bench.__main__ import main

    sys.exit(main(["batch", *sys.argv[1:]]))
