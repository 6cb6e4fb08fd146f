"""`videoanalysis upload VIDEO`: put a video where the function app's blob trigger picks it up.

It prints the analysis id the app will use for this upload (the instance id is a hash of the blob and its ETag),
so the caller can poll `GET /api/analyses/{id}` at once, without waiting for the trigger.
"""

from __future__ import annotations

import argparse
import contextlib
import mimetypes
from pathlib import Path
from typing import Any

from videoanalysis.contracts import BlobRef
from videoanalysis.names import instance_id, video_name_problem
from videoanalysis.settings import Settings
from videoanalysis.storage import StorageError, blob_service_from_env

LOCAL_STORAGE = "UseDevelopmentStorage=true"


def register(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("upload", help="upload a video to VIDEO_CONTAINER to start its analysis")
    parser.add_argument("video", type=Path)
    parser.add_argument("--name", help="blob name (default: the file name); may contain '/'")
    parser.add_argument(
        "--connection-string",
        help="storage connection string (default: AzureWebJobsStorage or its identity settings, else Azurite)",
    )
    parser.add_argument("--container", help="default: VIDEO_CONTAINER")
    parser.set_defaults(func=upload_main)
    return parser


def upload_main(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    ref = BlobRef(args.container or settings.video_container, args.name or args.video.name)
    if not args.video.is_file():
        raise ValueError(f"no such video file: {args.video}")
    if problem := video_name_problem(ref.name, settings.video_extensions):
        raise ValueError(f"the app would not analyse this blob: {problem}")
    analysis = instance_id(ref, upload(args.video, ref, args.connection_string))
    print(f"uploaded {args.video} to {ref.container}/{ref.name}")
    print(f"analysis id: {analysis}")
    print(f"status:      GET /api/analyses/{analysis}")
    return 0


def upload(video: Path, ref: BlobRef, connection_string: str | None = None) -> str:
    """Upload (overwrite) and return the new ETag; creates the container on first use (a fresh Azurite)."""
    from azure.core.exceptions import ResourceExistsError
    from azure.storage.blob import BlobServiceClient, ContentSettings

    if connection_string:
        service = BlobServiceClient.from_connection_string(connection_string)
    else:
        try:
            service = blob_service_from_env()
        except StorageError:
            service = BlobServiceClient.from_connection_string(LOCAL_STORAGE)
    container = service.get_container_client(ref.container)
    with contextlib.suppress(ResourceExistsError):
        container.create_container()
    content_type = mimetypes.guess_type(ref.name)[0] or "application/octet-stream"
    with video.open("rb") as data:
        result = container.get_blob_client(ref.name).upload_blob(
            data, overwrite=True, max_concurrency=4, content_settings=ContentSettings(content_type)
        )
    return str(result["etag"]).strip('"')
