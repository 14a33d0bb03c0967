"""The Drive v3 calls the stand-in answers, over the in-memory ``Store``.

``files.list`` (``q``, ``pageSize``, ``pageToken``, ``orderBy``, ``fields``), ``files.get``
(metadata, or ``alt=media`` with ``Range``), ``files.create``/``files.update`` through
``/upload`` (``multipart``, ``media``, ``resumable`` with ``308`` answers), metadata-only
``files.create`` (folders) and ``files.update``, and ``files.delete``.
"""

from __future__ import annotations

import base64
import json
import re
import secrets
from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from cvatcore_gdrive.testing.query import QueryError, apply_fields, parse_fields, parse_query
from cvatcore_gdrive.testing.store import FOLDER, ROOT_ID, Item, Store, Upload, _now

DEFAULT_FIELDS = "kind,id,name,mimeType"
CHUNK = 256 * 1024
_ORDER_KEYS = {"folder", "name", "name_natural", "modifiedTime", "createdTime"}


class ApiError(Exception):
    def __init__(self, code: int, message: str, reason: str | None = None,
                 location: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reason, self.location = code, message, reason, location


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    principal: str
    base_url: str

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


Answer = tuple[int, dict[str, Any] | bytes | None, dict[str, str]]


def _not_found(file_id: str) -> ApiError:
    return ApiError(404, f"File not found: {file_id}.", "notFound", "fileId")


def _visible(store: Store, file_id: str, principal: str, need: int = 1) -> Item:
    """The item, if the caller may read it (404 otherwise) and has role ``need`` (403)."""
    item = store.items.get(store.resolve_id(file_id))
    role = store.role(item, principal) if item else 0
    if item is None or role == 0:
        raise _not_found(file_id)
    if role < need:
        raise ApiError(403, "The user does not have sufficient permissions for this file.",
                       "insufficientFilePermissions")
    return item


def _shaped(item: Item, query: dict[str, str]) -> dict[str, Any]:
    return apply_fields(item.record(), parse_fields(query.get("fields") or DEFAULT_FIELDS))


def handle(store: Store, req: Request) -> Answer:
    parts = req.path.strip("/").split("/")
    with store.lock:
        if parts[:3] == ["drive", "v3", "files"]:
            file_id = parts[3] if len(parts) > 3 else None
            if file_id is None:
                if req.method == "GET":
                    return list_files(store, req)
                if req.method == "POST":
                    meta = json.loads(req.body or b"{}")
                    return 200, _shaped(_create(store, req, meta, b""), req.query), {}
            elif req.method == "GET":
                return get_file(store, req, file_id)
            elif req.method == "PATCH":
                return 200, _shaped(_update(store, req, file_id, json.loads(req.body or b"{}"),
                                            None), req.query), {}
            elif req.method == "DELETE":
                item = _visible(store, file_id, req.principal, need=3)
                store.delete(item)
                return 204, None, {}
        elif parts[:4] == ["upload", "drive", "v3", "files"]:
            return upload(store, req, parts[4] if len(parts) > 4 else None)
    raise ApiError(404, f"Not Found: {req.method} {req.path}", "notFound")


def _order(items: list[Item], order_by: str) -> list[Item]:
    for clause in reversed([c.strip() for c in order_by.split(",") if c.strip()]):
        key, _, direction = clause.partition(" ")
        if key not in _ORDER_KEYS or direction not in ("", "desc"):
            raise ApiError(400, f"Invalid Value: {clause}", "invalid", "orderBy")
        getter = {"folder": lambda i: i.mime_type != FOLDER, "name": lambda i: i.name.lower(),
                  "name_natural": lambda i: i.name.lower(),
                  "modifiedTime": lambda i: i.modified, "createdTime": lambda i: i.created}[key]
        items.sort(key=getter, reverse=direction == "desc")
    return items


def list_files(store: Store, req: Request) -> Answer:
    try:
        predicate = parse_query(req.query["q"]) if req.query.get("q") else (lambda f: True)
    except QueryError as exc:
        raise ApiError(400, str(exc), "invalid", "q") from None
    size = int(req.query.get("pageSize") or 100)
    if not 1 <= size <= 1000:
        raise ApiError(400, f"Invalid value '{size}'. Values must be within the range: [1, 1000]",
                       "invalid", "pageSize")
    size = min(size, store.max_page)
    key = f"{req.query.get('q')}|{req.query.get('orderBy')}"
    start = _decode_token(req.query.get("pageToken"), key)
    matches = [i for i in _candidates(store, req.query.get("q") or "")
               if i.id != ROOT_ID and store.role(i, req.principal) and predicate(i.record())]
    matches = _order(sorted(matches, key=lambda i: i.created), req.query.get("orderBy", ""))
    page = matches[start:start + size]
    answer: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False,
                              "files": [i.record() for i in page]}
    if start + size < len(matches):
        answer["nextPageToken"] = _encode_token(start + size, key)
    mask = req.query.get("fields") or "kind,incompleteSearch,nextPageToken,files(" + (
        DEFAULT_FIELDS + ")")
    return 200, apply_fields(answer, parse_fields(mask)), {}


def _candidates(store: Store, q: str) -> list[Item]:
    """Only the children of X when the query starts with ``'X' in parents and`` (what clients
    send nearly always): a full scan per page would make big trees slow to list."""
    match = re.match(r"\s*'((?:[^'\\]|\\.)*)'\s+in\s+parents(\s+and\s|\s*$)", q)
    if not match:
        return list(store.items.values())
    parent = store.resolve_id(re.sub(r"\\(.)", r"\1", match.group(1)))
    return [store.items[i] for i in store.children.get(parent, ())]


