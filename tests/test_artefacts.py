"""Every blob name, pinned: they are a stored format (histories in flight, summaries, results a rerun reuses)."""

from __future__ import annotations

from pathlib import Path

from videoanalysis import artefacts
from videoanalysis.batch_run import BatchRef
from videoanalysis.contracts import BlobRef

RESULTS = artefacts.results(BlobRef("videos", "cam/v.mp4"), "v.mp4-0123", "results")


def test_an_analysis_keeps_its_results_under_the_video_and_its_instance() -> None:
    assert RESULTS.name == "cam/v.mp4/v.mp4-0123" and RESULTS.container == "results"
    assert artefacts.job_spec(RESULTS) == BlobRef("results", "cam/v.mp4/v.mp4-0123/job.json")
    assert artefacts.chunk(RESULTS, 1, "json").name == "cam/v.mp4/v.mp4-0123/chunk-00001.json"
    assert artefacts.chunk(RESULTS, 12345, "jsonl").name == "cam/v.mp4/v.mp4-0123/chunk-12345.jsonl"


def test_a_thumbnail_and_the_regions_frame_lie_beside_their_chunk_results() -> None:
    assert artefacts.thumbnail(RESULTS, 3, 17).name == "cam/v.mp4/v.mp4-0123/chunk-00003.track-17.jpg"
    assert artefacts.thumbnail(RESULTS, 3, 17).name.startswith(artefacts.chunk(RESULTS, 3, "json").name[:-4])
    assert artefacts.frame(RESULTS) == BlobRef("results", "cam/v.mp4/v.mp4-0123/chunk-00000.frame.jpg")


def test_summaries_the_latest_one_and_what_lies_beside_them() -> None:
    own = artefacts.own_summary("summaries", "v.mp4-0123")
    latest = artefacts.latest_summary("summaries", "cam/v.mp4")
    assert (own, latest) == (BlobRef("summaries", "analyses/v.mp4-0123.json"), BlobRef("summaries", "cam/v.mp4.json"))
    assert [artefacts.chart(own).name, artefacts.report(own).name] == [
        "analyses/v.mp4-0123.png",
        "analyses/v.mp4-0123.html",
    ]
    assert (artefacts.chart(latest).name, artefacts.report(latest).name) == ("cam/v.mp4.png", "cam/v.mp4.html")


def test_a_batch_keeps_its_spec_rows_and_table_under_batches() -> None:
    batch = BatchRef("batch-0123", "summaries")
    assert batch.spec == BlobRef("summaries", "batches/batch-0123/spec.json")
    assert batch.rows(2) == BlobRef("summaries", "batches/batch-0123/rows-00002.json")
    assert [batch.result(suffix).name for suffix in ("json", "csv", "html")] == [
        "batches/batch-0123.json", "batches/batch-0123.csv", "batches/batch-0123.html"
    ]  # fmt: skip


def test_the_local_runner_keeps_chunk_results_beside_the_summary() -> None:
    assert artefacts.local_results(BlobRef("out", "S.json")) == BlobRef("out", "S.chunks")
    assert artefacts.local_results(BlobRef("out", "site-a/cam.mp4.json")) == BlobRef("out", "site-a/cam.mp4.chunks")
    assert artefacts.local_results_folder(Path("/r/cam.mp4.json")) == Path("/r/cam.mp4.chunks")
    assert artefacts.LOCAL_BATCH_TABLE == ("batch.csv", "batch.json", "index.html")
