"""Write the Settings page of the docs (docs/settings.md) from `Settings` and `CHOICES`, so it cannot drift.

    .venv/bin/python -m tools.settings_doc           # rewrite docs/settings.md
    .venv/bin/python -m tools.settings_doc --check   # exit 1 if the committed page is not what the code gives

Names, defaults and allowed values come from the code; what each setting means is written here, one entry per
`Settings` field (tests/test_docs.py fails when a field has no entry, or an entry no field).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import fields
from pathlib import Path

from videoanalysis.regions import Regions
from videoanalysis.settings import CHOICES, Settings

PAGE = Path(__file__).resolve().parent.parent / "docs" / "settings.md"

HOST_SETTINGS = {
    "AzureWebJobsStorage": (
        "the app's storage account: connection string, or identity-based "
        "(`AzureWebJobsStorage__accountName`, [Deploy](deploy.md)). Videos, results and "
        "summaries live in it"
    ),
}
"""Settings the Functions host and the storage clients read, not `Settings`: (meaning) by name."""

MEANINGS = {
    "model_path": (
        "the YOLO26 weights (`.pt`, `.onnx` or an export folder); `.onnx` runs on ONNX Runtime, the faster CPU backend"
    ),
    "chunk_seconds": ("chunk length (one activity per chunk)"),
    "max_chunks": ("longer chunks instead of more"),
    "sample_fps": (
        "frames analysed per second of video; `0` = every frame. An object that crosses the view in under about "
        "3 s (a fast car) moves more than its box's size between analysed frames at 5 and may never be tracked: "
        "on the two 3-minute tuning scenes that miss such cars, 10 took the error from 6 to 3 at 1.7 times the CPU "
        "(`bench/results/eval-shapes-tune-fps10-mixed-slow-fast-first2.md`), but on all 25 of them it was no "
        "better (41 against 39, `bench/results/eval-shapes-tune-tries.md`): raise it for fast traffic, not by default"
    ),
    "confidence": ("detection threshold"),
    "imgsz": ("inference size; `0` = the model's own"),
    "end2end": (
        "`true`: use YOLO26's NMS-free one-to-one head (Ultralytics `nms=False`) when a `.pt` model has "
        "one: no NMS and no torchvision import, about 1 s less cold start per worker. Off by default (as "
        "in Ultralytics) because the demo model's one-to-one head is less precise (0.91 vs 0.97); check "
        "your weights with it before turning it on. Exports keep the head they were exported with"
    ),
    "backend": (
        "what runs the model. `auto`: an `.onnx` file runs straight on ONNX Runtime (`onnxruntime`: "
        "letterbox and NMS on OpenCV, no torch, the same boxes as Ultralytics, about a second less cold "
        "start per worker); anything else (`.pt`, export folders) on Ultralytics' predictor "
        "(`ultralytics`, PyTorch for `.pt`). `ultralytics` also runs an `.onnx` through Ultralytics"
    ),
    "batch_size": ("frames per inference batch"),
    "classes": ("comma-separated class names to count"),
    "tracker": (
        "Ultralytics tracker of the fan-in's tracking pass: `tracktrack` (its default) or `bytetrack` "
        "(less accurate counts); either is given the camera's motion (`TRACKER_GMC`)"
    ),
    "tracker_gmc": (
        "camera-motion compensation: Ultralytics' sparse optical flow between each analysed frame and the"
        " one before, measured in the chunks (15 ms per analysed 720p frame, most of what tracking used "
        "to cost) and applied by the fan-in's tracker. `auto` measures it only on frames whose background"
        " moved (median Lucas-Kanade shift of a grid on a 320 px grey frame above 0.16% of the width "
        "since the analysed frame before, about 2 ms a 720p frame here), so a fixed camera costs nothing;"
        " `sparseOptFlow` every frame, `none` never ([decision](decisions/2026-11-30-gmc-auto.md))"
    ),
    "track_lost_seconds": (
        "how long the tracker keeps a lost track, in seconds of video at any `SAMPLE_FPS` (Ultralytics "
        "counts frames, tuned for 30 fps). 2 s was no more accurate on the tuning scenes. "
        "(`OVERLAP_SECONDS`, from when chunks tracked, is gone: a setting left in place is ignored)"
    ),
    "min_track_seconds": (
        "an object counts in `unique` only if tracked in at least this much video (in analysed frames: 7 "
        "at `SAMPLE_FPS=5`); drops the fragments that id switches in occlusions and brief false positives"
        " leave, which were most of the over-count on the evaluation's scenes. Chosen on the tuning "
        "scenes by `make eval` ([Counting](counting.md#accuracy), "
        "[decision](decisions/2026-12-01-fragment-rule.md)); an object seen for less than 1.4 s, counted "
        "from the first frame the tracker followed it in, is not counted (half of it where the video's "
        "start or end cuts the object short), so lower it for scenes where real objects pass that quickly"
        " (0 counts every confirmed track)"
    ),
    "link_gap_seconds": (
        "an object out of sight for up to this long (behind a pillar, a truck, another walker: longer "
        "than the tracker keeps a lost track) is found again: a track that begins within this long after "
        "another of the same class ended, where that one's motion carries it, continues the same object "
        "in `unique`, lines and zones; and a crossing between two tracks that stay apart is still counted"
        " ([Counting](counting.md#the-rules), [Lines and zones](lines-and-zones.md)). 0 turns both off"
    ),
    "chunk_retry_attempts": (
        "attempts per step before it counts as failed: a chunk (the summary is then `partial`), and "
        "planning and summarising (the orchestration then fails with the reason)"
    ),
    "chunk_retry_interval_seconds": (
        "wait before a retry (the durable Python SDK's `RetryOptions` has no backoff coefficient, so the "
        "interval is fixed)"
    ),
    "video_container": ("container the trigger watches and the API accepts. Read when the app starts"),
    "results_container": (
        "the job spec `{name}/{instance}/job.json` and per-chunk detections and results: "
        '`chunk-00001.jsonl`, one line per analysed frame of the chunk\'s core, `{"t_ms", "motion": 2x3 '
        'affine of the camera since the analysed frame before or null, "detections": [{"cls", "conf", '
        '"box": [x1, y1, x2, y2], "crop": the chunk\'s thumbnail id of its run or null}]}`, which the '
        "fan-in's tracker reads (+ `.json`, + `.track-{id}.jpg`)"
    ),
    "summary_container": ("`{name}.json` and the timeline chart `{name}.png`"),
    "video_extensions": ("blobs with other extensions are ignored (case-insensitive)"),
    "max_video_mb": ("larger videos end in a `failed` summary"),
    "max_pixels": (
        "videos with larger frames end in a `failed` summary, refused before a frame is decoded: a worker"
        " holds up to `BATCH_SIZE` frames, so memory per worker grows with the frame size (8 frames of 4K"
        " BGR are about 200 MB); 0 = no limit"
    ),
    "video_access": (
        "`cache`: each worker instance downloads a video once (by ETag) to its temp folder; `stream`: "
        "OpenCV reads a read-only SAS URL (user delegation SAS with a managed identity)"
    ),
    "video_cache_mb": (
        "with `VIDEO_ACCESS=cache`, the most video a worker instance keeps in its temp folder: the least "
        "recently used copies are deleted first (never one used in the last two minutes), and a video's "
        "copy is deleted once its analysis is summarised"
    ),
    "blob_trigger_source": (
        "how the blob trigger learns of uploads: polling (Core Tools, Azurite, "
        "Consumption/Premium/Dedicated) or `EventGrid` (required on Flex Consumption). Read when the app "
        "starts"
    ),
    "history_retention_days": (
        "the daily `purge_history` timer deletes the durable history of analyses that finished "
        "(Completed, Failed, Terminated) and were created more than this many days ago; `0` keeps it all."
        " Give the results container's lifecycle rule the same number ([Logs and "
        "housekeeping](operations.md#housekeeping))"
    ),
    "count_regions": (
        'lines and zones every analysis counts, JSON `{"lines": {name: [[x1, y1], [x2, y2]]}, "zones": '
        "{name: [[x, y], ...]}}` in frame pixels; checked when settings are read (a bad one stops the app"
        ' and the runner with the reason); `--line`/`--zone` and the `POST` body\'s `"lines"`/`"zones"` '
        "replace it for one analysis. See [Lines and zones](lines-and-zones.md)"
    ),
    "batch_max_in_flight": (
        "analyses a batch (`POST /api/batches`) keeps running at once ([Many videos](many-videos.md))"
    ),
    "batch_page_size": "videos a batch lists per page (one page per `continue_as_new`)",
    "batch_poll_seconds": "how often a batch looks at its analyses in flight",
}
"""What each `Settings` field means, by field name (markdown, one table cell)."""

INTRO = """# Settings

