"""The fields of a finishing data request (CVAT's ``DataSerializer``), checked in the request
so that a bad value is a 400 naming the field, never a failed background job.

Values may come as JSON types or as form strings (multipart and urlencoded bodies).
"""

from __future__ import annotations

from typing import Any

from cvatcore.core.errors import ValidationFailed
from cvatcore.core.media.frames_math import SORTING_METHODS, frame_step
from cvatcore.core.media.images import media_kind

MAX_INT = 2**31 - 1
IGNORED = {"use_zip_chunks", "use_cache", "copy_data", "storage_method", "storage",
           "client_files", "filename", "format"}
#: Ignored fields that still have CVAT's choices: a value outside them is a 400, as in CVAT.
IGNORED_CHOICES = {"storage_method": ("cache", "file_system"),
                   "storage": ("cloud_storage", "local", "share")}
UNSUPPORTED = {
    "remote_files": "Downloading remote files is not supported by this server.",
    "job_file_mapping": "job_file_mapping is not supported yet.",
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
    for name, choices in IGNORED_CHOICES.items():
        if fields.get(name) not in (None, "", *choices):
            errors[name] = [f'"{fields[name]}" is not a valid choice.'[:200]]
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
    source = _source_fields(errors, fields, server_files)
    if errors:
        raise ValidationFailed(errors)
    params = {
        "image_quality": 70 if quality is None else quality, "sorting_method": sorting,
        "upload_file_order": order, "start_frame": start, "stop_frame": stop,
        "frame_filter": frame_filter, "chunk_size": chunk_size, **source,
    }
    return params, server_files


def _source_fields(errors: dict[str, list[str]], fields: dict[str, Any],
                   server_files: list[str]) -> dict[str, Any]:
    """``cloud_storage_id``, ``filename_pattern`` and ``server_files_exclude`` with the rules
    of CVAT's ``DataSerializer.validate`` (its messages) and of its task creation (one
    manifest), checked here so that they are a 400 rather than a failed request."""
    storage_id = _int(errors, fields, "cloud_storage_id", 1, MAX_INT)
    exclude = _strings(errors, fields, "server_files_exclude")
    pattern = fields.get("filename_pattern")
    if pattern == "":
        pattern = None
    if pattern is not None and (not isinstance(pattern, str) or len(pattern) > 1024):
        errors["filename_pattern"] = ["A string of at most 1024 characters is required."]
        pattern = None
    manifests = [f for f in server_files if media_kind(f) == "manifest"]
    rules: list[str] = []
    if pattern is not None and len(manifests) != len(server_files):
        rules.append("The filename_pattern can only be used with specified manifest or "
                     "without server_files")
    if pattern is not None and exclude:
        rules.append("The filename_pattern and server_files_exclude cannot be used together")
    if rules:
        errors["non_field_errors"] = rules
    if len(manifests) > 1:
        errors["server_files"] = ["Only one manifest file can be attached to data"]
    if manifests and fields.get("sorting_method") == "random":
        errors["sorting_method"] = [
            "It isn't supported to upload manifest file and use random sorting"]
    if storage_id is None and pattern is not None:
        errors.setdefault("filename_pattern", [
            "filename_pattern selects files of a cloud storage; send cloud_storage_id too."])
    if storage_id is not None and not server_files and pattern is None:
        errors.setdefault("server_files", [
            "Name the keys to use (files, 'dir/' prefixes or a manifest), or send "
            "filename_pattern."])
    return {"cloud_storage_id": storage_id, "filename_pattern": pattern,
            "server_files_exclude": exclude}
