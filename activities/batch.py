"""The batch's storage activities: list a page of its videos, and write its table once every video has a row.

Starting and polling analyses need the durable client, which only an entry point may hold: those two activities are
in `triggers.batch_client`.
"""

from __future__ import annotations

import json
from typing import Any

from videoanalysis.batch_run import BatchRef, BatchSpec, Counts, merge_rows, write_results
from videoanalysis.contracts import StorageSpec
from videoanalysis.listing import list_page
from videoanalysis.storage import blob_service_from_env, open_storage

STORAGE = StorageSpec(kind="azure")
"""The app's own storage account: a batch's spec, rows and table are small blobs (no video is read here)."""


def list_videos(payload: dict[str, Any]) -> dict[str, Any]:
    """One page of the listing; the names it refuses are failed rows of this generation."""
    batch = BatchRef.from_dict(payload["batch"])
    storage = open_storage(STORAGE)
    spec = BatchSpec.from_dict(json.loads(storage.read_bytes(batch.spec)))
    page, refused = list_page(
        blob_service_from_env(),
        spec,
        payload.get("continuation"),
        int(payload["first_index"]),
        int(payload["page_size"]),
    )
    merge_rows(storage, batch.rows(int(payload["generation"])), refused)
    return page.to_dict()


def write_batch(payload: dict[str, Any]) -> dict[str, Any]:
    """The table of every row the batch's generations wrote: `batches/{id}.json`, `.csv` and `.html`."""
    batch = BatchRef.from_dict(payload["batch"])
    outcome = write_results(
        open_storage(STORAGE), batch, int(payload["generations"]), Counts.from_dict(payload["counts"])
    )
    return outcome.to_dict()
