"""The ``gdrive`` storage provider: a Google Drive folder (or a sub-folder path in it).

Listing is Drive's own paginated ``files.list`` on the listed folder (``pageSize``,
``pageToken``, ``orderBy=folder,name``), so a page costs one request (plus one per path
component to find the folder) however many files the folder holds; the cursor is Drive's
``nextPageToken``, bound to the prefix it was given for.
"""

from __future__ import annotations

import functools
import ssl

import httpx

from cvatcore.hooks import FsspecStorage, ListingPage, ObjectInfo, StorageStatus
from cvatcore.hooks.fsspec_storage import Classified, bound_cursor, bound_token
from cvatcore_gdrive.auth import load_service_account, token_source
from cvatcore_gdrive.client import DriveClient
from cvatcore_gdrive.config import GDriveConfig
from cvatcore_gdrive.fs import FOLDER, DriveFileSystem, _mtime, quote, usable


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context per process: building one reads the CA bundle (about 0.1 s)."""
    return httpx.create_ssl_context()


def _secrets(config: GDriveConfig) -> list[str]:
    found = [s.get_secret_value() for s in (config.client_secret, config.refresh_token) if s]
    if config.service_account_key is not None:
        found.append(load_service_account(config)["private_key"])
    return found


class GDriveStorage(FsspecStorage):
    """A Drive folder that a service account or an OAuth user may read (and write)."""

    def __init__(self, config: GDriveConfig) -> None:
        self.config = config
        prefix = config.prefix.strip("/")
        root = f"{config.folder_id}/{prefix}" if prefix else config.folder_id
        self._http: httpx.Client | None = None
        super().__init__(self._make_fs, root, label=f"gdrive://{root}",
                         secrets=_secrets(config))

    def _make_fs(self) -> DriveFileSystem:
        timeout = httpx.Timeout(self.config.timeout, connect=min(self.config.timeout, 10.0))
        self._http = httpx.Client(timeout=timeout, follow_redirects=False, verify=_tls_context(),
                                  headers={"User-Agent": "cvatcore-gdrive"})
        client = DriveClient(self.config.api_base_url, token_source(self.config, self._http),
                             self._http, max_retries=self.config.max_retries)
        return DriveFileSystem(client, trash=self.config.trash, skip_instance_cache=True)

    def close(self) -> None:
        """Close the HTTP connections."""
        if self._http is not None:
            self._http.close()

    def classify(self, exc: BaseException) -> Classified | None:
        found = super().classify(exc)
        reason = getattr(exc, "reason", None)
        if found is not None and isinstance(reason, str):
            return found[0], reason
        return found

    def list_native(self, prefix: str, cursor: str | None, page_size: int) -> ListingPage:
        """One ``files.list`` page of the folder ``prefix`` names; a trailing part of the
        prefix after the last "/" selects names that start with it (Drive's ``name
        contains`` matches name prefixes, ignoring case; the exact match is made here)."""
        level, _, stem = prefix.rpartition("/")
        token = bound_token(cursor, prefix)
        fs: DriveFileSystem = self.fs  # type: ignore[assignment]
        folder = fs.folder_id(self.full_path(level))
        if folder is None:
            return ListingPage(entries=[], next=None)
        q = f"{quote(folder)} in parents and trashed = false"
        if stem:
            q += f" and name contains {quote(stem)}"
        files, token = fs.query(q, page_size=min(page_size, 1000), page_token=token,
                                order_by="folder,name")
        entries = []
        for meta in files:
            if not (usable(meta) and meta["name"].startswith(stem)):
                continue
            name = f"{level}/{meta['name']}" if level else meta["name"]
            if meta["mimeType"] == FOLDER:
                entries.append(ObjectInfo(name=name, type="DIR", modified=_mtime(meta)))
            else:
                entries.append(ObjectInfo(name=name, type="REG", size=int(meta.get("size") or 0),
                                          modified=_mtime(meta)))
        return ListingPage(entries=entries, next=bound_cursor(token, prefix))

    def check_status(self) -> str:
        """``files.get`` on the folder: Drive answers 404 for a folder that does not exist and
        for one not shared with these credentials (it does not tell the two apart)."""
        fs: DriveFileSystem = self.fs  # type: ignore[assignment]
        meta = fs.get(self.config.folder_id)
        if meta.get("mimeType") != FOLDER or meta.get("trashed"):
            return StorageStatus.NOT_FOUND
        return StorageStatus.AVAILABLE


