"""Where videos come from and where results go: one interface, a local folder or Azure Blob Storage.

Activities only ever see `Storage`; the local runner hands them `LocalStorage`, the function app `BlobStorage`.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from stat import S_ISREG
from typing import TYPE_CHECKING, Protocol

from videoanalysis.contracts import BlobRef, StorageSpec

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient


class StorageUnavailable(Exception):
    """Storage could not be reached: transient, so it is raised for the durable retries (not a `StorageError`, which
    is final), with a message that names the blob and never the storage host."""


class StorageError(Exception):
    """A blob or file that should be there is not, or cannot be read."""


class VideoReplaced(StorageError):
    """The video no longer holds the version an analysis started with, and this reader has no copy of that version:
    final, since no retry brings the old bytes back (the new version gets its own analysis)."""

    def __init__(self, name: str, etag: str | None = None) -> None:
        version = f" (ETag {etag})" if etag else ""
        super().__init__(
            f"{name} was replaced during this analysis, which can no longer read the version it started with{version}"
        )


class Storage(Protocol):
    def video_source(self, ref: BlobRef, version: str | None = None) -> AbstractContextManager[str]:
        """A local path or URL that OpenCV's FFmpeg backend can open, valid inside the `with` block. With a `version`
        (an `etag`), everything read there is of that version, or `VideoReplaced` is raised, at the latest when the
        block ends."""

    def size(self, ref: BlobRef) -> int: ...

    def describe(self, ref: BlobRef) -> str:
        """How messages name `ref`: what the user knows it as, never a cache path or a URL with a token."""

    def etag(self, ref: BlobRef) -> str:
        """The version of what `ref` holds now; raises `StorageError` when it is gone."""

    def release(self, ref: BlobRef) -> None:
        """Forget any local copy of `ref`: the analysis that needed it is done."""

    def read_bytes(self, ref: BlobRef) -> bytes: ...

    def write_bytes(self, ref: BlobRef, data: bytes, content_type: str = "application/octet-stream") -> str:
        """Create or overwrite (activities are idempotent) and return where it went (path or URL)."""


class LocalStorage:
    """Containers are folders; used by the command-line runner and tests."""

    def __init__(self, containers: Mapping[str, str | Path]) -> None:
        self.containers = {name: Path(folder) for name, folder in containers.items()}

    def spec(self) -> StorageSpec:
        return StorageSpec(kind="local", containers={name: str(folder) for name, folder in self.containers.items()})

    def path(self, ref: BlobRef) -> Path:
        if ref.container not in self.containers:
            raise StorageError(f"unknown container {ref.container!r}")
        root = self.containers[ref.container].resolve()
        path = (root / ref.name).resolve()
        if root not in path.parents:
            raise StorageError(f"blob name {ref.name!r} escapes its container")
        return path

    @contextmanager
    def video_source(self, ref: BlobRef, version: str | None = None) -> Iterator[str]:
        path = self.path(ref)
        if not path.is_file():
            raise StorageError(f"video not found: {path}")
        with _unchanged(lambda: self.etag(ref), version, lambda: VideoReplaced(str(path))):
            yield str(path)

    def describe(self, ref: BlobRef) -> str:
        return str(self.path(ref))

    def release(self, ref: BlobRef) -> None:
        """Nothing to forget: local videos are read in place."""

    def etag(self, ref: BlobRef) -> str:
        try:
            stat = self.path(ref).stat()
        except FileNotFoundError as error:
            raise StorageError(f"not found: {self.path(ref)}") from error
        return f"{stat.st_size}-{stat.st_mtime_ns}"

    def size(self, ref: BlobRef) -> int:
        try:
            return self.path(ref).stat().st_size
        except FileNotFoundError as error:
            raise StorageError(f"not found: {self.path(ref)}") from error

    def read_bytes(self, ref: BlobRef) -> bytes:
        try:
            return self.path(ref).read_bytes()
        except FileNotFoundError as error:
            raise StorageError(f"not found: {self.path(ref)}") from error

    def write_bytes(self, ref: BlobRef, data: bytes, content_type: str = "application/octet-stream") -> str:
        path = self.path(ref)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)
        return str(path)


PARTIAL_SUFFIX = ".partial"


def partial_path(path: Path, pid: int) -> Path:
    """The temp file a process writes before renaming it to ``path``; named by pid, so a runner can remove those of
    workers it killed."""
    return path.with_name(f".{path.name}.{pid}{PARTIAL_SUFFIX}")


def write_atomically(path: Path, data: bytes) -> None:
    """Readers see the old file or the whole new one, never a torn write; a failed write (disk full, interrupted)
    removes its temp file and names ``path``, not the temp file, in its error."""
    partial = partial_path(path, os.getpid())
    try:
        with partial.open("wb") as file:
            file.write(data)
        partial.replace(path)
    except BaseException as error:
        partial.unlink(missing_ok=True)
        if isinstance(error, OSError) and error.errno is not None:
            raise OSError(error.errno, error.strerror, str(path)) from error
        raise


CACHE_GRACE_S = 120.0
"""A cached video used this recently is never evicted: a chunk of another process may be about to open it."""

STALE_PARTIAL_S = 3600.0
"""A download not written to for this long was abandoned (its worker was killed): the cache removes its file."""


class BlobStorage:
    """Azure Blob Storage (or Azurite) through azure-storage-blob.

    `access="cache"` downloads a video once per worker instance into a temp cache keyed by its ETag, so N chunk
    activities on one instance read one local copy; `access="stream"` hands OpenCV a short-lived read-only SAS URL
    that FFmpeg reads with HTTP range requests (no local disk, but every chunk re-reads over the network).
    The cache holds at most `cache_mb` (VIDEO_CACHE_MB): the least recently used copies go first, never one used
    in the last `CACHE_GRACE_S` (another process of the instance may be opening it), and `release` drops a video's
    copy once its analysis is summarised.
    """

    _download_lock = threading.Lock()

    def __init__(
        self,
        service: BlobServiceClient,
        access: str = "cache",
        cache_dir: str | Path | None = None,
        cache_mb: float = 8192.0,
        cache_grace_s: float = CACHE_GRACE_S,
    ) -> None:
        self.cache_bytes = int(cache_mb * 2**20)
        self.cache_grace_s = cache_grace_s
        self.service = service
        self.access = access
        self.cache_dir = Path(cache_dir or Path(tempfile.gettempdir()) / "videoanalysis-cache")

    @classmethod
    def from_env(
        cls, access: str = "cache", environ: Mapping[str, str] | None = None, cache_mb: float = 8192.0
    ) -> BlobStorage:
        return cls(blob_service_from_env(environ), access=access, cache_mb=cache_mb)

    def spec(self) -> StorageSpec:
        return StorageSpec(kind="azure", access=self.access, cache_mb=self.cache_bytes / 2**20)

    def _blob(self, ref: BlobRef):
        return self.service.get_blob_client(ref.container, ref.name)

    @staticmethod
    @contextmanager
    def _about(ref: BlobRef, doing: str) -> Iterator[None]:
        """Azure's errors said of the blob: not found is final, unreachable storage transient."""
        from azure.core.exceptions import ResourceNotFoundError, ServiceRequestError, ServiceResponseError

        try:
            yield
        except ResourceNotFoundError as error:
            raise StorageError(f"blob not found: {ref.container}/{ref.name}") from error
        except (ServiceRequestError, ServiceResponseError) as error:
            raise StorageUnavailable(f"storage unreachable while {doing} {ref.container}/{ref.name}") from error

    def _properties(self, ref: BlobRef):
        with self._about(ref, "reading"):
            return self._blob(ref).get_blob_properties()

    def describe(self, ref: BlobRef) -> str:
        return f"{ref.container}/{ref.name}"

    def size(self, ref: BlobRef) -> int:
        return int(self._properties(ref).size)

    def etag(self, ref: BlobRef) -> str:
        return str(self._properties(ref).etag).strip('"')

    @contextmanager
    def video_source(self, ref: BlobRef, version: str | None = None) -> Iterator[str]:
        """Streamed, the URL reads whatever the blob holds (FFmpeg sends no conditions), so the ETag is compared
        before and after the reads; cached, the copy is of `version` by construction."""
        if self.access == "stream":
            with _unchanged(lambda: self.etag(ref), version, lambda: VideoReplaced(self.describe(ref), version)):
                yield self.read_url(ref)
        else:
            yield str(self.cached_copy(ref, version))

    def cached_copy(self, ref: BlobRef, version: str | None = None) -> Path:
        """Local copy of the blob's `version` (default: its current one), downloaded at most once per process. A copy
        of that version already here is used even if the blob has changed since: its bytes are that version's."""
        etag = version or self.etag(ref)
        key = hashlib.sha256(etag.encode()).hexdigest()[:12]
        path = self.cache_dir / f"{self._cache_prefix(ref)}-{key}{Path(ref.name).suffix.lower()}"
        with self._download_lock:
            if path.exists():
                path.touch()  # recently used
            else:
                self.cache_dir.mkdir(parents=True, exist_ok=True)
                self._download(ref, etag, path)
            self._evict(keep=path)
        return path

    def _download(self, ref: BlobRef, etag: str, path: Path) -> None:
        """Every range is requested on the condition that the blob is still `etag` (a replaced blob is refused, not
        mixed in), and the copy is checked to be whole before it takes its name; a failed download leaves nothing."""
        from azure.core.exceptions import ResourceModifiedError

        partial = partial_path(path, os.getpid())
        try:
            with partial.open("wb") as file, self._about(ref, "downloading"):
                download = self._blob(ref).download_blob(etag=etag, match_condition=_if_match())
                written = download.readinto(file)
            if written != download.size:
                raise StorageError(f"download of {self.describe(ref)} ended after {written} of {download.size} bytes")
            partial.replace(path)
        except BaseException as error:
            partial.unlink(missing_ok=True)
            if isinstance(error, ResourceModifiedError):
                raise VideoReplaced(self.describe(ref), etag) from error
            raise

    def release(self, ref: BlobRef) -> None:
        """Drop this worker's cached copies of `ref` (any version): its analysis is done."""
        for path in self.cache_dir.glob(f"{self._cache_prefix(ref)}-*"):
            path.unlink(missing_ok=True)

    @staticmethod
    def _cache_prefix(ref: BlobRef) -> str:
        return hashlib.sha256(f"{ref.container}/{ref.name}".encode()).hexdigest()[:20]

    def _evict(self, keep: Path) -> None:
        """Least recently used copies first, until the cache fits `cache_bytes`. Downloads in progress count (they
        take the space), and those abandoned (`STALE_PARTIAL_S` without a write: their process died) are removed."""
        now = time.time()
        entries = _files(self.cache_dir)
        for path, stat in list(entries.items()):
            if path.name.endswith(PARTIAL_SUFFIX) and now - stat.st_mtime >= STALE_PARTIAL_S:
                path.unlink(missing_ok=True)
                del entries[path]
        total = sum(stat.st_size for stat in entries.values())
        copies = sorted((stat.st_mtime, stat.st_size, path) for path, stat in entries.items() if _is_copy(path))
        for used, size, path in copies:
            if total <= self.cache_bytes:
                break
            if path != keep and now - used >= self.cache_grace_s:
                path.unlink(missing_ok=True)
                total -= size

    def read_url(self, ref: BlobRef, lifetime: timedelta = timedelta(hours=2)) -> str:
        """A read-only SAS URL; a user delegation key when the app authenticates with an identity."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        blob = self._blob(ref)
        now = datetime.now(UTC)
        credential = self.service.credential
        account_key = getattr(credential, "account_key", None)
        delegation_key = None if account_key else self.service.get_user_delegation_key(now, now + lifetime)
        sas = generate_blob_sas(
            account_name=blob.account_name,
            container_name=ref.container,
            blob_name=ref.name,
            account_key=account_key,
            user_delegation_key=delegation_key,
            permission=BlobSasPermissions(read=True),
            start=now - timedelta(minutes=5),
            expiry=now + lifetime,
        )
        return f"{blob.url}?{sas}"

    def read_bytes(self, ref: BlobRef) -> bytes:
        with self._about(ref, "reading"):
            return self._blob(ref).download_blob().readall()

    def write_bytes(self, ref: BlobRef, data: bytes, content_type: str = "application/octet-stream") -> str:
        from azure.storage.blob import ContentSettings

        blob = self._blob(ref)
        with self._about(ref, "writing"):
            blob.upload_blob(data, overwrite=True, content_settings=ContentSettings(content_type=content_type))
        return blob.url


def _if_match():
    from azure.core import MatchConditions

    return MatchConditions.IfNotModified


def blob_service_from_env(environ: Mapping[str, str] | None = None) -> BlobServiceClient:
    """The storage account the Functions host uses: a connection string or identity-based settings."""
    from azure.storage.blob import BlobServiceClient

    environ = os.environ if environ is None else environ
    connection = environ.get("AzureWebJobsStorage", "").strip()
    if connection:
        return BlobServiceClient.from_connection_string(connection)
    service_uri = environ.get("AzureWebJobsStorage__blobServiceUri", "").strip()
    account = environ.get("AzureWebJobsStorage__accountName", "").strip()
    if not service_uri and account:
        service_uri = f"https://{account}.blob.core.windows.net"
    if not service_uri:
        raise StorageError(
            "no storage configured: set AzureWebJobsStorage (connection string) or "
            "AzureWebJobsStorage__accountName / AzureWebJobsStorage__blobServiceUri (managed identity)"
        )
    from azure.identity import DefaultAzureCredential

    client_id = environ.get("AzureWebJobsStorage__clientId") or None
    return BlobServiceClient(service_uri, credential=DefaultAzureCredential(managed_identity_client_id=client_id))


def open_storage(spec: StorageSpec) -> LocalStorage | BlobStorage:
    """The storage an orchestration was started with (no secrets travel: Azure reads its own settings)."""
    if spec.kind == "local":
        return LocalStorage(spec.containers)
    return BlobStorage.from_env(access=spec.access, cache_mb=spec.cache_mb)


def _files(folder: Path) -> dict[Path, os.stat_result]:
    """The files of `folder` with their stats, less those another process removed or renamed meanwhile."""
    found = {}
    for path in folder.iterdir():
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if S_ISREG(stat.st_mode):
            found[path] = stat
    return found


def _is_copy(path: Path) -> bool:
    """A cached video, not a download in progress (those are hidden `.partial` files)."""
    return not path.name.startswith(".")


@contextmanager
def _unchanged(etag: Callable[[], str], version: str | None, replaced: Callable[[], VideoReplaced]) -> Iterator[None]:
    """Reads inside the block are all of `version` when the source's ETag is that version before and after them: an
    ETag is never reused, so an unchanged one means no write came between. Otherwise `replaced()` is raised, also in
    place of what the block raised (torn reads of two versions can look like a damaged video)."""
    if version is None:
        yield
        return
    if etag() != version:
        raise replaced()
    try:
        yield
    except Exception as error:
        if etag() != version:
            raise replaced() from error
        raise
    if etag() != version:
        raise replaced()
