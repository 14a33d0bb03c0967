"""The fields of a finishing data request (CVAT's ``DataSerializer``), checked in the request
so that a bad value is a 400 naming the field, never a failed background job.

Values may come as JSON types or as form strings (multipart and urlencoded bodies).
"""

from __future__ import annotations

from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.media.frames_math import SORTING_METHODS, frame_step

MAX_INT = 2**31 - 1
IGNORED = {"use_zip_chunks", "use_cache", "copy_data", "storage_method", "storage",
           "client_files", "filename", "format"}
UNSUPPORTED = {
    "remote_files": "Downloading remote files is not supported by this server.",
    "cloud_storage_id": "Task data from cloud storages is not supported yet.",
    "job_file_mapping": "job_file_mapping is not supported yet.",
    "filename_pattern": "filename_pattern is not supported yet (it needs a manifest).",
    "server_files_exclude": "server_files_exclude is not supported yet.",
    "validation_params": "Validation frames are not supported yet.",
}


def _int(errors: dict[str, list[str]], fields: dict[str, Any], name: str, low: int, high: int
         ) -> int | None:
    value = fields.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[name] = [f"An integer from {low} to {high} is required."]
        return None
    return value


def _strings(errors: dict[str, list[str]], fields: dict[str, Any], name: str) -> list[str]:
    value = fields.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors[name] = ["A list of strings is required."]
        return []
    return value


def clean_params(fields: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``(job params, server_files)`` from the request fields; 400 on any bad field."""
    errors: dict[str, list[str]] = {}
    for name, message in UNSUPPORTED.items():
        if fields.get(name) not in (None, "", []):
            errors[name] = [message]
    quality = _int(errors, fields, "image_quality", 0, 100)
    start = _int(errors, fields, "start_frame", 0, MAX_INT) or 0
    stop = _int(errors, fields, "stop_frame", 0, MAX_INT)
    chunk_size = _int(errors, fields, "chunk_size", 1, MAX_INT)
    if stop is not None and stop < start:
        errors["stop_frame"] = ["stop_frame must be greater than or equal to start_frame."]
    frame_filter = fields.get("frame_filter") or ""
    try:
        frame_step(frame_filter if isinstance(frame_filter, str) else "?")
    except ValueError as exc:
        errors["frame_filter"] = [str(exc)]
    sorting = fields.get("sorting_method") or "lexicographical"
    if sorting not in SORTING_METHODS:
        errors["sorting_method"] = [f'"{sorting}" is not a valid choice.']
    order = _strings(errors, fields, "upload_file_order")
    server_files = _strings(errors, fields, "server_files")
    if errors:
        raise ValidationFailed(errors)
    params = {
        "image_quality": 70 if quality is None else quality, "sorting_method": sorting,
        "upload_file_order": order, "start_frame": start, "stop_frame": stop,
        "frame_filter": frame_filter, "chunk_size": chunk_size,
    }
    return params, server_files
