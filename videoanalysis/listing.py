"""A batch's videos, one page at a time: the blobs under a prefix, or the names a request gave, with their ETags.

Only names and ETags are read (never properties beyond what a listing returns, never the bytes), a page of
`page_size` per call, so one call's time and result stay small whatever the container holds. Under a prefix, a
name without a video extension is not a video of the batch: it is counted as ignored (a container holds sidecar
files, thumbnails, notes). A name with a video extension that the app refuses (`names.name_problem`), and a given
name with no blob, each make a failed row with the reason, so the table says what happened to every video asked for.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from videoanalysis.batch import BatchRow
from videoanalysis.batch_run import BatchSpec, ListPage, VideoVersion
from videoanalysis.names import has_video_extension, video_name_problem
from videoanalysis.storage import StorageUnavailable

if TYPE_CHECKING:
    from azure.storage.blob import BlobServiceClient


def list_page(
    service: BlobServiceClient, spec: BatchSpec, continuation: str | None, first_index: int, page_size: int
) -> tuple[ListPage, dict[int, BatchRow]]:
    """The page after `continuation` (None: the first), its videos numbered from `first_index`, and the failed rows
    of the names it refused, by index."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    try:
        if spec.names is not None:
            return _names_page(service, spec, int(continuation or 0), first_index, page_size)
        return _prefix_page(service, spec, continuation, first_index, page_size)
    except (ServiceRequestError, ServiceResponseError) as error:
        raise StorageUnavailable(
            f"storage unreachable while listing {spec.container}: {type(error).__name__}"
        ) from None


def _prefix_page(
    service: BlobServiceClient, spec: BatchSpec, continuation: str | None, first_index: int, page_size: int
) -> tuple[ListPage, dict[int, BatchRow]]:
    container = service.get_container_client(spec.container)
    blobs = container.list_blobs(name_starts_with=spec.prefix or None, results_per_page=page_size)
    pages: Any = blobs.by_page(continuation_token=continuation)  # an ItemPaged's pager: it has the token
    listed = [(blob.name, str(blob.etag).strip('"')) for blob in next(pages, [])]
    return _page(spec, listed, pages.continuation_token or None, first_index, ignore_others=True)


def _names_page(
    service: BlobServiceClient, spec: BatchSpec, offset: int, first_index: int, page_size: int
) -> tuple[ListPage, dict[int, BatchRow]]:
    """The given names from `offset`; a name with no blob is listed with no ETag (a failed row)."""
    from azure.core.exceptions import ResourceNotFoundError

    given = spec.names or ()
    names = given[offset : offset + page_size]
    listed: list[tuple[str, str | None]] = []
    for name in names:
        try:
            properties = service.get_blob_client(spec.container, name).get_blob_properties()
        except ResourceNotFoundError:
            listed.append((name, None))
        else:
            listed.append((name, str(properties.etag).strip('"')))
    end = offset + len(names)
    return _page(spec, listed, str(end) if end < len(given) else None, first_index, ignore_others=False)


def _page(
    spec: BatchSpec,
    listed: Iterable[tuple[str, str | None]],
    continuation: str | None,
    first_index: int,
    ignore_others: bool,
) -> tuple[ListPage, dict[int, BatchRow]]:
    extensions = spec.settings.video_extensions
    videos: list[VideoVersion] = []
    refused: dict[int, BatchRow] = {}
    ignored = 0
    for name, etag in listed:
        if ignore_others and not has_video_extension(name, extensions):
            ignored += 1
            continue
        index = first_index + len(videos) + len(refused)
        if problem := video_name_problem(name, extensions):
            refused[index] = BatchRow.failed(name, problem)
        elif etag is None:
            refused[index] = BatchRow.failed(name, f"no blob {spec.container}/{name}")
        else:
            videos.append(VideoVersion(index, name, etag))
    return ListPage(tuple(videos), continuation, len(refused), ignored), refused
