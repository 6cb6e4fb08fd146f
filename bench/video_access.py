"""`python -m bench.video_access` (under tools/with_azurite.sh): how chunk activities should read the video.

One job = plan (probe the video) + N chunk activities, each decoding its window [window_start, end) with the
app's FrameReader and sampling, no detector: this isolates the cost of access, which is what VIDEO_ACCESS chooses.

- stream: every access opens a read-only SAS URL with OpenCV/FFmpeg (HTTP range requests), seeks, decodes.
- cache:  the first access on a worker downloads the blob once (keyed by ETag); every access then reads the file.

Both run on one worker, in sequence, through `videoanalysis.storage.BlobStorage`. Azurite is on loopback, so the
network is nearly free here; the stream's URLs go through a counting proxy, so the report also says how many HTTP
requests and bytes streaming costs, from which its cost on a real network follows (requests x latency + bytes /
bandwidth), against cache's one download per worker instance. CPU seconds are reported beside wall seconds: the
machine may be shared, and CPU time is what contention leaves intact.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench.common import TMP, Context, ensure_scene, median, round_floats
from videoanalysis.chunking import Chunk, plan_chunks
from videoanalysis.contracts import BlobRef
from videoanalysis.storage import BlobStorage
from videoanalysis.video import FrameReader, probe

FORWARDED = ("Content-Type", "Content-Length", "Content-Range", "Accept-Ranges", "ETag", "Last-Modified")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.video_access", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="scene length (1280x720, 25 fps, H.264)")
    parser.add_argument("--chunk-seconds", type=float, default=10.0)
    parser.add_argument("--sample-fps", type=float, default=5.0)
    parser.add_argument("--repeats", type=int, default=3, help="jobs per mode; medians over them")
    parser.add_argument("--out", type=Path, help="also write the results as JSON here")
    return parser.parse_args(argv)


class CountingProxy:
    """Forwards GET/HEAD (Range included) to the storage endpoint and counts requests and body bytes sent."""

    def __init__(self, upstream: str) -> None:
        self.upstream = urlsplit(upstream).netloc
        self.requests = 0
        self.bytes = 0
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True

    def route(self, url: str) -> str:
        parts = urlsplit(url)
        return urlunsplit(parts._replace(netloc=f"127.0.0.1:{self.server.server_port}"))

    def take(self) -> tuple[int, int]:
        """(requests, bytes) since the last call."""
        with self._lock:
            counts, self.requests, self.bytes = (self.requests, self.bytes), 0, 0
        return counts

    def _count(self, requests: int, sent: int) -> None:
        with self._lock:
            self.requests += requests
            self.bytes += sent

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._forward()

            def do_HEAD(self) -> None:
                self._forward()

            def _forward(self) -> None:
                upstream = http.client.HTTPConnection(proxy.upstream, timeout=30)
                headers = {key: value for key, value in self.headers.items() if key.lower() in ("range", "user-agent")}
                upstream.request(self.command, self.path, headers=headers)
                response = upstream.getresponse()
                self.send_response(response.status)
                for key in FORWARDED:
                    if response.getheader(key) is not None:
                        self.send_header(key, response.getheader(key))
                self.send_header("Connection", "close")
                self.end_headers()
                sent = 0
                try:
                    while self.command == "GET" and (piece := response.read(1 << 16)):
                        self.wfile.write(piece)
                        sent += len(piece)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # FFmpeg hangs up once it has read what it needs (a seek, the end of a window)
                finally:
                    upstream.close()
                    proxy._count(1, sent)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler

    @contextmanager
    def running(self) -> Iterator[CountingProxy]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def read_chunk(source: str, chunk: Chunk, sample_fps: float) -> int:
    """Decode a chunk's window as analyze_chunk does (every frame grabbed, sampled ones converted)."""
    reader = FrameReader(source, chunk.window_start_ms, chunk.end_ms, sample_fps, owned_from_ms=chunk.start_ms)
    return sum(1 for _ in reader)


