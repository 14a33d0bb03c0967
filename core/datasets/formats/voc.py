"""PASCAL VOC 1.1: ``Annotations/<frame>.xml`` (boxes with CVAT's attributes),
``ImageSets/Main/default.txt``, ``labelmap.txt`` and ``JPEGImages/`` when images are saved."""

from __future__ import annotations

import posixpath
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)


def _object(shape: dict, index: int) -> str:
    x1, y1, x2, y2 = shape["points"]
    attrs = "".join(f"<attribute><name>{escape(k)}</name><value>{escape(str(v))}</value>"
                    "</attribute>" for k, v in shape.get("attributes", {}).items())
    return (f"  <object>\n    <name>{escape(shape['label'])}</name>\n"
            "    <pose>Unspecified</pose>\n    <truncated>0</truncated>\n"
            f"    <difficult>0</difficult>\n    <occluded>{int(bool(shape.get('occluded')))}"
            f"</occluded>\n    <bndbox><xmin>{x1:.2f}</xmin><ymin>{y1:.2f}</ymin>"
            f"<xmax>{x2:.2f}</xmax><ymax>{y2:.2f}</ymax></bndbox>\n"
            f"    <attributes>{attrs}</attributes>\n  </object>\n")


def export_voc(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    stems = []
    for frame in dataset.frames():
        stem = posixpath.splitext(frame.name)[0]
        stems.append(stem)
        objects = [_object(s, i) for i, s in enumerate(frame.shapes)
                   if s["type"] == "rectangle" and not s.get("outside")]
        archive.write(f"Annotations/{stem}.xml", (
            f"<annotation>\n  <folder></folder>\n  <filename>{escape(frame.name)}</filename>\n"
            "  <source><database>Unknown</database><annotation>Unknown</annotation>"
            "<image>Unknown</image></source>\n"
            f"  <size><width>{frame.width}</width><height>{frame.height}</height>"
            "<depth>3</depth></size>\n  <segmented>0</segmented>\n"
            + "".join(objects) + "</annotation>\n"))
        if dataset.save_images:
            archive.write(f"JPEGImages/{frame.name}", frame.image())
    archive.write("ImageSets/Main/default.txt", "".join(f"{s}\n" for s in stems))
    lines = ["# label:color_rgb:parts:actions\n", "background:0,0,0::\n"]
    lines += [f"{label.name}:{_rgb(label.color)}::\n" for label in dataset.labels
              if not label.parent]
    archive.write("labelmap.txt", "".join(lines))


def _rgb(color: str) -> str:
    if len(color) == 7 and color.startswith("#"):
        return ",".join(str(int(color[i:i + 2], 16)) for i in (1, 3, 5))
    return "0,0,0"


def _text(node: ElementTree.Element, path: str, where: str) -> str:
    found = node.find(path)
    if found is None or found.text is None:
        raise DatasetFormatError(f"{where}: <{path}> is missing")
    return found.text.strip()


def import_voc(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    files = [n for n in archive.names() if n.lower().endswith(".xml")
             and (n.startswith("Annotations/") or "/Annotations/" in n)]
    if not files:
        raise DatasetFormatError(f"{archive.filename}: no Annotations/*.xml found")
    result = ImportedAnnotations()
    for name in files:
        try:
            root = ElementTree.fromstring(archive.read(name))
        except ElementTree.ParseError as exc:
            raise DatasetFormatError(f"{name}: not valid XML ({exc})") from None
        filename = root.findtext("filename") or posixpath.basename(name)[:-4]
        frame = context.frame_of(filename.strip(), f"{name}: <filename>")
        for i, obj in enumerate(root.findall("object")):
            where = f"{name}: object {i + 1}"
            try:
                box = [float(_text(obj, f"bndbox/{k}", where))
                       for k in ("xmin", "ymin", "xmax", "ymax")]
            except ValueError:
                raise DatasetFormatError(f"{where}: bndbox values are not numbers") from None
            attributes = {(a.findtext("name") or ""): (a.findtext("value") or "")
                          for a in obj.findall("attributes/attribute")}
            result.shapes.append({
                "frame": frame, "label": _text(obj, "name", where), "type": "rectangle",
                "points": box, "occluded": (obj.findtext("occluded") or "0").strip() == "1",
                "attributes": attributes, "where": where})
    return result
