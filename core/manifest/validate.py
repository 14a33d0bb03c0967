"""Checking a manifest completely, with one line-numbered message per problem.

CVAT itself only looks at the first lines (``is_manifest``) and fails later, deep inside task
creation, on the rest. This reads every line once (streaming) and reports what CVAT would trip
over: bad JSON, missing or mistyped fields, duplicate names, key frames out of order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from cvatcore.core.manifest.reader import ManifestReader, ManifestReadError, parse_line

CHECKSUM = re.compile(r"[0-9a-f]{32}")
NO_SIZE_EXTENSIONS = (".pcd", ".bin")  # 3D items carry no width/height


@dataclass
class Problem:
    line: int  # 1-based; 0 for the file as a whole
    message: str

    def format(self, path: str) -> str:
        return f"{path}:{self.line}: {self.message}" if self.line else f"{path}: {self.message}"


@dataclass
class Report:
    type: str | None = None
    items: int = 0  # item lines (valid or not)
    problems: list[Problem] = field(default_factory=list)
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems


def validate_manifest(
    path: str, storage_options: dict[str, Any] | None = None, max_problems: int = 100
) -> Report:
    """The problems of the manifest at ``path`` (a file or bucket URL), at most ``max_problems``."""
    reader = ManifestReader(path, storage_options)
    report = Report()
    try:
        header = reader.header()
    except ManifestReadError as exc:
        report.problems.append(Problem(exc.line, exc.message))
        return report
    except OSError as exc:
        report.problems.append(Problem(0, f"cannot be read ({type(exc).__name__}: {exc})"))
        return report
    report.type = header.type
    checker = VideoChecker(header.properties) if header.type == "video" else ImagesChecker()
    report.problems.extend(Problem(3, m) for m in checker.header_problems())
    for number, _, raw in reader.lines():
        if number <= header.lines:
            continue
        if len(report.problems) >= max_problems:
            report.truncated = True
            break
        if not raw.strip():
            report.problems.append(Problem(number, "blank line (a manifest has none)"))
            continue
        report.items += 1
        try:
            item = parse_line(number, raw)
        except ManifestReadError as exc:
            report.problems.append(Problem(number, exc.message))
            continue
        report.problems.extend(Problem(number, m) for m in checker.check(number, item))
    if report.items == 0 and not report.truncated:
        what = "key frames" if header.type == "video" else "images"
        report.problems.append(Problem(0, f"the manifest lists no {what}"))
    return report


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _checksum_problems(item: dict[str, Any]) -> list[str]:
    value = item.get("checksum")
    if value is None or (isinstance(value, str) and CHECKSUM.fullmatch(value)):
        return []
    return [f"'checksum' must be 32 lowercase hex digits (an md5), got {value!r}"]


class ImagesChecker:
    def __init__(self) -> None:
        self._seen: dict[str, int] = {}

    def header_problems(self) -> list[str]:
        return []

    def check(self, number: int, item: dict[str, Any]) -> list[str]:
        problems = []
        name, ext = item.get("name"), item.get("extension")
        for key, value in (("name", name), ("extension", ext)):
            if value is None:
                problems.append(f"'{key}' is required")
            elif not isinstance(value, str) or not value:
                problems.append(f"'{key}' must be a non-empty string, got {value!r}")
        if isinstance(ext, str) and ext and not ext.startswith("."):
            problems.append(f"'extension' must start with a dot, got {ext!r}")
        if isinstance(name, str) and isinstance(ext, str):
            full = name + ext
            if full in self._seen:
                problems.append(f"duplicate image {full!r} (first on line {self._seen[full]})")
            else:
                self._seen[full] = number
        if not (isinstance(ext, str) and ext.lower() in NO_SIZE_EXTENSIONS):
            for key in ("width", "height"):
                value = item.get(key)
                if not _is_int(value) or value <= 0:
                    problems.append(f"'{key}' must be a positive integer, got {value!r}")
        problems += _meta_problems(item)
        return problems + _checksum_problems(item)


def _meta_problems(item: dict[str, Any]) -> list[str]:
    if "meta" not in item:
        return []
    meta = item["meta"]
    if not isinstance(meta, dict):
        return [f"'meta' must be an object, got {meta!r}"]
    related = meta.get("related_images", [])
    if not isinstance(related, list) or not all(isinstance(r, str) for r in related):
        return [f"'meta.related_images' must be a list of paths, got {related!r}"]
    return []


class VideoChecker:
    def __init__(self, properties: dict[str, Any]) -> None:
        self._props = properties
        self._last: tuple[int, int, int] | None = None  # line, number, pts

    def header_problems(self) -> list[str]:
        p, problems = self._props, []
        name = p.get("name")
        if not isinstance(name, str) or not name:
            problems.append(f"'properties.name' must be the video's file name, got {name!r}")
        res = p.get("resolution")
        if not (isinstance(res, list) and len(res) == 2 and all(_is_int(v) and v > 0 for v in res)):
            problems.append(f"'properties.resolution' must be [width, height], got {res!r}")
        if not _is_int(p.get("length")) or p["length"] <= 0:
            problems.append(
                f"'properties.length' must be a positive frame count, got {p.get('length')!r}"
            )
        return problems

    def check(self, number: int, item: dict[str, Any]) -> list[str]:
        problems = []
        frame, pts = item.get("number"), item.get("pts")
        for key, value in (("number", frame), ("pts", pts)):
            if not _is_int(value):
                problems.append(f"'{key}' must be an integer, got {value!r}")
        if _is_int(frame):
            length = self._props.get("length")
            if frame < 0 or (_is_int(length) and 0 < length <= frame):
                problems.append(f"frame {frame} is outside the video (length {length})")
            if _is_int(pts):
                if self._last and (frame <= self._last[1] or pts <= self._last[2]):
                    problems.append(
                        f"key frame {frame} (pts {pts}) does not come after frame "
                        f"{self._last[1]} (pts {self._last[2]}) on line {self._last[0]}"
                    )
                self._last = (number, frame, pts)
        return problems + _checksum_problems(item)
