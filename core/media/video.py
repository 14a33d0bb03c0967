"""Video with PyAV: an index built once when the task is created (every frame's timestamp and
which frames are key frames, read from packets without decoding), and frame decoding that
seeks to the nearest key frame before the wanted one instead of decoding from the start."""

from __future__ import annotations

import bisect
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import IO, Any

import av
from PIL import Image


class BadVideo(ValueError):
    """The file is not a video PyAV can index; the message names it."""


@dataclass
class VideoIndex:
    width: int
    height: int
    pts: list[int]  # presentation timestamps in frame order (frame n has pts[n])
    keyframes: list[int] = field(default_factory=list)  # frame numbers of key frames

    @property
    def size(self) -> int:
        return len(self.pts)

    def to_json(self) -> bytes:
        return json.dumps({"width": self.width, "height": self.height, "pts": self.pts,
                           "keyframes": self.keyframes}, separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, data: bytes) -> VideoIndex:
        value = json.loads(data)
        return cls(value["width"], value["height"], value["pts"], value["keyframes"])

    def frame_of(self, pts: int) -> int | None:
        n = bisect.bisect_left(self.pts, pts)
        return n if n < len(self.pts) and self.pts[n] == pts else None

    def keyframe_before(self, frame: int) -> int:
        i = bisect.bisect_right(self.keyframes, frame) - 1
        return self.keyframes[i] if i >= 0 else 0


def build_index(source: str | IO[bytes], name: str, progress: Any = None) -> VideoIndex:
    """Read every packet of the first video stream (no decoding) for its timestamp and key
    frame flag; frames are the packets in presentation order."""
    try:
        with av.open(source) as container:
            if not container.streams.video:
                raise BadVideo(f"{name}: the file has no video stream")
            stream = container.streams.video[0]
            width, height = stream.codec_context.width, stream.codec_context.height
            stamps: list[tuple[int, bool]] = []
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue  # the flush packet at the end
                stamp = packet.pts if packet.pts is not None else packet.dts
                if stamp is None:
                    continue
                stamps.append((stamp, bool(packet.is_keyframe)))
                if progress is not None and len(stamps) % 5000 == 0:
                    progress(len(stamps))
    except BadVideo:
        raise
    except (av.FFmpegError, OSError, ValueError, IndexError) as exc:
        raise BadVideo(f"{name}: not a valid video ({type(exc).__name__})") from None
    if not stamps or not width or not height:
        raise BadVideo(f"{name}: the video has no frames")
    stamps.sort()
    pts = [s for s, _ in stamps]
    keyframes = [n for n, (_, key) in enumerate(stamps) if key] or [0]
    return VideoIndex(width, height, pts, keyframes)


def decode(source: str | IO[bytes], index: VideoIndex, first: int, last: int
           ) -> Iterator[tuple[int, Image.Image]]:
    """Frames ``first..last`` (absolute numbers) as ``(number, PIL image)``, in order.

    Decoding starts at the last key frame at or before ``first``; when the container's seek
    lands after ``first`` (an index that does not match the demuxer's idea of key frames),
    it decodes once more from the beginning. A frame the decoder never produces is skipped.
    """
    with av.open(source) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for start in (index.keyframe_before(first), 0):
            container.seek(index.pts[start], stream=stream, backward=True, any_frame=False)
            produced = False
            for frame in container.decode(stream):
                number = index.frame_of(frame.pts) if frame.pts is not None else None
                if number is None or number < first:
                    continue
                if number > last:
                    return
                if not produced and number > first and start > 0:
                    break  # the seek overshot: try again from the start
                produced = True
                yield number, frame.to_image()
                if number == last:
                    return
            else:
                return
            if start == 0:
                return
