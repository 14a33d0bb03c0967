"""The TUS side of CVAT's upload protocol, shared by task data, annotation and dataset
uploads: reading the TUS headers and answering with the headers clients expect. The
services behind it decide where the bytes go."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.responses import Response

from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON
from cvatcore.core.errors import PayloadTooLarge, ValidationFailed
from cvatcore.core.media import uploads
from cvatcore.core.media.limits import MAX_TUS_FILE

TUS_HEADERS = {"Tus-Resumable": "1.0.0", "Tus-Version": "1.0.0", "Tus-Extension": "",
               "Tus-Max-Size": str(MAX_TUS_FILE), "Cache-Control": "no-store"}


def created(ctx: Ctx, create: Callable[[str, int], tuple[str, str]]) -> Response:
    """``POST`` with ``Upload-Length``: ``create(filename, length)`` returns the new upload's
    (file id, server-side name); 201 with its ``Location``, 413 past the size limit."""
    headers = ctx.request.headers
    try:
        length = int(headers["upload-length"])
    except ValueError:
        raise ValidationFailed({"detail": "Upload-Length must be an integer."}) from None
    metadata = uploads.parse_metadata(headers.get("upload-metadata", ""))
    try:
        file_id, filename = create(metadata.get("filename", ""), length)
    except PayloadTooLarge as exc:
        return JSON(exc.body(), status_code=413, headers=TUS_HEADERS)
    location = f"{str(ctx.request.url).split('?')[0].rstrip('/')}/{file_id}"
    return Response(status_code=201, headers={**TUS_HEADERS, "Location": location,
                                              "Upload-Filename": filename})


def offset(ctx: Ctx) -> int:
    """The ``Upload-Offset`` of a ``PATCH``."""
    try:
        return int(ctx.request.headers.get("upload-offset", ""))
    except ValueError:
        raise ValidationFailed({"detail": "Upload-Offset must be an integer."}) from None


def patched(state: dict[str, Any]) -> Response:
    return Response(status_code=204, headers={
        **TUS_HEADERS, "Upload-Offset": str(state["offset"]),
        "Upload-Filename": state["filename"]})


def progress(state: dict[str, Any] | None) -> Response:
    """``HEAD``/``GET`` of an upload: how much has arrived (404 for an unknown one)."""
    if state is None:
        return JSON({"detail": "No such upload."}, status_code=404, headers=TUS_HEADERS)
    return Response(status_code=200, headers={
        **TUS_HEADERS, "Upload-Offset": str(state["offset"]),
        "Upload-Length": str(state["length"])})
