"""The upload area of a task's data (``data/<id>/raw/`` in the media store): multipart files
and TUS 1.0.0 uploads, as cvat-sdk sends them.

Request bodies arrive as spooled temporary files (``Ctx.body_file``); multipart bodies are
parsed from there part by part and each file part streams straight into the media store.
A TUS upload keeps a small JSON state and one object per ``PATCH`` (``tus/<file_id>/<offset>``);
when the last byte arrives the parts are joined into ``raw/<filename>``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import posixpath
import re
import uuid
from dataclasses import dataclass
from typing import IO, Any

from python_multipart.multipart import MultipartParser, parse_options_header

from cvatcore.core.errors import Conflict, NotFound, ValidationFailed
from cvatcore.core.media import limits, store
from cvatcore.core.media.store import COPY_BUFFER

FIELD_LIMIT = 16 << 20
#: An upload area: a task data row's id (``data/<id>/``), or a prefix ending in ``/`` of an
#: area of its own (annotation and dataset imports use ``imports/...``).
Area = int | str


def raw_prefix(area: Area) -> str:
    return store.raw_prefix(area) if isinstance(area, int) else f"{area}raw/"


def tus_prefix(area: Area) -> str:
    return store.tus_prefix(area) if isinstance(area, int) else f"{area}tus/"
  # one non-file form field
_INDEXED = re.compile(r"^(\w+)\[(\d+)\]$")


def clean_name(name: str, *, basename: bool) -> str:
    """A safe relative file name (``/``-separated, no ``..``, no absolute path); ``basename``
    keeps only the last segment, as Django does for multipart file names."""
    text = name.replace("\\", "/")
    if basename:
        text = posixpath.basename(text)
    text = text.lstrip("/") if not basename else text
    parts = [p for p in text.split("/") if p not in ("", ".")]
    if not parts or ".." in parts or "\x00" in text or len(text) > 1024:
        raise ValidationFailed({"detail": f"File name {name[:200]!r} is not allowed."})
    return "/".join(parts)


# -- multipart ---------------------------------------------------------------------------------


@dataclass
class _Part:
    name: str = ""
    filename: str | None = None
    target: Any = None
    value: bytearray | None = None


class MultipartUpload:
    """Parses one multipart body: file parts named ``client_files[...]`` stream into the
    upload area; other fields are collected (``name[i]`` fields become lists)."""

    def __init__(self, media: Any, data_id: Area) -> None:
        self.media, self.prefix = media, raw_prefix(data_id)
        # A local store: the folder is resolved once, each file then opened directly (names
        # are cleaned basenames, so they stay inside it).
        self._base = store.local_path(media, self.prefix.rstrip("/"))
        if self._base is not None:
            os.makedirs(self._base, exist_ok=True)
        self.fields: dict[str, Any] = {}
        self.files: list[str] = []
        self._part = _Part()
        self._header_name = b""
        self._headers: dict[bytes, bytes] = {}
        self._stack = contextlib.ExitStack()

    def parse(self, body: IO[bytes], content_type: str) -> None:
        ctype, options = parse_options_header(content_type)
        boundary = options.get(b"boundary")
        if ctype != b"multipart/form-data" or not boundary:
            raise ValidationFailed({"detail": "Expected a multipart/form-data body."})
        parser = MultipartParser(boundary, {
            "on_part_begin": self._begin, "on_part_data": self._data, "on_part_end": self._end,
            "on_header_field": self._header_field, "on_header_value": self._header_value,
            "on_headers_finished": self._headers_finished,
        })
        with self._stack:
            try:
                while chunk := body.read(COPY_BUFFER):
                    parser.write(chunk)
                parser.finalize()
            except ValidationFailed:
                raise
            except Exception as exc:  # the parser's own errors: a malformed body
                raise ValidationFailed({"detail": f"Malformed multipart body ({exc})."}) from None

    def _begin(self) -> None:
        self._part, self._headers = _Part(), {}

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name = data[start:end].lower()

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._headers[self._header_name] = self._headers.get(self._header_name, b"") + data[
            start:end]

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        part = self._part
        part.name = options.get(b"name", b"").decode("utf-8", "replace")
        filename = options.get(b"filename")
        if filename is not None and part.name.startswith("client_files"):
            name = clean_name(filename.decode("utf-8", "replace"), basename=True)
            if len(self.files) >= limits.MAX_FILES:
                raise ValidationFailed({"detail": f"At most {limits.MAX_FILES} files."})
            part.filename = name
            part.target = self._stack.enter_context(
                open(os.path.join(self._base, name), "wb")  # noqa: SIM115 - in the stack
                if self._base is not None
                else store.open_write(self.media, self.prefix + name))
            self.files.append(name)
        else:
            part.value = bytearray()

    def _data(self, data: bytes, start: int, end: int) -> None:
        part = self._part
        if part.target is not None:
            part.target.write(data[start:end])
        elif part.value is not None:
            part.value += data[start:end]
            if len(part.value) > FIELD_LIMIT:
                raise ValidationFailed({part.name: ["The field is too large."]})

    def _end(self) -> None:
        part = self._part
        if part.target is not None:
            part.target.close()
            return
        value = bytes(part.value or b"").decode("utf-8", "replace")
        match = _INDEXED.match(part.name)
        if match:
            self.fields.setdefault(match.group(1), []).append(value)
        elif part.name in self.fields:
            existing = self.fields[part.name]
            self.fields[part.name] = [*existing, value] if isinstance(existing, list) else [
                existing, value]
        else:
            self.fields[part.name] = value


# -- TUS ---------------------------------------------------------------------------------------


def parse_metadata(header: str) -> dict[str, str]:
    """``Upload-Metadata``: comma-separated ``key base64value`` pairs."""
    found: dict[str, str] = {}
    for item in header.split(","):
        key, _, value = item.strip().partition(" ")
        if not key:
            continue
        try:
            found[key] = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise ValidationFailed({"detail": f"Upload-Metadata {key!r} is not base64."}) from None
    return found


def _state_key(data_id: Area, file_id: str) -> str:
    return f"{tus_prefix(data_id)}{file_id}.json"


def tus_create(media: Any, data_id: Area, filename: str, length: int) -> str:
    """Start a TUS upload; returns its file id (a UUID, as CVAT's)."""
    if length < 0:
        raise ValidationFailed({"detail": "Upload-Length must not be negative."})
    file_id = str(uuid.uuid4())
    state = {"filename": filename, "length": length, "offset": 0}
    media.write(_state_key(data_id, file_id), json.dumps(state).encode())
    return file_id


def tus_state(media: Any, data_id: Area, file_id: str) -> dict[str, Any]:
    try:
        return json.loads(media.read(_state_key(data_id, file_id)))
    except FileNotFoundError:
        raise NotFound("No such upload.") from None


def tus_patch(media: Any, data_id: Area, file_id: str, offset: int, body: IO[bytes] | None
              ) -> dict[str, Any]:
    """Store one chunk at ``offset`` (which must be the current offset: 409 otherwise);
    when the upload is complete, join the parts into the upload area."""
    state = tus_state(media, data_id, file_id)
    if offset != state["offset"]:
        raise Conflict(f"Upload-Offset {offset} does not match the upload's offset "
                       f"{state['offset']}.")
    size = 0
    if body is not None:
        body.seek(0, 2)
        size = body.tell()
        body.seek(0)
    if offset + size > state["length"]:
        raise ValidationFailed({"detail": "The chunk goes past the declared Upload-Length."},
                               status=413)
    if size:
        store.put_stream(media, f"{tus_prefix(data_id)}{file_id}/{offset:020d}", body)
    state["offset"] = offset + size
    if state["offset"] == state["length"]:
        state["filename"] = _join(media, data_id, file_id, state["filename"])
        with contextlib.suppress(FileNotFoundError):
            media.delete(_state_key(data_id, file_id))
    else:
        media.write(_state_key(data_id, file_id), json.dumps(state).encode())
    return state


def _join(media: Any, data_id: Area, file_id: str, filename: str) -> str:
    """Concatenate the parts into ``raw/<filename>`` (``name_1.ext`` when taken)."""
    raw = raw_prefix(data_id)
    stem, ext = posixpath.splitext(filename)
    name, n = filename, 0
    while store.exists(media, raw + name):
        n += 1
        name = f"{stem}_{n}{ext}"
    parts_prefix = f"{tus_prefix(data_id)}{file_id}/"
    parts = sorted(info.name for info in store.walk(media, parts_prefix))
    with store.open_write(media, raw + name) as target:
        for part in parts:
            store.copy_file_to(media, part, target)
    store.remove_prefix(media, parts_prefix)
    return name
