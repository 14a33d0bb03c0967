"""``CVAT 1.1`` import: both XML flavours (images and video), a single ``.xml`` or a zip of
them, read with expat so every error names the file and line."""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any
from xml.parsers import expat

from cvatcore.core.datasets.formats.cvat_xml import CUBOID, TAGS
from cvatcore.hooks.datasets import (
    ArchiveReader,
    DatasetFormatError,
    ImportContext,
    ImportedAnnotations,
)

Annotation = dict[str, Any]
SHAPES = {xml: kind for kind, xml in TAGS.items()}
PLAIN = frozenset({"rectangle", "polygon", "polyline", "points"})
CHUNK = 1 << 20


def _num(attrs: dict[str, str], key: str, where: str) -> float:
    try:
        return float(attrs[key])
    except KeyError:
        raise DatasetFormatError(f"{where}: the attribute {key!r} is missing") from None
    except ValueError:
        raise DatasetFormatError(f"{where}: {key}={attrs[key]!r} is not a number") from None


def _pairs(text: str, where: str) -> list[float]:
    try:
        return [float(v) for pair in text.split(";") if pair.strip() for v in pair.split(",")]
    except ValueError:
        raise DatasetFormatError(f"{where}: points={text!r} are not x,y;x,y pairs") from None


def _geometry(kind: str, a: dict[str, str], where: str) -> tuple[list[float], float]:
    rotation = float(a.get("rotation", 0) or 0)
    if kind == "rectangle":
        return [_num(a, k, where) for k in ("xtl", "ytl", "xbr", "ybr")], rotation
    if kind == "ellipse":
        cx, cy, rx, ry = (_num(a, k, where) for k in ("cx", "cy", "rx", "ry"))
        return [cx, cy, cx + rx, cy - ry], rotation
    if kind == "cuboid":
        return [_num(a, k, where) for k in CUBOID], 0.0
    if kind == "mask":
        try:
            rle = [float(v) for v in a.get("rle", "").split(",") if v.strip()]
        except ValueError:
            raise DatasetFormatError(f"{where}: rle is not a list of numbers") from None
        left, top = _num(a, "left", where), _num(a, "top", where)
        width, height = _num(a, "width", where), _num(a, "height", where)
        return [*rle, left, top, left + width - 1, top + height - 1], 0.0
    if kind == "skeleton":
        return [], 0.0
    return _pairs(a.get("points", ""), where), 0.0