def _encode_token(offset: int, key: str) -> str:
    raw = json.dumps({"o": offset, "k": key}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str | None, key: str) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        if data["k"] == key:
            return int(data["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise ApiError(400, "Invalid Value", "invalid", "pageToken")


def get_file(store: Store, req: Request, file_id: str) -> Answer:
    item = _visible(store, file_id, req.principal)
    if req.query.get("alt") != "media":
        return 200, _shaped(item, req.query), {}
    if item.mime_type == FOLDER:
        raise ApiError(403, "Only files with binary content can be downloaded.",
                       "fileNotDownloadable")
    data, total = item.data, len(item.data)
    rng = req.header("Range")
    if not rng:
        return 200, data, {"Content-Type": "application/octet-stream"}
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", rng.strip())
    if not match or match.groups() == ("", ""):
        return 200, data, {"Content-Type": "application/octet-stream"}
    first, last = match.groups()
    if first == "":
        start, end = max(total - int(last), 0), total - 1
    else:
        start, end = int(first), min(int(last) if last else total - 1, total - 1)
    if start >= total or start > end:
        return 416, b"", {"Content-Range": f"bytes */{total}"}
    return 206, data[start:end + 1], {"Content-Range": f"bytes {start}-{end}/{total}",
                                      "Content-Type": "application/octet-stream"}


def _create(store: Store, req: Request, meta: dict[str, Any], data: bytes) -> Item:
    parents = meta.get("parents") or ["root"]
    if len(parents) != 1:
        raise ApiError(403, "A shared drive item must have exactly one parent.",
                       "teamDrivesParentLimit")
    parent = _visible(store, parents[0], req.principal, need=2)
    if parent.mime_type != FOLDER:
        raise ApiError(400, "The specified parent is not a folder.", "invalidParent")
    if not meta.get("name"):
        meta["name"] = "Untitled"
    return store.create(meta["name"], meta.get("mimeType") or "application/octet-stream",
                        parent.id, data, perms={req.principal: "owner"})


def _update(store: Store, req: Request, file_id: str, meta: dict[str, Any],
            data: bytes | None) -> Item:
    item = _visible(store, file_id, req.principal, need=2)
    if "name" in meta:
        item.name = meta["name"]
    if "trashed" in meta:
        item.trashed = bool(meta["trashed"])
    if data is not None:
        item.data = data
    item.modified = _now()
    return item


def parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, Any], bytes]:
    """The JSON metadata part and the media part of a ``multipart/related`` upload."""
    message = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body)
    parts = list(message.iter_parts()) if message.is_multipart() else []
    if len(parts) != 2:
        raise ApiError(400, "Multipart body must have a metadata part and a media part")
    meta = json.loads(parts[0].get_payload(decode=True) or b"{}")
    return meta, parts[1].get_payload(decode=True) or b""


def _store_upload(store: Store, req: Request, file_id: str | None, meta: dict[str, Any],
                  data: bytes) -> Answer:
    item = (_update(store, req, file_id, meta, data) if file_id
            else _create(store, req, meta, data))
    return 200, _shaped(item, req.query), {}


def upload(store: Store, req: Request, file_id: str | None) -> Answer:
    kind = req.query.get("uploadType")
    if req.method == "PUT" and "upload_id" in req.query:
        return _resumable_chunk(store, req)
    if req.method not in ("POST", "PATCH") or (req.method == "PATCH") != bool(file_id):
        raise ApiError(404, f"Not Found: {req.method} {req.path}", "notFound")
    if kind == "multipart":
        meta, data = parse_multipart(req.header("Content-Type") or "", req.body)
        return _store_upload(store, req, file_id, meta, data)
    if kind == "media":
        return _store_upload(store, req, file_id, {}, req.body)
    if kind == "resumable":
        meta = json.loads(req.body or b"{}")
        if file_id:
            _visible(store, file_id, req.principal, need=2)
        else:  # check the parent now, as Drive does, not at the end of the upload
            _visible(store, (meta.get("parents") or ["root"])[0], req.principal, need=2)
        upload_id = secrets.token_urlsafe(16)
        store.uploads[upload_id] = Upload(meta, file_id, req.principal)
        location = f"{req.base_url}{req.path}?uploadType=resumable&upload_id={upload_id}"
        return 200, b"", {"Location": location}
    raise ApiError(400, f"Invalid value '{kind}' for uploadType", "invalid", "uploadType")


def _resumable_chunk(store: Store, req: Request) -> Answer:
    session = store.uploads.get(req.query["upload_id"])
    if session is None or session.principal != req.principal:
        raise ApiError(404, "No such upload session.", "notFound")
    match = re.fullmatch(r"bytes (?:(\d+)-(\d+)|\*)/(\d+|\*)", (req.header("Content-Range")
                                                                or "bytes */*").strip())
    if not match:
        raise ApiError(400, "Invalid Content-Range", "invalid")
    first, last, total = match.groups()
    if first is not None and int(first) == len(session.received):
        if int(last) - int(first) + 1 != len(req.body):
            raise ApiError(400, "Content-Range does not match the body length", "invalid")
        body = req.body
        if store.short_commit and len(body) > CHUNK:
            body = body[:CHUNK]  # Drive may keep less than was sent: the client must resume
        session.received += body
    if total != "*" and len(session.received) == int(total):
        del store.uploads[req.query["upload_id"]]
        return _store_upload(store, req, session.file_id, session.meta, bytes(session.received))
    headers = {"Range": f"bytes=0-{len(session.received) - 1}"} if session.received else {}
    return 308, b"", headers
