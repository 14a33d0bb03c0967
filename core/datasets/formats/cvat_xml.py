"""CVAT for images 1.1 and CVAT for video 1.1: ``annotations.xml`` (+ ``images/``), written
element by element while the frames stream past."""

from __future__ import annotations

import functools
import io
import re
from collections.abc import Iterable
from typing import IO, Any
from xml.sax.saxutils import escape, quoteattr

from cvatcore.core.datasets.shapes import fmt, track_frames
from cvatcore.hooks.datasets import ArchiveWriter, DatasetLabel, ExportDataset

Annotation = dict[str, Any]
TAGS = {"rectangle": "box", "polygon": "polygon", "polyline": "polyline", "points": "points",
        "ellipse": "ellipse", "cuboid": "cuboid", "mask": "mask", "skeleton": "skeleton"}
CUBOID = ("xtl1", "ytl1", "xbl1", "ybl1", "xtr1", "ytr1", "xbr1", "ybr1",
          "xtl2", "ytl2", "xbl2", "ybl2", "xtr2", "ytr2", "xbr2", "ybr2")


_SPECIAL = re.compile(r'[&<>"\n\r\t]')


def _quote(value: Any) -> str:
    """``quoteattr`` for the few values that need it: numbers and plain names (nearly all
    of them) only get their quotes, which halves the time of writing a shape."""
    text = str(value)
    return quoteattr(text) if _SPECIAL.search(text) else f'"{text}"'


def _attrs(pairs: Iterable[tuple[str, Any]]) -> str:
    return "".join([f" {k}={_quote(v)}" for k, v in pairs])


