"""Uploads to Drive v3: ``multipart`` for small files, resumable sessions for large ones and
for streamed writes (``fs.DriveFile``), both creating a file or replacing an existing one's
bytes.

A resumable session takes chunks that are multiples of 256 KiB except the last, and may keep
less than it was sent (its ``308`` answer's ``Range`` says how much): the rest is sent again.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from cvatcore_gdrive.client import DriveClient
from cvatcore_gdrive.errors import DriveRequestError

QUANTUM = 256 * 1024
CHUNK = 32 * QUANTUM  # 8 MiB per PUT
OCTETS = "application/octet-stream"
_PARAMS = {"supportsAllDrives": "true", "fields": "id,name,size"}


def _metadata(name: str, parent_id: str | None) -> dict[str, Any]:
    """A create names the file and its folder; a replace changes neither."""
    return {"name": name, "parents": [parent_id]} if parent_id else {}


def multipart(client: DriveClient, name: str, parent_id: str | None, file_id: str | None,
              data: bytes) -> dict[str, Any]:
    """One ``multipart/related`` request: metadata part, then the bytes."""
    boundary = "cvatcore-" + secrets.token_hex(12)
    body = b"".join([
        f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
        json.dumps(_metadata(name, None if file_id else parent_id)).encode(),
        f"\r\n--{boundary}\r\nContent-Type: {OCTETS}\r\n\r\n".encode(), data,
        f"\r\n--{boundary}--\r\n".encode()])
    path = f"/upload/drive/v3/files/{file_id}" if file_id else "/upload/drive/v3/files"
    response = client.request(
        "PATCH" if file_id else "POST", client.url(path),
        params={"uploadType": "multipart", **_PARAMS}, content=body,
        headers={"Content-Type": f"multipart/related; boundary={boundary}"},
        retry_sent=bool(file_id))  # a repeated create could leave two files
    return response.json()


def start_session(client: DriveClient, name: str, parent_id: str | None, file_id: str | None,
                  size: int | None = None) -> str:
    """Open a resumable session; its upload address (checked to be on the API's host)."""
    headers = {"X-Upload-Content-Type": OCTETS}
    if size is not None:
        headers["X-Upload-Content-Length"] = str(size)
    path = f"/upload/drive/v3/files/{file_id}" if file_id else "/upload/drive/v3/files"
    response = client.request(
        "PATCH" if file_id else "POST", client.url(path),
        params={"uploadType": "resumable", **_PARAMS}, headers=headers,
        json=_metadata(name, None if file_id else parent_id))
    location = response.headers.get("Location")
    if not location:
        raise DriveRequestError("Drive opened no upload session", reason="no upload session")
    client.check_same_host(location)
    return location


def put_chunk(client: DriveClient, location: str, data: bytes, offset: int,
              total: int | None) -> int | None:
    """Send ``data`` at ``offset``; how many bytes the session holds now, ``None`` when done."""
    size = "*" if total is None else str(total)
    span = f"{offset}-{offset + len(data) - 1}" if data else "*"
    response = client.request("PUT", location, content=data, ok=(200, 201, 308),
                              headers={"Content-Range": f"bytes {span}/{size}"})
    if response.status_code != 308:
        return None
    held = response.headers.get("Range", "")
    return int(held.rsplit("-", 1)[1]) + 1 if held.startswith("bytes=") else 0


def send_all(client: DriveClient, location: str, data: bytes, offset: int,
             total: int | None) -> int | None:
    """Send ``data`` (from ``offset``) until the session holds all of it; ``None`` when the
    upload is complete, else the new offset. Gives up when Drive keeps nothing three times."""
    start, end, stalls = offset, offset + len(data), 0
    while True:
        piece = data[offset - start:][:CHUNK]
        is_last = total is not None and offset + len(piece) == total
        if not is_last:
            piece = piece[: len(piece) // QUANTUM * QUANTUM]
        held = put_chunk(client, location, piece, offset, total if is_last else None)
        if held is None:
            return None
        if held < start:
            raise DriveRequestError("Drive lost part of the upload", reason="upload lost")
        stalls = stalls + 1 if held <= offset else 0
        if stalls >= 3:
            raise DriveRequestError("Drive keeps no bytes of the upload", reason="upload stalled")
        offset = held
        if offset >= end or (not is_last and end - offset < QUANTUM):
            return offset