def run_job(
    storage: BlobStorage, video: BlobRef, chunks: list[Chunk], sample_fps: float, proxy: CountingProxy
) -> dict[str, Any]:
    """One job's access costs on one fresh worker: (download), probe, each chunk; wall and CPU seconds."""

    def source() -> str:  # what storage.video_source yields, streamed URLs routed through the proxy
        return proxy.route(storage.read_url(video)) if storage.access == "stream" else str(storage.cached_copy(video))

    proxy.take()
    job: dict[str, Any] = {"chunks_s": []}
    wall, cpu = time.perf_counter(), time.process_time()
    if storage.access == "cache":
        storage.cached_copy(video)
        job["download_s"] = time.perf_counter() - wall
    probe_start = time.perf_counter()
    probe(source())
    job["probe_s"] = time.perf_counter() - probe_start
    for chunk in chunks:
        chunk_start = time.perf_counter()
        read_chunk(source(), chunk, sample_fps)
        job["chunks_s"].append(time.perf_counter() - chunk_start)
    job["total_s"], job["cpu_s"] = time.perf_counter() - wall, time.process_time() - cpu
    job["requests"], job["bytes"] = proxy.take()
    return job


def summarize(jobs: list[dict[str, Any]], video_bytes: int) -> dict[str, Any]:
    chunk_times = [t for job in jobs for t in job["chunks_s"]]
    row = {
        "job_wall_s": median([job["total_s"] for job in jobs]),
        "job_cpu_s": median([job["cpu_s"] for job in jobs]),
        "probe_s": median([job["probe_s"] for job in jobs]),
        "chunk_s": median(chunk_times),
        "chunk_max_s": max(chunk_times),
    }
    if "download_s" in jobs[0]:
        row["download_s"] = median([job["download_s"] for job in jobs])
        row["http_requests_per_worker"] = 1
        row["mib_per_worker"] = video_bytes / 2**20
    else:
        row["http_requests_per_job"] = median([job["requests"] for job in jobs])
        row["mib_per_job"] = median([job["bytes"] for job in jobs]) / 2**20
    return row


def main(argv: list[str] | None = None) -> int:
    from azure.storage.blob import BlobServiceClient

    args = parse_args(argv)
    connection = os.environ.get("AZURITE_CONNECTION_STRING")
    if not connection:
        raise SystemExit("run it under tools/with_azurite.sh, which starts Azurite and sets AZURITE_CONNECTION_STRING")
    ctx = Context(model_pt=Path(), model_onnx=Path(), seconds=args.seconds)
    ensure_scene(ctx)
    info = probe(str(ctx.video))
    chunks = plan_chunks(info, args.chunk_seconds, sample_fps=args.sample_fps)
    size = ctx.video.stat().st_size
    service = BlobServiceClient.from_connection_string(connection)
    container = service.create_container(f"bench-{uuid.uuid4().hex[:12]}")
    results: dict[str, Any] = {
        "video": {
            "seconds": info.duration_s,
            "size": f"{info.width}x{info.height}",
            "fps": info.fps,
            "codec": info.codec,
            "mib": size / 2**20,
        },
        "chunks": len(chunks),
        "chunk_seconds": args.chunk_seconds,
        "sample_fps": args.sample_fps,
        "repeats": args.repeats,
        "load_before": os.getloadavg()[0],
    }
    try:
        video = BlobRef(container.container_name, ctx.video.name)
        with ctx.video.open("rb") as data:
            container.upload_blob(video.name, data)
        with CountingProxy(service.url).running() as proxy:
            for access in ("stream", "cache"):
                jobs = []
                for _ in range(args.repeats):
                    with tempfile.TemporaryDirectory(dir=TMP) as cache_dir:  # a fresh worker: empty cache
                        storage = BlobStorage(service, access, cache_dir)
                        jobs.append(run_job(storage, video, chunks, args.sample_fps, proxy))
                results[access] = summarize(jobs, size)
    finally:
        container.delete_container()
    results = round_floats(results, 3)
    print(json.dumps(results, indent=2))
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