def _points(points: list[float]) -> str:
    """``x,y;x,y`` with two decimals: one ``%`` over the whole list (a format per pair costs
    twice as much)."""
    if len(points) % 2:
        raise ValueError(f"an odd number of coordinates ({len(points)})")
    return ("%.2f,%.2f;" * (len(points) // 2) % tuple(points))[:-1]


@functools.lru_cache(maxsize=4096)
def _head(tag: str, label: str, source: str, occluded: bool) -> str:
    """The start of a plain shape's element, the same for most shapes of a label."""
    return f'<{tag} label={_quote(label)} source={_quote(source)} occluded="{int(occluded)}" '


def _plain_shape_xml(shape: Annotation, out: IO[str], indent: str) -> bool:
    """The shapes nearly every task is made of (unrotated boxes, polygons, polylines,
    points; no elements), written with the label's part made once: the same text
    ``_shape_xml`` writes, in a fraction of the time. False for any other shape."""
    kind, p = shape["type"], shape["points"]
    if kind == "rectangle" and not shape.get("rotation"):
        geometry = f'xtl="{p[0]:.2f}" ytl="{p[1]:.2f}" xbr="{p[2]:.2f}" ybr="{p[3]:.2f}"'
    elif kind in ("polygon", "polyline", "points"):
        geometry = f'points="{_points(p)}"'
    else:
        return False
    if shape.get("elements"):
        return False
    tag = TAGS[kind]
    group, z_order = shape.get("group"), shape.get("z_order", 0)
    tail = f" group_id={_quote(group)}" if group else ""
    z_text = f'"{z_order}"' if type(z_order) is int else _quote(z_order)
    head = _head(tag, shape["label"], shape.get("source", "manual"), bool(shape.get("occluded")))
    attributes = shape.get("attributes")
    if not attributes:
        out.write(f"{indent}{head}{geometry} z_order={z_text}{tail}>\n{indent}</{tag}>\n")
        return True
    out.write(f"{indent}{head}{geometry} z_order={z_text}{tail}>\n")
    _attribute_children(attributes, out, indent + "  ")
    out.write(f"{indent}</{tag}>\n")
    return True


def _geometry(shape: Annotation) -> list[tuple[str, Any]]:
    p, kind = shape["points"], shape["type"]
    if kind == "rectangle":
        out = list(zip(("xtl", "ytl", "xbr", "ybr"), map(fmt, p), strict=True))
        if shape.get("rotation"):
            out.append(("rotation", fmt(shape["rotation"])))
        return out
    if kind == "ellipse":
        cx, cy, rx, ry = p[:4]
        out = [("cx", fmt(cx)), ("cy", fmt(cy)), ("rx", fmt(abs(rx - cx))),
               ("ry", fmt(abs(cy - ry)))]
        if shape.get("rotation"):
            out.append(("rotation", fmt(shape["rotation"])))
        return out
    if kind == "cuboid":
        return list(zip(CUBOID, map(fmt, p), strict=True))
    if kind == "mask":
        left, top, right, bottom = (int(v) for v in p[-4:])
        return [("rle", ", ".join(str(int(v)) for v in p[:-4])), ("left", left), ("top", top),
                ("width", right - left + 1), ("height", bottom - top + 1)]
    if kind == "skeleton":
        return []
    return [("points", _points(p))]


def _attribute_children(attributes: dict[str, Any], out: IO[str], indent: str) -> None:
    for name, value in attributes.items():
        out.write(f"{indent}<attribute name={quoteattr(name)}>{escape(str(value))}</attribute>\n")


def _shape_xml(shape: Annotation, out: IO[str], indent: str, tracked: bool = False) -> None:
    tag = TAGS[shape["type"]]
    head: list[tuple[str, Any]] = []
    if tracked:
        head += [("frame", shape["frame"]), ("keyframe", int(bool(shape.get("keyframe", True)))),
                 ("outside", int(bool(shape.get("outside"))))]
    else:
        head += [("label", shape["label"]), ("source", shape.get("source", "manual"))]
    head.append(("occluded", int(bool(shape.get("occluded")))))
    head += _geometry(shape)
    head.append(("z_order", shape.get("z_order", 0)))
    if not tracked and shape.get("group"):
        head.append(("group_id", shape["group"]))
    out.write(f"{indent}<{tag}{_attrs(head)}>\n")
    for element in shape.get("elements", []):
        e_head = [("label", element["label"]), ("source", element.get("source", "manual")),
                  ("outside", int(bool(element.get("outside")))),
                  ("occluded", int(bool(element.get("occluded")))),
                  ("points", _points(element["points"]))]
        if tracked:
            e_head = [("frame", shape["frame"]),
                      ("keyframe", int(bool(element.get("keyframe", True)))), *e_head]
        out.write(f"{indent}  <points{_attrs(e_head)}>\n")
        _attribute_children(element.get("attributes", {}), out, indent + "    ")
        out.write(f"{indent}  </points>\n")
    _attribute_children(shape.get("attributes", {}), out, indent + "  ")
    out.write(f"{indent}</{tag}>\n")


def _labels_xml(labels: list[DatasetLabel], out: IO[str]) -> None:
    out.write("    <labels>\n")
    for label in labels:
        out.write(f"      <label>\n        <name>{escape(label.name)}</name>\n"
                  f"        <color>{escape(label.color)}</color>\n"
                  f"        <type>{escape(label.type)}</type>\n")
        if label.parent:
            out.write(f"        <parent>{escape(label.parent)}</parent>\n")
        if label.svg:
            out.write(f"        <svg>{escape(label.svg)}</svg>\n")
        out.write("        <attributes>\n")
        for a in label.attributes:
            out.write(f"          <attribute>\n            <name>{escape(a.name)}</name>\n"
                      f"            <mutable>{str(a.mutable)}</mutable>\n"
                      f"            <input_type>{a.input_type}</input_type>\n"
                      f"            <default_value>{escape(a.default_value)}</default_value>\n"
                      f"            <values>{escape(chr(10).join(a.values))}</values>\n"
                      "          </attribute>\n")
        out.write("        </attributes>\n      </label>\n")
    out.write("    </labels>\n")


def _meta(dataset: ExportDataset, out: IO[str]) -> None:
    meta = dataset.meta
    kind = "job" if dataset.kind == "job" else dataset.kind
    out.write(f'<?xml version="1.0" encoding="utf-8"?>\n<annotations>\n'
              f"  <version>1.1</version>\n  <meta>\n    <{kind}>\n")
    for key in ("id", "name", "size", "mode", "overlap", "bugtracker", "created", "updated",
                "subset", "start_frame", "stop_frame"):
        if key in meta:
            out.write(f"      <{key}>{escape(str(meta[key]))}</{key}>\n")
    out.write(f"    </{kind}>\n")
    _labels_xml(dataset.labels, out)
    out.write(f"    <dumped>{escape(str(meta.get('dumped', '')))}</dumped>\n  </meta>\n")


def _image_path(dataset: ExportDataset, frame: Any) -> str:
    sub = f"{frame.subset}/" if dataset.kind == "project" else ""
    return f"images/{sub}{frame.name}"


def export_images(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    """``CVAT for images 1.1``: one ``<image>`` per frame; tracks as per-frame shapes."""
    with archive.open("annotations.xml") as raw, io.TextIOWrapper(raw, "utf-8") as out:
        _meta(dataset, out)
        for frame in dataset.frames():
            head = [("id", frame.index), ("name", frame.name)]
            if dataset.kind == "project":
                head += [("subset", frame.subset), ("task_id", frame.task_id)]
            head += [("width", frame.width), ("height", frame.height)]
            out.write(f"  <image{_attrs(head)}>\n")
            for shape in frame.shapes:
                if not shape.get("outside") and not _plain_shape_xml(shape, out, "    "):
                    _shape_xml(shape, out, "    ")
            for tag in frame.tags:
                out.write(f"    <tag{_attrs([('label', tag['label']), ('source', tag.get('source', 'manual'))])}>\n")  # noqa: E501
                _attribute_children(tag.get("attributes", {}), out, "      ")
                out.write("    </tag>\n")
            out.write("  </image>\n")
            if dataset.save_images:
                archive.write(_image_path(dataset, frame), frame.image())
        out.write("</annotations>\n")


def export_video(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    """``CVAT for video 1.1``: tracks with every frame's shape (key frames marked), then the
    plain shapes as one-frame tracks, as CVAT writes them; tags are not kept."""
    frames = []
    with archive.open("annotations.xml") as raw, io.TextIOWrapper(raw, "utf-8") as out:
        _meta(dataset, out)
        next_id = 0
        for track in dataset.tracks():
            _track_xml(next_id, track, list(track_frames(track, track["last_frame"])), out)
            next_id += 1
        for frame in dataset.frames():
            frames.append((frame.index, frame.name))
            for shape in frame.shapes:
                if shape.get("track_id") is None:
                    _track_xml(next_id, {**shape, "id": None},
                               [dict(shape, keyframe=True, outside=False)], out)
                    next_id += 1
            if dataset.save_images:
                archive.write(_image_path(dataset, frame), frame.image())
        out.write("</annotations>\n")


def _track_xml(track_id: int, track: Annotation, shapes: list[Annotation], out: IO[str]) -> None:
    head = [("id", track_id), ("label", track["label"]), ("source", track.get("source", "manual"))]
    if track.get("group"):
        head.append(("group_id", track["group"]))
    out.write(f"  <track{_attrs(head)}>\n")
    for shape in shapes:
        _shape_xml(shape, out, "    ", tracked=True)
    out.write("  </track>\n")
