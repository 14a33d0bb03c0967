"""A task's annotations are its jobs' annotations: spreading a body over the jobs by frame,
and gathering the jobs' rows back into one body.

With ``overlap``, neighbouring segments share frames, and, as CVAT, a tag or shape on a shared
frame is written to every job whose segment holds the frame. Reading the task gathers the jobs
in segment order and leaves out a copy that is identical to one already taken from an earlier
job on a shared frame, so each annotation shows once. A track is written whole to the first job
whose segment holds its first frame (CVAT cuts tracks at segment borders and merges them back
by matching boxes; keeping a track in one job needs no matching and loses nothing).
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from cvatcore.core.models import Job, Segment

Row = dict[str, Any]


class FrameSet:
    """Frames as ranges (a segment's ``start``-``stop``) and lists (specific frames),
    limited to the task's frame count; ``frame in frames`` without listing them."""

    def __init__(self, size: int, parts: Iterable[range | frozenset[int]] = ()) -> None:
        self.size = size
        self.parts = list(parts)

    def __contains__(self, frame: object) -> bool:
        if not isinstance(frame, int) or not 0 <= frame < self.size:
            return False
        return any(frame in part for part in self.parts)

    def describe(self, whose: str) -> str:
        if self.size == 0:
            return f"{whose} frames (the task has no data yet)"
        pieces = []
        for part in self.parts:
            if isinstance(part, range):
                last = min(part.stop, self.size) - 1
                pieces.append(f"{part.start}-{last}" if last > part.start else str(part.start))
            else:
                frames = sorted(f for f in part if f < self.size)
                pieces.append(", ".join(map(str, frames[:10])) + (", ..." if len(frames) > 10
                                                                   else ""))
        return f"{whose} frames ({'; '.join(pieces) or 'none'})"


def segment_frames(segment: Segment) -> range | frozenset[int]:
    if segment.type == "specific_frames" and segment.frames is not None:
        return frozenset(segment.frames)
    return range(segment.start_frame, segment.stop_frame + 1)


@dataclass
class JobPart:
    """One job of a task, with its segment's frames."""

    job: Job
    frames: range | frozenset[int]

    @property
    def first(self) -> int:
        return self.frames.start if isinstance(self.frames, range) else min(self.frames,
                                                                             default=0)


def spread(parts: list[JobPart], rows: dict[str, list[Row]]) -> dict[int, dict[str, list[Row]]]:
    """The rows each job gets. A row that goes to several jobs is the given dict in the first
    and copies in the others, so the ids written back onto the given dicts are the first
    job's (the ones a task read shows)."""
    result = {p.job.id: {"tags": [], "shapes": [], "tracks": []} for p in parts}
    for kind in ("tags", "shapes"):
        for row in rows.get(kind, ()):
            first = True
            for part in parts:
                if row["frame"] in part.frames:
                    result[part.job.id][kind].append(row if first else copy.deepcopy(row))
                    first = False
    for row in rows.get("tracks", ()):
        for part in parts:
            if row["frame"] in part.frames:
                result[part.job.id]["tracks"].append(row)
                break
    return result


def signature(kind: str, row: Row) -> bytes:
    """What makes two copies of an annotation the same annotation (everything but ids);
    stored points may be unparsed text (``annotations_json.raw``), which orjson writes as
    is."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in ("id", "track_id")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return kind.encode() + orjson.dumps(strip(row), option=orjson.OPT_SORT_KEYS)


def shared_frames(parts: list[JobPart]) -> set[int]:
    """Frames that belong to more than one job's segment."""
    seen: Counter[int] = Counter()
    for part in parts:
        if isinstance(part.frames, frozenset):
            seen.update(part.frames)
    shared = {f for f, n in seen.items() if n > 1}
    ranges = [p.frames for p in parts if isinstance(p.frames, range)]
    for i, a in enumerate(ranges):
        for b in ranges[i + 1:]:
            shared.update(range(max(a.start, b.start), min(a.stop, b.stop)))
        for part in parts:
            if isinstance(part.frames, frozenset):
                shared.update(f for f in part.frames if f in a)
    return shared


def gather(parts: list[JobPart], rows_by_job: dict[int, dict[str, list[Row]]]
           ) -> dict[str, list[Row]]:
    """The task's annotations from its jobs' rows, one copy of each (see the module text).

    On shared frames, an annotation that ``n`` jobs hold ``k`` times each shows ``k`` times:
    per signature, a job's rows count as copies of rows already shown, up to that number."""
    shared = shared_frames(parts)
    shown: Counter[bytes] = Counter()
    result: dict[str, list[Row]] = {"tags": [], "shapes": [], "tracks": []}
    for part in sorted(parts, key=lambda p: (p.first, p.job.id)):
        rows = rows_by_job.get(part.job.id, {})
        here: Counter[bytes] = Counter()
        for kind in ("tags", "shapes"):
            for row in rows.get(kind, ()):
                if row["frame"] in shared:
                    key = signature(kind, row)
                    here[key] += 1
                    if here[key] <= shown[key]:
                        continue  # a copy of one shown from an earlier job
                    shown[key] += 1
                result[kind].append(row)
        result["tracks"].extend(rows.get("tracks", ()))
    for kind in ("tags", "shapes"):
        result[kind].sort(key=lambda r: (r["frame"], r["id"]))
    result["tracks"].sort(key=lambda r: r["id"])
    return result


def copies_of(parts: list[JobPart], rows_by_job: dict[int, dict[str, list[Row]]],
              kind: str, originals: list[tuple[int, Row]]) -> list[int]:
    """Ids of the copies of ``originals`` (``(job id, row)`` of tags or shapes) that other
    jobs hold on the same shared frame: one copy per other job and original."""
    index: dict[int, dict[bytes, list[int]]] = {}
    for part in parts:
        by_key: dict[bytes, list[int]] = {}
        for row in rows_by_job.get(part.job.id, {}).get(kind, ()):
            by_key.setdefault(signature(kind, row), []).append(row["id"])
        index[part.job.id] = by_key
    claimed = {row["id"] for _, row in originals}
    found = []
    for job_id, row in originals:
        key = signature(kind, row)
        for part in parts:
            if part.job.id == job_id or row["frame"] not in part.frames:
                continue
            for candidate in index[part.job.id].get(key, ()):
                if candidate not in claimed:
                    claimed.add(candidate)
                    found.append(candidate)
                    break
    return found
