"""``DriveFileSystem``: an fsspec filesystem over Drive v3 (sync, one ``httpx.Client``).

Paths are ``"<folder id>/a/b.jpg"``: the folder id plays the part of the bucket. Drive has no
paths, only names inside parent folders, so each component is looked up with one
``files.list`` query (``'<parent>' in parents and name = '<name>' and trashed = false``);
folder ids are cached. Drive allows several items with one name in a folder, and its
``name =`` ignores case: only exact matches count, and of several, the newest is used.
Overwriting replaces the existing file's bytes (``PATCH``), so no duplicate is made.
"""

from __future__ import annotations

import io
import threading
from datetime import datetime
from typing import Any

from fsspec import AbstractFileSystem
from fsspec.spec import AbstractBufferedFile

from cvatcore_gdrive import upload
from cvatcore_gdrive.client import FILE_FIELDS, DriveClient
from cvatcore_gdrive.errors import DriveNotFoundError, DriveRequestError

FOLDER = "application/vnd.google-apps.folder"
_LIST = {"supportsAllDrives": "true", "includeItemsFromAllDrives": "true"}


def quote(text: str) -> str:
    """A ``q`` string literal: backslashes and single quotes escaped, as Drive documents."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def usable(meta: dict[str, Any]) -> bool:
    """Folders and files with bytes; not Google Docs (no bytes to read) nor names with "/"."""
    mime = meta.get("mimeType", "")
    native = mime.startswith("application/vnd.google-apps.") and mime != FOLDER
    return not native and "/" not in meta.get("name", "/")


def _mtime(meta: dict[str, Any]) -> float | None:
    stamp = meta.get("modifiedTime")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() if stamp else None


class DriveFileSystem(AbstractFileSystem):
    protocol = "gdrive"
    root_marker = ""

    def __init__(self, client: DriveClient, *, trash: bool = False,
                 multipart_max: int = 5 * 2**20, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.trash = trash
        self.multipart_max = multipart_max
        self._folders: dict[str, str] = {}
        self._lock = threading.Lock()

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        path = path[len("gdrive://"):] if path.startswith("gdrive://") else path
        return path.strip("/")

    # --- lookups --------------------------------------------------------------------------------

    def query(self, q: str, page_size: int = 1000, page_token: str | None = None,
              order_by: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
        """One ``files.list`` page: (files, nextPageToken)."""
        params = {"q": q, "fields": f"nextPageToken,files({FILE_FIELDS})",
                  "pageSize": str(page_size), **_LIST}
        if page_token:
            params["pageToken"] = page_token
        if order_by:
            params["orderBy"] = order_by
        body = self.client.request("GET", self.client.url("/drive/v3/files"),
                                   params=params).json()
        return body.get("files", []), body.get("nextPageToken")

    def get(self, file_id: str) -> dict[str, Any]:
        """``files.get`` metadata of one id (``DriveNotFoundError`` when it is not visible)."""
        return self.client.request(
            "GET", self.client.url(f"/drive/v3/files/{file_id}"),
            params={"fields": FILE_FIELDS, "supportsAllDrives": "true"}).json()

    def child(self, parent_id: str, name: str, folder: bool | None = None
              ) -> dict[str, Any] | None:
        """The item called exactly ``name`` in ``parent_id`` (newest of several), or ``None``."""
        q = f"{quote(parent_id)} in parents and name = {quote(name)} and trashed = false"
        if folder is not None:
            q += f" and mimeType {'=' if folder else '!='} {quote(FOLDER)}"
        found, token = [], None
        while True:
            files, token = self.query(q, page_token=token)
            found += [f for f in files if f["name"] == name and usable(f)]
            if not token:
                break
        return max(found, key=lambda f: f.get("modifiedTime", "")) if found else None

    def folder_id(self, path: str, create: bool = False) -> str | None:
        """The id of the folder at ``path`` (made, with its parents, when ``create``)."""
        path = self._strip_protocol(path)
        root, *parts = path.split("/")
        current, walked = root, root
        for part in parts:
            walked += "/" + part
            cached = self._folders.get(walked)
            if cached is None:
                found = self.child(current, part, folder=True)
                if found is None and not create:
                    return None
                cached = found["id"] if found else self._make_folder(current, part)
                with self._lock:
                    self._folders[walked] = cached
            current = cached
        return current

    def _make_folder(self, parent_id: str, name: str) -> str:
        response = self.client.request(
            "POST", self.client.url("/drive/v3/files"),
            params={"supportsAllDrives": "true", "fields": "id"},
            json={"name": name, "mimeType": FOLDER, "parents": [parent_id]})
        return response.json()["id"]

    def meta(self, path: str) -> dict[str, Any]:
        """Drive's metadata for ``path``; ``FileNotFoundError`` when there is nothing there."""
        path = self._strip_protocol(path)
        parent, _, name = path.rpartition("/")
        if not parent:
            return self.get(path)
        parent_id = self.folder_id(parent)
        found = self.child(parent_id, name) if parent_id else None
        if found is None:
            raise DriveNotFoundError(f"no such file or folder: {path!r}", reason="not found")
        return found

    def as_info(self, path: str, meta: dict[str, Any]) -> dict[str, Any]:
        kind = "directory" if meta.get("mimeType") == FOLDER else "file"
        return {"name": self._strip_protocol(path), "type": kind,
                "size": int(meta.get("size") or 0), "mtime": _mtime(meta), "id": meta["id"],
                "mimeType": meta.get("mimeType"), "md5Checksum": meta.get("md5Checksum")}

    # --- fsspec API -----------------------------------------------------------------------------

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.as_info(path, self.meta(path))

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        meta = self.meta(path)
        if meta.get("mimeType") != FOLDER:
            entries = [self.as_info(path, meta)]
        else:
            entries, token = [], None
            while True:
                files, token = self.query(f"{quote(meta['id'])} in parents and trashed = false",
                                          page_token=token, order_by="folder,name")
                entries += [self.as_info(f"{path}/{f['name']}", f) for f in files if usable(f)]
                if not token:
                    break
        return entries if detail else [e["name"] for e in entries]

    def download(self, info: dict[str, Any], start: int | None, end: int | None) -> bytes:
        """Bytes ``[start, end)`` of the file ``info`` describes, with one ranged GET."""
        size = int(info.get("size") or 0)
        start = 0 if start is None else (max(size + start, 0) if start < 0 else start)
        end = size if end is None else (size + end if end < 0 else min(end, size))
        if start >= end:
            return b""
        whole = (start, end) == (0, size)
        response = self.client.request(
            "GET", self.client.url(f"/drive/v3/files/{info['id']}"),
            params={"alt": "media", "supportsAllDrives": "true"}, ok=(200, 206, 416),
            headers={} if whole else {"Range": f"bytes={start}-{end - 1}"})
        if response.status_code == 416:
            return b""
        data = response.content
        return data if whole or response.status_code == 206 else data[start:end]

    def cat_file(self, path: str, start: int | None = None, end: int | None = None,
                 **kwargs: Any) -> bytes:
        info = self.info(path)
        if info["type"] == "directory":
            raise IsADirectoryError(f"{path!r} is a folder")
        return self.download(info, start, end)

    def upload_target(self, path: str) -> tuple[str, str, str | None]:
        """(parent folder id, name, id of the file to replace or ``None``) for a write."""
        parent, _, name = self._strip_protocol(path).rpartition("/")
        if not parent:
            raise IsADirectoryError(f"{path!r} is the storage's folder itself")
        parent_id = self.folder_id(parent, create=True)
        assert parent_id is not None
        existing = self.child(parent_id, name, folder=False)
        return parent_id, name, existing["id"] if existing else None

    def pipe_file(self, path: str, value: bytes, **kwargs: Any) -> None:
        parent_id, name, file_id = self.upload_target(path)
        data = bytes(value)
        if len(data) <= self.multipart_max:
            upload.multipart(self.client, name, parent_id, file_id, data)
            return
        location = upload.start_session(self.client, name, parent_id, file_id, len(data))
        upload.send_all(self.client, location, data, 0, len(data))

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        self.folder_id(path, create=True)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        self.folder_id(path, create=True)

    def rm_file(self, path: str) -> None:
        meta = self.meta(path)
        if self.trash:
            self.client.request("PATCH", self.client.url(f"/drive/v3/files/{meta['id']}"),
                                params={"supportsAllDrives": "true", "fields": "id"},
                                json={"trashed": True})
        else:
            self.client.request("DELETE", self.client.url(f"/drive/v3/files/{meta['id']}"),
                                params={"supportsAllDrives": "true"}, ok=(200, 204))
        prefix = self._strip_protocol(path)
        with self._lock:  # a deleted folder takes its sub-folders' cached ids with it
            for key in [k for k in self._folders if k == prefix or k.startswith(prefix + "/")]:
                del self._folders[key]

    def _rm(self, path: str) -> None:
        self.rm_file(path)

    def rm(self, path: str | list[str], recursive: bool = False, maxdepth: int | None = None
           ) -> None:
        """Drive deletes a folder with everything in it, hence ``recursive`` is required."""
        for one in [path] if isinstance(path, str) else path:
            if not recursive and self.info(one)["type"] == "directory":
                raise IsADirectoryError(f"{one!r} is a folder; pass recursive=True")
            self.rm_file(one)

    def _open(self, path: str, mode: str = "rb", block_size: int | None = None,
              autocommit: bool = True, cache_options: dict[str, Any] | None = None,
              **kwargs: Any) -> DriveFile:
        return DriveFile(self, self._strip_protocol(path), mode,
                                block_size=block_size or upload.CHUNK, autocommit=autocommit,
                                cache_options=cache_options, **kwargs)


class DriveFile(AbstractBufferedFile):
    """A file opened on Drive: ranged GETs for reading, one resumable session for writing."""

    fs: DriveFileSystem

    def _fetch_range(self, start: int, end: int) -> bytes:
        return self.fs.download(self.details, start, end)

    def _initiate_upload(self) -> None:
        parent_id, name, file_id = self.fs.upload_target(self.path)
        self.location = upload.start_session(self.fs.client, name, parent_id, file_id)

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        total = self.offset + len(data) if final else None
        if not final and len(data) < upload.QUANTUM:
            return False  # keep buffering: only whole 256 KiB quanta may be sent
        held = upload.send_all(self.fs.client, self.location, data, self.offset, total)
        if held is not None and final:
            raise DriveRequestError("the upload did not complete", reason="upload incomplete")
        if held is not None:
            rest = data[held - self.offset:]
            self.offset = held
            self.buffer = io.BytesIO()
            self.buffer.write(rest)
            return False  # the buffer was replaced here; fsspec must not move the offset
        self.fs.invalidate_cache(self.path)
        return True
