"""Storage against a real Azurite: the azure-storage-blob round trip and our BlobStorage on top of it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from videoanalysis.contracts import BlobRef
from videoanalysis.storage import BlobStorage, StorageError


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