class _Reader:
    def __init__(self, name: str, context: ImportContext) -> None:
        self.name, self.context = name, context
        self.pending: list[tuple[str, Annotation]] = []  # read, not yet handed on
        self.frame: int | None = None
        self.track: Annotation | None = None
        self.elements: dict[str, Annotation] = {}  # a skeleton track's element tracks
        self.stack: list[Annotation] = []  # the shapes/tags being read
        self.attribute: str | None = None
        self.text: list[str] = []
        self.depth = 0
        self.parser = expat.ParserCreate()
        self.parser.StartElementHandler = self.start
        self.parser.EndElementHandler = self.end
        self.parser.buffer_text = True

    def where(self) -> str:
        return f"{self.name}:{self.parser.CurrentLineNumber}"

    def items(self, stream: IO[bytes]) -> Iterator[tuple[str, Annotation]]:
        """The file fed to expat a chunk at a time, its annotations handed on as they
        close: memory follows the chunk, not the file."""
        try:
            while True:
                try:
                    chunk = stream.read(CHUNK)
                except (OSError, EOFError, ValueError) as exc:
                    raise DatasetFormatError(f"{self.name}: cannot be read ({exc})") from None
                self.parser.Parse(chunk, not chunk)
                yield from self.pending
                self.pending.clear()
                if not chunk:
                    return
        except expat.ExpatError as exc:
            raise DatasetFormatError(f"{self.name}: not valid XML ({exc})") from None

    def _common(self, a: dict[str, str], kind: str) -> Annotation:
        where = self.where()
        item: Annotation = {"attributes": {}, "where": where}
        if kind != "tag":
            points, rotation = _geometry(kind, a, where)
            item.update(type=kind, points=points, rotation=rotation,
                        occluded=a.get("occluded", "0") == "1",
                        outside=a.get("outside", "0") == "1",
                        z_order=int(float(a.get("z_order", 0) or 0)), elements=[])
        if self.track is None or self.stack:
            item.update(label=a.get("label", ""), source=a.get("source", "manual") or "manual",
                        group=int(a.get("group_id", 0) or 0))
        if self.track is not None:
            item["frame"] = int(_num(a, "frame", where))
            item["keyframe"] = a.get("keyframe", "1") == "1"
        elif self.frame is not None:
            item["frame"] = self.frame
        else:
            raise DatasetFormatError(f"{where}: <{kind}> outside an <image> or <track>")
        if not item.get("label", "x") and not self.stack and self.track is None:
            raise DatasetFormatError(f"{where}: <{kind}> has no label")
        return item

    def _plain(self, a: dict[str, str], kind: str) -> Annotation | None:
        """What ``_common`` makes of a box, polygon, polyline or points of an ``<image>``,
        in one step; None for anything unusual (``_common`` then reads it, or says what is
        wrong)."""
        label = a.get("label")
        if kind not in PLAIN or not label or a.get("rotation"):
            return None
        try:
            if kind == "rectangle":
                points = [float(a["xtl"]), float(a["ytl"]), float(a["xbr"]), float(a["ybr"])]
            else:
                points = [float(v) for v in a["points"].replace(";", ",").split(",")]
            z_order = int(a.get("z_order", 0) or 0)
            group = int(a.get("group_id", 0) or 0)
        except (KeyError, ValueError):
            return None
        return {"attributes": {}, "where": f"{self.name}:{self.parser.CurrentLineNumber}",
                "type": kind, "points": points, "rotation": 0.0,
                "occluded": a.get("occluded", "0") == "1", "outside": a.get("outside", "0") == "1",
                "z_order": z_order, "elements": [], "label": label,
                "source": a.get("source", "manual") or "manual", "group": group,
                "frame": self.frame}

    def start(self, tag: str, a: dict[str, str]) -> None:
        self.depth += 1
        if tag == "image":
            where = self.where()
            index = a.get("id")
            if "name" in a:
                self.frame = self.context.frame_of(a["name"], f"{where}: <image>")
            elif index is not None and index.isdigit():
                self.frame = int(index)
            else:
                raise DatasetFormatError(f"{where}: <image> has neither name nor id")
        elif tag == "track" and self.depth == 2:
            self.track = {"label": a.get("label", ""), "source": a.get("source", "manual"),
                          "group": int(a.get("group_id", 0) or 0), "attributes": {},
                          "shapes": [], "elements": [], "where": self.where()}
            self.elements = {}
        elif tag == "tag":
            self.stack.append(self._common(a, "tag"))
        elif tag == "points" and self.stack and self.stack[-1].get("type") == "skeleton":
            self.stack.append(self._common(a, "points"))
        elif tag in SHAPES and (self.frame is not None or self.track is not None):
            item = self._plain(a, SHAPES[tag]) if self.track is None and not self.stack \
                else None
            self.stack.append(item if item is not None else self._common(a, SHAPES[tag]))
        elif tag == "attribute" and self.stack:
            self.attribute, self.text = a.get("name", ""), []
            # text matters only inside <attribute>: the whitespace between all the other
            # elements would cost a Python call each
            self.parser.CharacterDataHandler = self.chars

    def chars(self, data: str) -> None:
        if self.attribute is not None:
            self.text.append(data)

    def end(self, tag: str) -> None:
        self.depth -= 1
        if tag == "attribute" and self.attribute is not None:
            self.stack[-1]["attributes"][self.attribute] = "".join(self.text)
            self.attribute = None
            self.parser.CharacterDataHandler = None
        elif tag == "image":
            self.frame = None
        elif tag == "track" and self.track is not None and self.depth == 1:
            self.track["elements"] = list(self.elements.values())
            self.pending.append(("tracks", self.track))
            self.track = None
        elif self.stack and (tag in SHAPES or tag == "tag"):
            item = self.stack.pop()
            if self.stack:  # a skeleton's point
                self._element(self.stack[-1], item)
            elif self.track is not None:
                self.track["shapes"].append(item)
            else:
                self.pending.append(("tags" if tag == "tag" else "shapes", item))

    def _element(self, skeleton: Annotation, point: Annotation) -> None:
        if self.track is None:
            skeleton["elements"].append(point)
            return
        element = self.elements.setdefault(point["label"], {
            "label": point["label"], "source": point.get("source", "manual"), "attributes": {},
            "shapes": [], "where": point["where"]})
        element["shapes"].append(point)


def _read(archive: ArchiveReader, name: str, context: ImportContext
          ) -> Iterator[tuple[str, Annotation]]:
    with archive.open(name) as stream:
        yield from _Reader(name, context).items(stream)


def import_cvat(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    names = [n for n in archive.names() if n.lower().endswith(".xml")]
    if not names:
        raise DatasetFormatError(f"{archive.filename}: no .xml file found (CVAT 1.1 expects "
                                 "annotations.xml, or a zip with it)")
    return ImportedAnnotations(stream=(
        item for name in sorted(names) for item in _read(archive, name, context)))
