"""`videoanalysis analyze` over many videos: files and folders, one worker pool, one table of results.

Every video is analysed by the app's orchestrator, exactly as a single video is (`runner.cli.PoolRun.analyze`); the
batch only shares what a run of its own would pay for again (the interpreter, the workers and their models, the
tracker's import) and keeps one video more in flight than there are workers, so that the workers analyse the next
videos while this process summarises the last one; a video's chunks are sized for one worker (`PoolRun.spread`),
since the other videos keep the rest busy. After each video the batch's table (`batch.csv`, `batch.json`, `index.html`)
is written again, so an interrupted batch leaves a table that is true of every video it finished, and the next run
of the same command skips those (`reusable`).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import threading
from collections.abc import Iterable, Sequence
from concurrent.futures import CancelledError, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from runner.cli import PoolRun, UsageError, check_model, check_out, worker_pool
from videoanalysis import artefacts
from videoanalysis.artefacts import LOCAL_BATCH_JSON, LOCAL_BATCH_TABLE, local_results_folder
from videoanalysis.batch import BatchRow, BatchTable
from videoanalysis.contracts import BlobRef
from videoanalysis.names import has_video_extension
from videoanalysis.settings import Settings
from videoanalysis.storage import write_atomically

if TYPE_CHECKING:
    from runner.progress import BatchProgress


@dataclass(frozen=True)
class BatchVideo:
    """A video of the batch: its file, and its name in the table and the output folder (posix, relative)."""

    path: Path
    name: str

    def summary(self, out: Path) -> Path:
        return out / f"{self.name}.json"


def find_videos(paths: Sequence[Path], extensions: Iterable[str], out: Path) -> list[BatchVideo]:
    """The videos the command names: each file as given, each folder searched recursively for video extensions
    (those the blob trigger takes), named by their path relative to that folder. The output folder is never
    searched: its reports are not inputs. Two videos that would share a name are a usage error."""
    extensions = tuple(extensions)
    found: list[BatchVideo] = []
    for path in paths:
        if path.is_file():
            found.append(BatchVideo(path.resolve(), path.name))
        elif path.is_dir():
            root = path.resolve()
            files = sorted(p for p in root.rglob("*") if p.is_file() and has_video_extension(p.name, extensions))
            found += [
                BatchVideo(p, PurePosixPath(*p.relative_to(root).parts).as_posix())
                for p in files
                if not _within(p, out)
            ]
        else:
            raise UsageError(f"no such video file or folder: {path}")
    if not found:
        raise UsageError(f"no videos in {', '.join(map(str, paths))} (extensions: {', '.join(extensions)})")
    by_name: dict[str, BatchVideo] = {}
    for video in found:
        if (other := by_name.setdefault(video.name, video)) is not video and other.path != video.path:
            raise UsageError(f"two videos would both be named {video.name!r}: {other.path} and {video.path}")
    return list(by_name.values())


def _within(path: Path, folder: Path) -> bool:
    return folder == path or folder in path.parents


def content_digest(path: Path) -> str:
    """The SHA-256 of the file's bytes: the same content is the same bytes, whatever the file's name or time."""
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def settings_digest(settings: dict[str, Any], model: Path) -> str:
    """What a summary depends on besides the video: every setting and the model file's bytes."""
    text = json.dumps({"settings": settings, "model": content_digest(model)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def previous_rows(out: Path) -> dict[str, BatchRow]:
    """The rows a previous run of this batch wrote; none when there was none or its table cannot be read."""
    try:
        document = json.loads((out / LOCAL_BATCH_JSON).read_text())
        return {row.video: row for row in map(BatchRow.from_dict, document["rows"])}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def reusable(row: BatchRow | None, version: str, digest: str, out: Path) -> bool:
    """A previous row stands when it succeeded on the same content with the same settings and its summary is still
    there. A partial or failed video is analysed again: its completed chunks are reused, its failures retried
    (`--force` analyses every chunk again)."""
    return (
        row is not None
        and row.status == "succeeded"
        and (row.version, row.settings_digest) == (version, digest)
        and row.summary is not None
        and (out / row.summary).is_file()
    )


class BatchRun:
    """Analyses the videos of one batch on one pool and keeps the table on disk true of every finished video."""

    def __init__(
        self, videos: Sequence[BatchVideo], out: Path, settings: Settings, force: bool, auto_chunks: bool
    ) -> None:
        self.videos = videos
        self.out = out
        self.settings = settings
        self.force = force
        self.auto_chunks = auto_chunks
        self.digest = settings_digest(settings.to_dict(), Path(settings.model_path))
        self.previous = {} if force else previous_rows(out)
        self.rows: dict[str, BatchRow] = {}
        self._lock = threading.Lock()

    def run(self, run: PoolRun, progress: bool) -> BatchTable:
        from runner.progress import BatchProgress

        # Not `with` the executor: on Ctrl-C its exit would wait for videos whose chunks only the pool's shutdown, after
        # this, cancels.
        run.spread = 1
        videos = ThreadPoolExecutor(run.workers + 1, thread_name_prefix="video")
        try:
            with BatchProgress(len(self.videos), enabled=progress) as bars:
                futures = {videos.submit(self._analyze, run, video, bars): video for video in self.videos}
                for done, future in enumerate(as_completed(futures), 1):
                    video = futures[future]
                    row, reused = future.result()
                    with self._lock:
                        self.rows[video.name] = row
                        self._write_table()
                    bars.video_done(f"[{done}/{len(self.videos)}] {video.name}: {_line(row, reused)}")
        finally:
            videos.shutdown(wait=False, cancel_futures=True)
        return self.table()

    def table(self) -> BatchTable:
        return BatchTable(tuple(self.rows[v.name] for v in self.videos if v.name in self.rows))

    def _analyze(self, run: PoolRun, video: BatchVideo, bars: BatchProgress) -> tuple[BatchRow, bool]:
        """One video's row: reused from the previous run, from its summary, or failed with the one-line reason."""
        try:
            version = content_digest(video.path)
        except OSError as error:
            return BatchRow.failed(video.name, f"cannot read {video.path}: {error.strerror or error}"), False
        previous = self.previous.get(video.name)
        if previous is not None and reusable(previous, version, self.digest, self.out):
            return previous, True
        summary = video.summary(self.out)
        try:
            check_out(summary)
        except UsageError as error:
            return self._identified(BatchRow.failed(video.name, str(error)), version), False
        chunks = local_results_folder(summary)
        if self.force:  # every chunk analysed again, not only the summary made again from stored chunks
            shutil.rmtree(chunks, ignore_errors=True)
        run.scratch += [summary.parent, chunks]
        try:
            run.analyze(
                video.path, summary, self.settings, self.auto_chunks, partial(bars.status, video.name), bars.result
            )
            document = json.loads(summary.read_text())
        except (OSError, CancelledError):  # a full disk ends the batch; a cancelled call means it is stopping
            raise
        except Exception as error:  # this video's orchestration failed outright: its row says why, the batch goes on
            return self._identified(BatchRow.failed(video.name, f"{type(error).__name__}: {error}"), version), False
        relative = BlobRef(self.out.name, summary.relative_to(self.out).as_posix())
        row = BatchRow.from_summary(video.name, document, relative.name, artefacts.report(relative).name)
        return self._identified(row, version), False

    def _identified(self, row: BatchRow, version: str) -> BatchRow:
        return replace(row, version=version, settings_digest=self.digest)

    def _write_table(self) -> None:
        table = self.table()
        documents = (table.to_csv(), table.to_json(), table.to_html(f"Batch: {self.out.name or self.out}"))
        for name, text in zip(LOCAL_BATCH_TABLE, documents, strict=True):
            write_atomically(self.out / name, text.encode())


def _line(row: BatchRow, reused: bool) -> str:
    if reused:
        return f"{row.status} (unchanged since the last run)"
    counts = ", ".join(f"{name} {count}" for name, count in row.unique.items() if count) or "nothing counted"
    return f"{row.status}: {row.error}" if row.status == "failed" else f"{row.status} ({counts})"


def analyze_batch(
    paths: Sequence[Path],
    out: Path,
    settings: Settings,
    workers: int | None = None,
    progress: bool = True,
    force: bool = False,
    auto_chunks: bool = False,
) -> BatchTable:
    """Analyse every video the paths name into ``out``; returns the table (also written there)."""
    check_model(settings)
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: is a file; a batch writes a folder")
    videos = find_videos(paths, settings.video_extensions, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UsageError(f"--out {out}: {error.strerror or error}") from error
    check_out(out / LOCAL_BATCH_JSON)
    batch = BatchRun(videos, out, settings, force, auto_chunks)
    with worker_pool(settings, workers, [out], out / LOCAL_BATCH_JSON) as run:
        try:
            return batch.run(run, progress)
        except CancelledError:  # the pool was shut down under a video: the run is stopping
            raise KeyboardInterrupt from None
        finally:
            sys.stdout.flush()


def exit_code(table: BatchTable) -> int:
    """0 when every video succeeded, 1 when any is partial or failed."""
    return 0 if all(row.status == "succeeded" for row in table.rows) else 1


def table_lines(table: BatchTable, out: Path) -> list[str]:
    """The end of a batch run: its totals, statuses and where the table is."""
    statuses = ", ".join(f"{count} {status}" for status, count in table.status_counts().items() if count)
    totals = ", ".join(f"{name} {count}" for name, count in table.totals().items()) or "nothing counted"
    lines = [f"{len(table.rows)} videos: {statuses}", f"totals: {totals}"]
    return lines + [f"{name + ':':<11} {out / name}" for name in LOCAL_BATCH_TABLE]


def problem_lines(table: BatchTable) -> list[str]:
    """One line per video that did not succeed, for stderr."""
    failed = [row for row in table.rows if row.status != "succeeded"]
    return [f"error: {row.video}: {row.status}: {row.error or 'see its summary'}" for row in failed]
