"""Progress bars for the local runner, fed by the orchestrator's custom status and finished activities."""

from __future__ import annotations

import sys
from typing import Any

from tqdm import tqdm

from videoanalysis.contracts import ChunkOutcome, Progress


class ProgressBars:
    """Two bars: chunks (from custom status) and analysed frames (from each finished chunk)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.chunks: tqdm | None = None
        self.frames: tqdm | None = None

    def __enter__(self) -> ProgressBars:
        if self.enabled:
            self.chunks = tqdm(desc="chunks", unit="chunk", position=0, leave=True)
            self.frames = tqdm(desc="frames", unit="frame", position=1, leave=True)
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in (self.frames, self.chunks):
            if bar is not None:
                bar.close()

    def status(self, status: dict[str, Any]) -> None:
        if self.chunks is not None:
            progress = Progress.from_dict(status)
            self.chunks.set_postfix_str(progress.stage)
            self.chunks.total = progress.chunks_total
            self.chunks.refresh()

    def result(self, activity: str, result: Any) -> None:
        if activity != "analyze_chunk" or self.chunks is None or self.frames is None:
            return
        self.chunks.update(1)
        self.frames.update(ChunkOutcome.from_dict(result).frames_analyzed)


class BatchProgress:
    """A batch's progress: a line per finished video on stdout, and on a terminal two bars, videos and chunks (the
    chunks of the videos started so far, from each orchestration's custom status)."""

    def __init__(self, videos: int, enabled: bool = True) -> None:
        self.enabled = enabled and sys.stderr.isatty()
        self.total = videos
        self.videos: tqdm | None = None
        self.chunks: tqdm | None = None
        self._planned: dict[str, int] = {}

    def __enter__(self) -> BatchProgress:
        if self.enabled:
            self.videos = tqdm(desc="videos", unit="video", total=self.total, position=0, leave=True)
            self.chunks = tqdm(desc="chunks", unit="chunk", position=1, leave=True)
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in (self.chunks, self.videos):
            if bar is not None:
                bar.close()

    def status(self, video: str, status: dict[str, Any]) -> None:
        self._planned[video] = Progress.from_dict(status).chunks_total
        if self.chunks is not None:
            self.chunks.total = sum(self._planned.values())
            self.chunks.refresh()

    def result(self, activity: str, _result: Any) -> None:
        if activity == "analyze_chunk" and self.chunks is not None:
            self.chunks.update(1)

    def video_done(self, line: str) -> None:
        if self.videos is not None:
            self.videos.write(line, file=sys.stdout)
            self.videos.update(1)
        else:
            print(line, flush=True)
