"""Video manifests with PyAV, following CVAT's ``VideoStreamReader``.

Only key frames are listed, and only those a decoder can really seek to: each one is looked up
again in a second container (seek to its ``pts``, decode the first frame) and kept when that
frame has the same ``pts`` and the same md5 (of the frame converted to an RGB PIL image).
Decoding stops with an error when ``pts`` or ``dts`` go backwards, when the first frame is no
I-frame, or (unless forced) when key frames are too sparse for smooth decoding: ``frames //
key frames >= 3 * chunk_size + 1`` at any point.
"""

from __future__ import annotations

import math
import mimetypes
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import IO, Any

import av

from cvatcore.core.manifest.images import pixels_md5
from cvatcore.core.manifest.progress import Progress
from cvatcore.core.manifest.sources import Source

CHUNK_SIZE = 36


class VideoError(Exception):
    """The video cannot get a manifest (no video stream, bad timestamps, ...)."""


class TooFewKeyFrames(VideoError):
    """Key frames are too sparse; ``--force`` writes the manifest anyway."""


def is_video(path: str) -> bool:
    media_type = mimetypes.guess_type(path)[0]
    return bool(media_type) and media_type.startswith("video")


@dataclass
class VideoManifest:
    name: str
    width: int
    height: int
    length: int = 0
    key_frames: list[tuple[int, int, str]] = field(default_factory=list)  # number, pts, md5


def _video_stream(container: Any) -> Any:
    stream = next((s for s in container.streams if s.type == "video"), None)
    if stream is None:
        raise VideoError("the file has no video stream")
    stream.thread_type = "AUTO"
    return stream


def rotated_size(width: int, height: int, angle: float) -> tuple[int, int]:
    """The bounding box of a ``width`` x ``height`` frame turned by ``angle`` degrees, rounded
    down the way CVAT's ``rotate_image`` (OpenCV's ``getRotationMatrix2D``) rounds it."""
    radians = angle * (math.pi / 180)
    cos, sin = abs(math.cos(radians)), abs(math.sin(radians))
    return int(height * sin + width * cos), int(height * cos + width * sin)


def _is_i_frame(frame: Any) -> bool:
    """PyAV < 14 gives an enum member named "I"; newer releases a plain int equal to it."""
    kind = frame.pict_type
    return getattr(kind, "name", None) == "I" or kind == av.video.frame.PictureType.I


def _probe(f: IO[bytes] | str) -> tuple[int, int, int]:
    """``(width, height)`` of the first frame, which must be an I-frame, and the container's
    frame count (0 when it has none; only a progress bar's total)."""
    with av.open(f, mode="r") as container:
        stream = _video_stream(container)
        total = int(stream.frames or 0)
        for packet in container.demux(stream):
            for frame in packet.decode():
                if not _is_i_frame(frame):
                    raise VideoError("the first frame is not a key frame")
                width, height = frame.width, frame.height
                rotate = stream.metadata.get("rotate")
                if rotate:
                    width, height = rotated_size(width, height, 360 - int(rotate))
                return width, height, total
    raise VideoError("the video has no frames")


def _seeks_to(container: Any, stream: Any, pts: int, md5: str) -> bool:
    container.seek(offset=pts, stream=stream)
    for packet in container.demux(stream):
        for frame in packet.decode():
            return frame.pts == pts and pixels_md5(frame.to_image()) == md5
    return False


def frames(
    opener: Callable[[], IO[bytes] | str], force: bool, chunk_size: int = CHUNK_SIZE
) -> Iterator[tuple[int, int, str] | int]:
    """Each decoded frame's index, or ``(index, pts, md5)`` for a usable key frame."""
    upper_bound = 3 * chunk_size + 1
    with ExitStack() as stack:
        reading = stack.enter_context(av.open(opener(), mode="r"))
        checking = stack.enter_context(av.open(opener(), mode="r"))
        stream, check_stream = _video_stream(reading), _video_stream(checking)
        prev_pts = prev_dts = None
        index = key_frame_count = 0
        for packet in reading.demux(stream):
            for frame in packet.decode():
                if None not in (frame.pts, prev_pts) and frame.pts <= prev_pts:
                    raise VideoError(f"frame {index}: the pts sequence does not increase")
                if None not in (frame.dts, prev_dts) and frame.dts <= prev_dts:
                    raise VideoError(f"frame {index}: the dts sequence does not increase")
                prev_pts, prev_dts = frame.pts, frame.dts
                if frame.key_frame and frame.pts is not None:
                    md5 = pixels_md5(frame.to_image())
                    if _seeks_to(checking, check_stream, frame.pts, md5):
                        key_frame_count += 1
                        yield index, frame.pts, md5
                    else:
                        yield index
                else:
                    yield index
                index += 1
                if index // (key_frame_count or 1) >= upper_bound and not force:
                    raise TooFewKeyFrames(
                        "the video has too few key frames for smooth decoding"
                        f" (after {index} frames: {key_frame_count})"
                    )


def build(source: Source, force: bool, progress: Progress | None = None) -> VideoManifest:
    """Decode the whole video of ``source`` (kind ``"file"``) and collect its key frames."""
    rel = source.file
    with ExitStack() as stack:

        def opener() -> IO[bytes] | str:
            local = source.local_path(rel)
            return local if local is not None else stack.enter_context(source.open(rel))

        try:
            width, height, total = _probe(opener())
            if progress is not None:
                progress.start(total or None)
            manifest = VideoManifest(rel.rsplit("/", 1)[-1], width, height)
            for item in frames(opener, force):
                manifest.length += 1
                if isinstance(item, tuple):
                    manifest.key_frames.append(item)
                if progress is not None:
                    progress.update(1)
        except av.FFmpegError as exc:
            raise VideoError(f"cannot decode the video ({exc})") from None
    if not manifest.key_frames and not force:
        raise VideoError("the video has no key frame a decoder can seek to")
    return manifest
