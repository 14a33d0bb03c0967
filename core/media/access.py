"""Reading a task's media: frames (original or compressed), chunks and previews.

Derived files are built on first use and kept in the media store under the data's
``cache/`` prefix, so every replica serves them and each is built about once. Video frames
are decoded from the nearest key frame before them (``video.decode``). The originals of a
task made from a cloud storage are read from the bucket (frame paths are its keys), a chunk's
several at a time.
"""

from __future__ import annotations

import contextlib
import functools
import io
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from typing import IO, Any

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from cvatcore.core.errors import ApiError
from cvatcore.core.media import images, store, video
from cvatcore.core.media.frames_math import frame_step
from cvatcore.core.media.sources import remote_failure
from cvatcore.core.models.media import Frame, TaskData

VIDEO_INDEX = "video.json"
CLOUD_READ_THREADS = 8
def video_index_key(data: TaskData) -> str:
    return store.data_prefix(data.id) + VIDEO_INDEX


@functools.lru_cache(maxsize=16)
def _load_index(media: Any, key: str, _stamp: str) -> video.VideoIndex:
    return video.VideoIndex.from_json(media.read(key))


class MediaReader:
    """Frames of one ``TaskData`` by relative frame number (0..size-1)."""

    def __init__(self, media: Any, session: Session, data: TaskData, cloud: Any = None
                 ) -> None:
        """``cloud`` is the storage provider a cloud task's originals are read from (its
        bucket, opened by the caller: this library decrypts no credentials)."""
        self.media, self.session, self.data = media, session, data
        self.cache = store.cache_prefix(data.id)
        self.step = frame_step(data.frame_filter)
        self.cloud = data.storage == "cloud_storage"
        self.source, self.prefix = media, data.media_prefix
        if self.cloud:
            if cloud is None:
                raise RuntimeError("reading a cloud task's media needs its bucket's provider")
            self.source, self.prefix = cloud, ""

    # -- originals ----------------------------------------------------------------------------

    def _read(self, path: str) -> bytes:
        """An original's bytes; a cloud failure is a 4xx naming the file."""
        if not self.cloud:
            return self.media.read(self.prefix + path)
        try:
            return self.source.read(path)
        except Exception as exc:
            failure = remote_failure(exc, path)
            if failure is None:
                raise
            raise ApiError(failure[1], status=failure[0]) from None

    @contextlib.contextmanager
    def _open(self, path: str) -> Iterator[IO[bytes]]:
        if self.cloud:
            yield io.BytesIO(self._read(path))
            return
        with store.open_read(self.media, self.prefix + path) as source:
            yield source

    def _originals(self, rows: list[Frame]) -> Iterator[bytes]:
        """The rows' originals in order; from a bucket several are fetched at once."""
        if not self.cloud or len(rows) < 2:
            for row in rows:
                yield self._read(row.path)
            return
        with ThreadPoolExecutor(CLOUD_READ_THREADS, thread_name_prefix="cvatcore-frames") as pool:
            yield from pool.map(self._read, [row.path for row in rows])

    # -- sources ------------------------------------------------------------------------------

    def _frame_rows(self, first: int, last: int) -> list[Frame]:
        return list(self.session.scalars(
            select(Frame).where(Frame.data_id == self.data.id, Frame.frame >= first,
                                Frame.frame <= last).order_by(Frame.frame)
        ))

    def _index(self) -> video.VideoIndex:
        return _load_index(self.media, video_index_key(self.data),
                           str(self.data.chunks_updated_date))

    def _video_frames(self, first: int, last: int) -> Iterator[tuple[int, Image.Image]]:
        """Relative frames ``first..last`` of a video task, decoded."""
        key = self.data.video_path or ""
        index = self._index()
        absolute = self.data.start_frame + first * self.step
        stop = self.data.start_frame + last * self.step
        path = store.local_path(self.media, key)
        with store.open_read(self.media, key) if path is None else nullcontext(path) as source:
            for number, img in video.decode(source, index, absolute, stop):
                offset = number - self.data.start_frame
                if offset % self.step == 0:
                    yield offset // self.step, img

    # -- frames -------------------------------------------------------------------------------

    def frame(self, number: int, quality: str) -> tuple[bytes, str]:
        """One frame's bytes and MIME type: an image's own file (original), or a JPEG at the
        task's image quality (compressed, cached); video frames as PNG or JPEG."""
        if quality == "compressed":
            key = f"{self.cache}frame-{number}.jpeg"
            cached = _cached(self.media, key)
            if cached is None:
                cached = self._encode(number, jpeg=True)
                self.media.write(key, cached)
            return cached, "image/jpeg"
        if self.data.media_type == "video":
            return self._encode(number, jpeg=False), "image/png"
        row = self._frame_rows(number, number)[0]
        return self._read(row.path), images.mime_of(row.path)

    def _encode(self, number: int, jpeg: bool) -> bytes:
        if self.data.media_type == "video":
            for _, img in self._video_frames(number, number):
                return _encode(img, jpeg, self.data.image_quality)
            raise FileNotFoundError(f"frame {number} could not be decoded")
        row = self._frame_rows(number, number)[0]
        with self._open(row.path) as source:
            return images.to_jpeg(source, self.data.image_quality, row.path)

    # -- chunks and previews ------------------------------------------------------------------

    def chunk(self, first: int, last: int, quality: str) -> bytes:
        """A zip of frames ``first..last`` named ``000000.<ext>``, ``000001.<ext>``, ... in
        frame order (CVAT's imageset chunk); cached."""
        key = f"{self.cache}chunk-{quality}-{first}-{last}.zip"
        cached = _cached(self.media, key)
        if cached is not None:
            return cached
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
            for position, (name, payload) in enumerate(self._chunk_items(first, last, quality)):
                archive.writestr(f"{position:06d}{name}", payload)
        data = out.getvalue()
        self.media.write(key, data)
        return data

    def _chunk_items(self, first: int, last: int, quality: str) -> Iterator[tuple[str, bytes]]:
        jpeg = quality == "compressed"
        if self.data.media_type == "video":
            for _, img in self._video_frames(first, last):
                yield (".jpeg" if jpeg else ".png"), _encode(img, jpeg, self.data.image_quality)
            return
        rows = self._frame_rows(first, last)
        for row, payload in zip(rows, self._originals(rows), strict=True):
            ext = "." + row.path.rsplit(".", 1)[-1].lower() if "." in row.path else ""
            if jpeg:
                yield ".jpeg", images.to_jpeg(payload, self.data.image_quality, row.path)
            else:
                yield ext, payload

    def preview(self, number: int) -> bytes:
        key = f"{self.cache}preview-{number}.jpeg"
        cached = _cached(self.media, key)
        if cached is None:
            if self.data.media_type == "video":
                img = next(img for _, img in self._video_frames(number, number))
                cached = images.preview(img)
            else:
                row = self._frame_rows(number, number)[0]
                with self._open(row.path) as source:
                    try:
                        with Image.open(source) as img:
                            cached = images.preview(img)
                    except Exception as exc:  # Pillow raises many kinds for a broken file
                        raise images.BadImage(
                            f"{row.path}: not a valid image ({type(exc).__name__})") from None
            self.media.write(key, cached)
        return cached


def _encode(img: Image.Image, jpeg: bool, quality: int) -> bytes:
    if jpeg:
        return images.encode_jpeg(img, quality)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _cached(media: Any, key: str) -> bytes | None:
    try:
        return media.read(key)
    except FileNotFoundError:
        return None
