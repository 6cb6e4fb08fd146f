"""Storage against a real Azurite: the azure-storage-blob round trip and our BlobStorage on top of it."""

from __future__ import annotations

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
