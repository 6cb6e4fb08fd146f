"""Storage against a real Azurite: the azure-storage-blob round trip and our BlobStorage on top of it."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from videoanalysis.contracts import BlobRef
from videoanalysis.storage import BlobStorage, StorageError, VideoReplaced


def test_round_trip_upload_list_download_delete(container) -> None:
    container.upload_blob("clips/a b.mp4", b"\x00video bytes\xff")
    assert [blob.name for blob in container.list_blobs()] == ["clips/a b.mp4"]
    assert container.download_blob("clips/a b.mp4").readall() == b"\x00video bytes\xff"
    container.delete_blob("clips/a b.mp4")
    assert list(container.list_blobs()) == []


@pytest.mark.parametrize("access", ["cache", "stream"])
def test_blob_storage_serves_the_video_and_overwrites_results(blob_service, container, access, tmp_path: Path) -> None:
    storage = BlobStorage(blob_service, access=access, cache_dir=tmp_path)
    video = BlobRef(container.container_name, "café/video 1.mp4")
    storage.write_bytes(video, b"first")
    storage.write_bytes(video, b"second version")
    assert storage.read_bytes(video) == b"second version"
    assert storage.size(video) == len(b"second version")
    with storage.video_source(video) as source:
        if access == "cache":
            assert Path(source).read_bytes() == b"second version"
        else:
            from urllib.request import urlopen

            assert "sig=" in source and "sp=r" in source
            assert urlopen(source, timeout=10).read() == b"second version"


def test_cache_is_keyed_by_etag(blob_service, container, tmp_path: Path) -> None:
    storage = BlobStorage(blob_service, cache_dir=tmp_path)
    video = BlobRef(container.container_name, "v.mp4")
    storage.write_bytes(video, b"one")
    first = storage.cached_copy(video)
    assert storage.cached_copy(video) == first
    storage.write_bytes(video, b"two")
    second = storage.cached_copy(video)
    assert second != first and second.read_bytes() == b"two"


def test_missing_blob_is_a_storage_error(blob_service, container) -> None:
    storage = BlobStorage(blob_service)
    with pytest.raises(StorageError, match="not found"):
        storage.size(BlobRef(container.container_name, "nope.mp4"))


def test_the_video_cache_keeps_to_its_limit_and_forgets_a_released_video(blob_service, container, tmp_path) -> None:
    """Least recently used copies go first once over VIDEO_CACHE_MB; the copy in use stays; release drops it."""
    storage = BlobStorage(blob_service, cache_dir=tmp_path, cache_mb=2500 / 2**20, cache_grace_s=0.0)
    refs = [BlobRef(container.container_name, f"v{i}.mp4") for i in range(3)]
    for ref in refs:
        container.upload_blob(ref.name, b"x" * 1000)
    first = storage.cached_copy(refs[0])
    second = storage.cached_copy(refs[1])
    assert first.exists() and second.exists()
    os.utime(first, (1, 1))  # used long ago
    third = storage.cached_copy(refs[2])
    assert not first.exists() and second.exists() and third.exists()
    storage.release(refs[2])
    assert not third.exists() and second.exists()


def test_a_recently_used_copy_is_not_evicted(blob_service, container, tmp_path) -> None:
    """Another process of the instance may be about to open it."""
    storage = BlobStorage(blob_service, cache_dir=tmp_path, cache_mb=0.0)
    refs = [BlobRef(container.container_name, f"v{i}.mp4") for i in range(2)]
    for ref in refs:
        container.upload_blob(ref.name, b"x" * 1000)
    paths = [storage.cached_copy(ref) for ref in refs]
    assert all(path.exists() for path in paths)


def test_unreachable_storage_is_a_transient_error_that_names_the_blob_not_the_host() -> None:
    """A port nobody listens on (connections refused at once); no SDK retries, so the test is quick."""
    import socket

    from azure.storage.blob import BlobServiceClient

    from videoanalysis.storage import StorageUnavailable

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # free once closed: refused from then on
    account = "devstoreaccount1"
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
    connection = f"DefaultEndpointsProtocol=http;AccountName={account};AccountKey={key};BlobEndpoint=http://127.0.0.1:{port}/{account};"
    storage = BlobStorage(BlobServiceClient.from_connection_string(connection, retry_total=0))
    ref = BlobRef("videos", "clips/a.mp4")
    for call in (storage.size, storage.read_bytes, lambda r: storage.write_bytes(r, b"x")):
        with pytest.raises(StorageUnavailable) as caught:
            call(ref)
        assert "storage unreachable while" in str(caught.value) and "videos/clips/a.mp4" in str(caught.value)
        assert "127.0.0.1" not in str(caught.value) and str(port) not in str(caught.value)
        assert not isinstance(caught.value, StorageError), "transient: raised for the durable retries"


def test_a_copy_of_the_pinned_version_is_read_after_the_blob_is_replaced(blob_service, container, tmp_path) -> None:
    """The copy downloaded for a version is that version's bytes; a worker without one cannot read the version."""
    storage = BlobStorage(blob_service, cache_dir=tmp_path / "a")
    video = BlobRef(container.container_name, "v.mp4")
    storage.write_bytes(video, b"first version")
    version = storage.etag(video)
    first = storage.cached_copy(video, version)
    storage.write_bytes(video, b"second")
    assert storage.cached_copy(video, version) == first and first.read_bytes() == b"first version"
    other_instance = BlobStorage(blob_service, cache_dir=tmp_path / "b")
    with pytest.raises(VideoReplaced) as caught:
        other_instance.cached_copy(video, version)
    assert str(caught.value) == (
        f"{container.container_name}/v.mp4 was replaced during this analysis, "
        f"which can no longer read the version it started with (ETag {version})"
    )
    assert list((tmp_path / "b").iterdir()) == []


