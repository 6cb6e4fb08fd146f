"""Targets and the markdown report of one benchmark run (the JSON file holds every number; this is for reading)."""

from __future__ import annotations

from typing import Any

THROUGHPUT_RATIO = 3.0
CEILING_SHARE = 0.85
COLD_START_S = 1.5
REPLAY_1000_CPU_S = 1.0
LINEAR_TOLERANCE = 0.15  # history size per chunk may drift this much and still count as linear growth
CPU_BACKEND = "onnx"  # BACKEND=auto runs an .onnx export on ONNX Runtime (docs/decisions/2026-11-25-onnx-runtime.md)


def _count_error(unique: dict[str, int], truth: dict[str, int]) -> int:
    return sum(abs(unique.get(name, 0) - count) for name, count in truth.items())


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Each target with what was measured and whether it is met (None when its section did not run)."""
    found: list[dict[str, Any]] = []
    if throughput := results.get("throughput"):
        rows, truth = throughput["rows"], throughput["truth"]
        errors = {name: _count_error(row["unique"], truth) for name, row in rows.items()}
        ours = [name for name in rows if name.startswith(f"runner_{throughput['workers']}")]
        ratios = "; ".join(f"{name} {rows[name]['ratio_to_baseline']:.2f}x {rows[name]['baseline']}" for name in ours)
        found.append(
            {
                "target": f"runner (all cores) >= {THROUGHPUT_RATIO:g}x baseline, counts as close to truth",
                "measured": f"{ratios}; total count error {errors}",
                "met": all(
                    rows[name]["ratio_to_baseline"] >= THROUGHPUT_RATIO
                    and errors[name] <= errors[rows[name]["baseline"]]
                    for name in ours
                ),
            }
        )
    if ceiling := results.get("ceiling"):
        found.append(
            {
                "target": f">= {CEILING_SHARE:.0%} of ceiling",
                "measured": f"{ceiling['runner']} {ceiling['share_of_ceiling']:.0%} (fastest backend "
                f"{ceiling['fastest_backend']}); {ceiling['share_of_ceiling_own']:.0%} of the ceiling with its own "
                f"backend ({ceiling['runner_backend']})",
                "met": ceiling["share_of_ceiling"] >= CEILING_SHARE,
            }
        )
    if cold := results.get("cold_start"):
        medians = cold["medians"]
        cpu, pt, chunk = medians[CPU_BACKEND], medians["pt"], medians[cold["activity_row"]]
        found.append(
            {
                "target": f"a worker's first analysed frame <= {COLD_START_S:g} s (default CPU backend: {CPU_BACKEND} "
                "on ONNX Runtime; chunks do not track, the summarize activity does)",
                "measured": f"{chunk['first_track_s']:.2f} s in an activity's chunk; one step after another, "
                f"{cpu['total_s']:.2f} s to the first detection and {cpu['first_track_s']:.2f} s to the first "
                f"tracked frame (the summarize worker's); with a .pt model {pt['total_s']:.2f} s / "
                f"{pt['first_track_s']:.2f} s",
                "met": chunk["first_track_s"] <= COLD_START_S,
            }
        )
    if replay := results.get("replay"):
        rows = {row["chunks"]: row for row in replay["rows"]}
        last = replay["rows"][-1]
        linear = abs(last["history_growth_vs_linear"] - 1) <= LINEAR_TOLERANCE
        if 1000 in rows:
            cpu = rows[1000]["replay_once_cpu_s"]
            found.append(
                {
                    "target": f"replay of 1,000 chunks < {REPLAY_1000_CPU_S:g} s CPU, linear history growth",
                    "measured": f"{cpu:.3f} s; history x{last['history_growth_vs_linear']:.2f} of linear "
                    f"at {last['chunks']} chunks",
                    "met": cpu < REPLAY_1000_CPU_S and linear,
                }
            )
    return found


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        if isinstance(value, float):
            return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
        return str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows] + [""]


def _throughput(section: dict[str, Any]) -> list[str]:
    classes = sorted(section["truth"])
    rows = [
        [
            name,
            row["median_s"],
            " / ".join(f"{wall:.1f}" for wall in row["wall_s"]),
            row["video_s_per_s"],
            row["frames"],
            row["frames_per_s"],
            f"{row['ratio_to_baseline']:.2f}x",
            *[row["unique"].get(name, 0) for name in classes],
        ]
        for name, row in section["rows"].items()
    ]
    rows.append(["ground truth", "", "", "", "", "", "", *[section["truth"][name] for name in classes]])
    header = ["variant", "wall s (median)", "runs", "video-s/s", "frames", "frames/s", "vs its baseline", *classes]
    lines = [f"## Throughput ({section['video_s']:g} s video)", "", *_table(header, rows)]
    detail = [
        [
            name,
            row["chunks"],
            row["frames_decoded"],
            row["orchestration_s"],
            *[row["chunk_time_s"][key] for key in ("decode_s", "infer_s", "track_s", "total_s")],
        ]
        for name, row in section["rows"].items()
        if "chunks" in row
    ]
    header = ["runner", "chunks", "frames decoded", "orchestration s", "decode s", "infer s", "track s", "chunks s"]
    return [*lines, "Runner internals (last run; chunk times summed over workers):", "", *_table(header, detail)]


def _ceiling(section: dict[str, Any]) -> list[str]:
    decode = [
        [name, row["grabbed"], row["retrieved"], row["wall_s"], row["cpu_s"]] for name, row in section["decode"].items()
    ]
    infer = [[kind, row["frames"], row["wall_s"], row["cpu_s"]] for kind, row in section["inference"].items()]
    return [
        "## Ceiling",
        "",
        *_table(["decode", "grabbed", "retrieved", "wall s", "CPU s"], decode),
        *_table(["inference (1 thread, warm, batched)", "frames", "wall s", "CPU s"], infer),
        f"ceiling = ({section['decode_cpu_s']:.2f} s decode + {section['fastest_backend']} inference) / cores "
        f"= **{section['ceiling_s']:.2f} s** (with {section['runner_backend']}: {section['ceiling_own_s']:.2f} s); "
        f"{section['runner']} wall {section['runner_wall_s']:.2f} s -> **{section['share_of_ceiling']:.0%}** of the "
        f"ceiling ({section['share_of_ceiling_own']:.0%} of the {section['runner_backend']} ceiling). "
        f"Baseline wall {section['baseline_wall_s']:.2f} s: "
        f"even at 100% of the ceiling a runner would be at most **{section['best_ratio_to_baseline']:.2f}x** "
        "the baseline here.",
        "",
    ]


def _backends(section: dict[str, Any]) -> list[str]:
    rows = [
        [r["backend"], r["threads"], r["imgsz"], r["batch"], r["ms_per_frame"], r["fps"], r["detections"]]
        for r in section["rows"]
    ]
    fps = section["fps_runner_setup"]
    setup = ", ".join(f"{kind} {value:.0f} ({value / fps['pt']:.2f}x pt)" for kind, value in fps.items())
    return [
        "## Backends",
        "",
        *_table(["backend", "threads", "imgsz", "batch", "ms/frame", "frames/s", "detections"], rows),
        f"OpenVINO: {section['openvino']}. Frames/s in the runner's setup (1 thread, the run's imgsz and batch): "
        f"{setup}; fastest of the product's backends **{section['fastest_product']}**, overall "
        f"**{section['fastest']}**.",
        "",
    ]


def _cold_start(section: dict[str, Any]) -> list[str]:
    rows = [
        [
            name,
            m.get("total_s", ""),
            m.get("import_s", ""),
            m.get("load_s", ""),
            m.get("first_inference_s", ""),
            m.get("first_track_s", ""),
        ]
        for name, m in section["medians"].items()
    ]
    imports = [[row["package"], row["self_s"]] for row in section["function_app_imports"]]
    loaded = ", ".join(
        f"{kind}: {'+'.join(name for name, yes in modules.items() if yes) or 'no torch'}"
        for kind, modules in section["loaded_modules"].items()
    )
    return [
        f"## Cold start (median of {section['repeats']}, {section['threads']} threads)",
        "",
        *_table(["process", "first detection s", "imports s", "load s", "first inference s", "first track s"], rows),
        f"Loaded by the first detection: {loaded}.",
        "",
        "`import function_app` by package (import self time summed, python -X importtime):",
        "",
        *_table(["package", "s"], imports),
    ]


def _footprint(section: dict[str, Any]) -> list[str]:
    rows = [
        [
            label,
            path["distributions"],
            path["mib"],
            ", ".join(f"{n} {s:.0f}" for n, s in list(path["largest"].items())[:6]),
        ]
        for label, path in section["paths"].items()
    ]
    return [
        "## Deployment footprint (installed MiB)",
        "",
        *_table(["path", "distributions", "MiB", "largest (MiB)"], rows),
        f"Whole venv: {section['venv_site_packages_mib']:.0f} MiB. "
        f"Ultralytics' trackers (importing ByteTrack) with torch unavailable: `{section['bytetrack_without_torch']}`.",
        "",
    ]


def _replay(section: dict[str, Any]) -> list[str]:
    rows = [
        [
            r["chunks"],
            r["history_events"],
            r["history_bytes"],
            r["bytes_per_chunk"],
            r["replay_once_cpu_s"],
            r.get("replay_once_exponent", ""),
            r["episodes"],
            r["run_replay_cpu_s"],
            r.get("run_replay_exponent", ""),
        ]
        for r in section["rows"]
    ]
    header = ["chunks", "events", "history B", "B/chunk", "1 replay CPU s", "exp.", "episodes", "run CPU s", "exp."]
    shares = [[label, f"{share:.0%}"] for label, share in section["profile"].items()]
    return [
        f"## Orchestration replay ({section['per_episode']} completions per episode)",
        "",
        *_table(header, rows),
        "exp.: growth exponent since the previous size (1 = linear, 2 = quadratic).",
        "",
        f"One replay of {section['profile_chunks']} chunks, cumulative share (cProfile):",
        "",
        *_table(["where", "share"], shares),
    ]


def _profile(section: dict[str, Any]) -> list[str]:
    if "skipped" in section:
        return ["## Profile", "", f"skipped: {section['skipped']}", ""]
    rows = [[name, f"{share:.1%}"] for name, share in section["shares"].items()]
    return [
        f"## Profile of the runner, all cores (py-spy, {section['cpu_s']:.1f} CPU s sampled)",
        "",
        *_table(["category", "share"], rows),
    ]


def _decode(section: dict[str, Any]) -> list[str]:
    from bench.decode import render_section

    return render_section(section)


def _batch(section: dict[str, Any]) -> list[str]:
    from bench.batch import render_section

    return render_section(section)


def _activity_threads(section: dict[str, Any]) -> list[str]:
    rows = [[name, row["wall_s"], row["cpu_s"]] for name, row in section["rows"].items()]
    return [
        f"## Concurrent activities in one worker process ({section['at_once']} chunks of 10 s at once, "
        f"{section['cores']} cores, {section['model']})",
        "",
        *_table(["threads", "wall s", "CPU s"], rows),
    ]


RENDERERS = {
    "throughput": _throughput,
    "ceiling": _ceiling,
    "backends": _backends,
    "cold_start": _cold_start,
    "footprint": _footprint,
    "replay": _replay,
    "profile": _profile,
    "decode": _decode,
    "activity_threads": _activity_threads,
    "batch": _batch,
}


def render(results: dict[str, Any]) -> str:
    ctx, machine = results["context"], results["machine"]
    lines = [
        f"# Benchmarks {results['generated']}" + (" (--quick)" if ctx["quick"] else ""),
        "",
        f"{machine['cpu']}, {ctx['cores']} cores; " + ", ".join(f"{k} {v}" for k, v in machine["versions"].items()),
        f"Load average before/after: {machine['load_before']} / {machine['load_after']}.",
        f"Model {ctx['model_pt']} / {ctx['model_onnx']}, imgsz {ctx['imgsz']}, conf {ctx['conf']}, "
        f"sample {ctx['sample_fps']:g} fps, batch {ctx['batch']}; scene {ctx['scene']}.",
        "",
    ]
    if results["targets"]:
        rows = [[t["target"], t["measured"], "met" if t["met"] else "**missed**"] for t in results["targets"]]
        lines += ["## Targets", "", *_table(["target", "measured", ""], rows)]
    for name, renderer in RENDERERS.items():
        if name in results:
            lines += renderer(results[name])
        if name == "footprint" and name in results and "cold_start" in results:
            cpu, pt = (results["cold_start"]["medians"][kind] for kind in (CPU_BACKEND, "pt"))
            lines += [
                f"Cold start of the ONNX Runtime backend, which needs no torch to detect: {cpu['total_s']:.2f} s to "
                f"the first detection, {cpu['first_track_s']:.2f} s to the first tracked frame (the Ultralytics "
                f"tracker imports torch); {pt['total_s']:.2f} s / {pt['first_track_s']:.2f} s with a .pt model.",
                "",
            ]
    return "\n".join(lines)