<!-- Generated by `python -m tools.settings_doc` from videoanalysis/settings.py: edit there or in tools/settings_doc.py,
not here. tests/test_docs.py fails when this page and the code differ. -->

App settings (Azure) or `local.settings.json` `Values` (local); all optional except the storage connection. Each
`Settings` field is the upper-case app setting of its name (`chunk_seconds` is `CHUNK_SECONDS`); an unset or empty
one keeps its default, and a bad value stops the app and the runner at start-up with the reason. Choices are
case-insensitive.
"""

OUTRO = """
The analysis settings travel in the orchestration input: a running analysis keeps the settings it started with.
`host.json` holds the host's knobs: `maxConcurrentActivityFunctions` (2: chunk activities per worker at once),
`maxConcurrentOrchestratorFunctions`, the task hub name, `functionTimeout` (30 min; a chunk must fit in it),
`maxQueuePollingInterval` (10 s: an idle app notices a new analysis within 10 s rather than 30 s, for a few more
storage transactions while idle).

The blob trigger gets an SDK `BlobClient` (package `azurefunctions-extensions-bindings-blob`, imported in
`triggers/blob_trigger.py`): the host sends the blob's identity, never its bytes. It needs Functions runtime 4.34+
and no app setting (`PYTHON_ENABLE_INIT_INDEXING` is for HTTP streaming, not for this).
"""


def default_text(value: object) -> str:
    """A default as the page shows it: as a user would type it."""
    if isinstance(value, Regions):
        return f"`{json.dumps(value.to_dict())}`" if value.lines or value.zones else "(none)"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return f"`{','.join(value)}`" if value else "(all)"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def allowed_text(name: str, value: object) -> str:
    """The values a setting takes: its choices, else its type."""
    if name in CHOICES:
        return ", ".join(f"`{choice}`" for choice in CHOICES[name])
    if isinstance(value, Regions):
        return "JSON"
    if isinstance(value, bool):
        return "`true`, `false`"
    if isinstance(value, tuple):
        return "comma-separated list"
    return {int: "integer", float: "number"}.get(type(value), "text")


def render() -> str:
    """The whole page."""
    rows = ["| setting | default | values | meaning |", "|---|---|---|---|"]
    rows += [f"| `{name}` | (required) | text | {meaning} |" for name, meaning in HOST_SETTINGS.items()]
    for field in fields(Settings):
        default = getattr(Settings, field.name)
        rows.append(
            f"| `{field.name.upper()}` | {default_text(default)} | {allowed_text(field.name, default)} "
            f"| {MEANINGS[field.name]} |"
        )
    return "\n".join([INTRO, *rows, OUTRO])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write docs/settings.md from Settings and CHOICES.")
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/settings.md is not up to date")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        if PAGE.read_text() != page:
            print(f"{PAGE} is out of date: run python -m tools.settings_doc", file=sys.stderr)
            return 1
        return 0
    PAGE.write_text(page)
    return 0


if __name__ == "__main__":
    sys.exit(main())
