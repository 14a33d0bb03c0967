"""Opening a stored cloud storage's bucket: credentials decrypted, the provider built through
the plugin that handles its type, and the bucket's status checked before a job reads it.

The media library (``core/media/cloud_source.py``) reads buckets it is handed; this service
module is what hands them over (to the ``create:task`` job, to ``MediaReader`` for a cloud
task's frames, and to ``content-v2`` and previews).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy.orm import Session

from cvatcore.core.cloud_types import build_provider
from cvatcore.core.errors import ApiError, NotFound
from cvatcore.core.media.cloud_source import Bucket
from cvatcore.core.media.sources import SourceError
from cvatcore.core.models import CloudStorage
from cvatcore.core.services.cloud_storages import stored_spec
from cvatcore.hooks import StorageStatus


def _message(exc: ApiError) -> str:
    detail = exc.detail
    if isinstance(detail, dict):
        return " ".join(str(m) for msgs in detail.values() for m in
                        (msgs if isinstance(msgs, list) else [msgs]))
    return str(detail)


def open_bucket(state: Any, storage: CloudStorage) -> Bucket:
    """A provider for the whole of ``storage``'s bucket (credentials decrypted here only)."""
    spec = stored_spec(state, storage)
    attrs = {k: v for k, v in spec.specific_attributes.items() if k != "prefix"}
    whole = build_provider(state, dataclasses.replace(spec, specific_attributes=attrs))
    return Bucket(whole, spec.specific_attributes.get("prefix", ""), storage.resource)


def reader_provider(state: Any, session: Session, data: Any) -> Any:
    """The provider a task's frames are read from (``MediaReader``); 404 when its cloud
    storage is gone."""
    storage = session.get(CloudStorage, data.cloud_storage_id) if data.cloud_storage_id else None
    if storage is None:
        raise NotFound("The task's cloud storage no longer exists; its frames cannot be read.")
    return open_bucket(state, storage).provider


def open_for_job(state: Any, storage_id: int) -> Bucket:
    """The bucket of cloud storage ``storage_id`` for a background job: a ``SourceError`` (the
    job fails with its message) when it is gone, refused or unreachable."""
    with state.db.unit_of_work(write=False) as session:
        storage = session.get(CloudStorage, storage_id)
        if storage is None:
            raise SourceError(f"The cloud storage {storage_id} no longer exists.")
        try:
            bucket = open_bucket(state, storage)
            # The status as configured (prefix and all): credentials may cover only the prefix.
            checker = build_provider(state, stored_spec(state, storage))
        except ApiError as exc:
            raise SourceError(f"The cloud storage {storage_id} cannot be used: "
                              f"{_message(exc)}") from None
    status = checker.status()
    if status == StorageStatus.FORBIDDEN:
        raise SourceError(f"Cannot access the {bucket.resource} cloud storage: access "
                          "forbidden. Check its credentials.")
    if status == StorageStatus.NOT_FOUND:
        raise SourceError(f"The {bucket.resource} cloud storage was not found. It may have "
                          "been deleted.")
    return bucket
