"""Frame numbering as CVAT does it: sorting of the media, start/stop/step, chunk sizes.

A task's frames are numbered 0..size-1 ("relative" numbers, what the API speaks); frame ``r``
is media item ``start_frame + r * step`` ("absolute" number).
"""

from __future__ import annotations

import random
import re

SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")
_STEP = re.compile(r"^step\s*=\s*([1-9]\d*)$")


def frame_step(frame_filter: str) -> int:
    """The N of ``step=N``; 1 when there is no filter. ``ValueError`` for anything else."""
    text = (frame_filter or "").strip()
    if not text:
        return 1
    match = _STEP.match(text)
    if match is None:
        raise ValueError("frame_filter must be empty or 'step=N' with N >= 1")
    return int(match.group(1))


def sort_names(names: list[str], method: str, order: list[str] | None = None) -> list[str]:
    """``names`` in the order of CVAT's sorting ``method``. ``predefined`` keeps the given
    order, or ``order`` (the ``upload_file_order`` field) when it is not empty."""
    if method == "lexicographical":
        return sorted(names)
    if method == "natural":
        from natsort import os_sorted

        return list(os_sorted(names))
    if method == "predefined":
        return list(order) if order else list(names)
    if method == "random":
        shuffled = list(names)
        random.shuffle(shuffled)
        return shuffled
    raise ValueError(f"unknown sorting method {method!r}")


def selected_range(media_size: int, start: int, stop: int | None, step: int) -> range:
    """The absolute numbers of the media items a task keeps."""
    last = media_size - 1 if stop is None else min(stop, media_size - 1)
    return range(start, last + 1, step)


def default_chunk_size(width: int, height: int) -> int:
    """CVAT's default: about 36 Full-HD frames' worth of pixels, 2 to 72 frames."""
    area = max(1, width * height)
    return max(2, min(72, 36 * 1920 * 1080 // area))