def test_a_blob_replaced_mid_download_leaves_no_partial_file_and_says_why(
    azurite_connection_string, container, tmp_path
) -> None:
    """Downloaded in 1 KiB ranges; the blob is overwritten once the first range has come back."""
    from azure.storage.blob import BlobServiceClient

    name = "v.mp4"
    container.upload_blob(name, b"a" * 8192)
    replaced: list[str] = []

    def replace_after_the_first_range(response) -> None:
        request = response.http_request
        if request.method == "GET" and request.url.split("?")[0].endswith(f"/{name}") and not replaced:
            replaced.append(str(container.get_blob_client(name).upload_blob(b"b" * 8192, overwrite=True)["etag"]))

    service = BlobServiceClient.from_connection_string(
        azurite_connection_string,
        max_single_get_size=1024,
        max_chunk_get_size=1024,
        raw_response_hook=replace_after_the_first_range,
    )
    storage = BlobStorage(service, cache_dir=tmp_path)
    with pytest.raises(VideoReplaced, match="was replaced during this analysis"):
        storage.cached_copy(BlobRef(container.container_name, name))
    assert replaced, "the blob was overwritten mid-download"
    assert list(tmp_path.iterdir()) == [], "no .partial file and no copy"


def test_a_stream_read_while_the_blob_is_replaced_fails_at_the_end_of_the_read(blob_service, container) -> None:
    """A URL cannot carry a condition through FFmpeg: the ETag checked after the reads says whether they were all of
    the version (an ETag is never reused, so an unchanged one means no write came between)."""
    from urllib.request import urlopen

    storage = BlobStorage(blob_service, access="stream")
    video = BlobRef(container.container_name, "v.mp4")
    storage.write_bytes(video, b"first")
    version = storage.etag(video)
    with storage.video_source(video, version) as url:
        assert urlopen(url, timeout=10).read() == b"first"
    with pytest.raises(VideoReplaced), storage.video_source(video, version) as url:
        urlopen(url, timeout=10).read()
        storage.write_bytes(video, b"second")
    with pytest.raises(VideoReplaced), storage.video_source(video, version):
        pass  # replaced before the read began


def test_the_cache_removes_a_day_old_partial_download_and_counts_a_live_one(blob_service, container, tmp_path) -> None:
    """A worker killed mid-download leaves its `.partial` behind; one still being written takes space all the same."""
    storage = BlobStorage(blob_service, cache_dir=tmp_path, cache_mb=2500 / 2**20, cache_grace_s=0.0)
    refs = [BlobRef(container.container_name, f"v{i}.mp4") for i in range(2)]
    for ref in refs:
        container.upload_blob(ref.name, b"x" * 1000)
    old = storage.cached_copy(refs[0])
    os.utime(old, (1, 1))
    abandoned = tmp_path / ".abandoned.mp4.4242.partial"
    abandoned.write_bytes(b"x" * 100_000)
    day_ago = time.time() - 86_400
    os.utime(abandoned, (day_ago, day_ago))
    live = tmp_path / ".downloading.mp4.4243.partial"
    live.write_bytes(b"x" * 1000)
    new = storage.cached_copy(refs[1])
    assert not abandoned.exists(), "a download nobody has written to for a day was abandoned"
    assert live.exists() and new.exists()
    assert not old.exists(), "1000 (live partial) + 1000 + 1000 is over 2500: the least recently used copy goes"
