"""Every blob name an analysis and a batch write (the artefacts' layout), in one place.

In RESULTS_CONTAINER, under an analysis's results prefix (`{video}/{instance}`; the local runner's
`<summary stem>.chunks` folder):

    job.json                    the job and the probed video, written by planning (chunk inputs only point at it)
    chunk-00001.json            a chunk's result
    chunk-00001.jsonl           its per-frame detections (`videoanalysis.detections_file`)
    chunk-00001.track-7.jpg     one of its crops, by crop id (`track-` from when the chunks tracked: summaries
                                already written name their thumbnails so)
    chunk-00000.frame.jpg       the frame the report draws the lines and zones over

In SUMMARY_CONTAINER:

    analyses/{instance}.json    an analysis's own summary, whatever is uploaded since (a batch reads it there)
    {video}.json                the video's latest summary, written while its version is the blob's current one
    <summary>.png, .html        beside each summary: its chart and its report
    batches/{id}/spec.json      what a batch asked for; batches/{id}/rows-00001.json, a generation's rows
    batches/{id}.json/.csv/.html  the batch's table

On the local runner's disk, beside each summary `<out>.json`: `<out>.png`, `<out>.html` and the `<out>.chunks/`
results folder; a batch's folder holds its table as `batch.csv`, `batch.json` and `index.html`
(`local_results`, `LOCAL_BATCH_TABLE`).

These names are a stored format: histories in flight, stored summaries and the results that a rerun reuses hold
them, so a change here needs a new name beside the old, never a rename.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from videoanalysis.contracts import BlobRef


def results(video: BlobRef, instance: str, container: str) -> BlobRef:
    """The prefix of one analysis's results: one folder per analysis of the video."""
    return BlobRef(container, f"{video.name}/{instance}")


def job_spec(results: BlobRef) -> BlobRef:
    return BlobRef(results.container, f"{results.name}/job.json")


def chunk(results: BlobRef, index: int, suffix: str) -> BlobRef:
    """A chunk's file: `json` its result, `jsonl` its detections, or a longer suffix for what else it writes."""
    return BlobRef(results.container, f"{results.name}/chunk-{index:05d}.{suffix}")


def thumbnail(results: BlobRef, index: int, crop_id: int) -> BlobRef:
    """One of a chunk's JPEG crops, beside that chunk's results."""
    return chunk(results, index, f"track-{crop_id}.jpg")


def frame(results: BlobRef) -> BlobRef:
    """A downscaled JPEG of chunk 0's first core frame."""
    return chunk(results, 0, "frame.jpg")


def own_summary(container: str, instance: str) -> BlobRef:
    return BlobRef(container, f"analyses/{instance}.json")


def latest_summary(container: str, video_name: str) -> BlobRef:
    return BlobRef(container, f"{video_name}.json")


def chart(summary: BlobRef) -> BlobRef:
    return _beside(summary, ".png")


def report(summary: BlobRef) -> BlobRef:
    return _beside(summary, ".html")


def batch_spec(container: str, batch_id: str) -> BlobRef:
    return BlobRef(container, f"batches/{batch_id}/spec.json")


def batch_rows(container: str, batch_id: str, generation: int) -> BlobRef:
    return BlobRef(container, f"batches/{batch_id}/rows-{generation:05d}.json")


def batch_table(container: str, batch_id: str, suffix: str) -> BlobRef:
    """The batch's table: `json`, `csv` or `html`."""
    return BlobRef(container, f"batches/{batch_id}.{suffix}")


def _beside(summary: BlobRef, suffix: str) -> BlobRef:
    return BlobRef(summary.container, str(PurePosixPath(summary.name).with_suffix(suffix)))


LOCAL_BATCH_JSON = "batch.json"
"""A local batch's rows with what each was made from: the table a rerun resumes from."""
LOCAL_BATCH_TABLE = ("batch.csv", LOCAL_BATCH_JSON, "index.html")
"""A local batch's table in its output folder: the CSV, the JSON and the index page."""


def local_results(summary: BlobRef) -> BlobRef:
    """The local runner's results prefix: a `<summary stem>.chunks` folder beside the summary."""
    return BlobRef(summary.container, str(PurePosixPath(summary.name).with_suffix(".chunks")))


def local_results_folder(summary: Path) -> Path:
    """`local_results` as a path on the runner's disk."""
    return summary.with_suffix(".chunks")
