"""Segmentation mask 1.1 (PASCAL VOC segmentation): ``SegmentationClass/<frame>.png`` (each
label in its color), ``SegmentationObject/<frame>.png`` (each instance in its own palette
index), ``labelmap.txt`` and ``ImageSets/Segmentation/default.txt``. Polygons, boxes and masks
are painted in z-order; what comes back is one mask per instance."""

from __future__ import annotations

import io
import posixpath
from typing import Any

from PIL import Image, ImageDraw

from cvatcore.core.datasets.shapes import bitmap_to_mask, mask_to_bitmap
from cvatcore.hooks.datasets import (
    ArchiveReader,
    ArchiveWriter,
    DatasetFormatError,
    ExportDataset,
    ImportContext,
    ImportedAnnotations,
)

PAINTED = ("polygon", "rectangle", "mask")


def _voc_palette() -> list[tuple[int, int, int]]:
    """The VOC colormap: index i's color from its bits, as the VOC devkit makes it."""
    palette = []
    for i in range(256):
        r = g = b = 0
        c = i
        for j in range(8):
            r |= ((c >> 0) & 1) << (7 - j)
            g |= ((c >> 1) & 1) << (7 - j)
            b |= ((c >> 2) & 1) << (7 - j)
            c >>= 3
        palette.append((r, g, b))
    return palette


PALETTE = _voc_palette()


def _colors(dataset: ExportDataset) -> dict[str, tuple[int, int, int]]:
    """Each top-level label's color: its own if set and unique, else the VOC palette's."""
    colors: dict[str, tuple[int, int, int]] = {}
    used = {(0, 0, 0)}
    for i, label in enumerate(lb for lb in dataset.labels if not lb.parent):
        rgb = None
        if len(label.color) == 7 and label.color.startswith("#"):
            rgb = tuple(int(label.color[k:k + 2], 16) for k in (1, 3, 5))
        if rgb is None or rgb in used:
            rgb = next(c for c in PALETTE[i + 1:] + PALETTE[1:] if c not in used)
        used.add(rgb)  # type: ignore[arg-type]
        colors[label.name] = rgb  # type: ignore[assignment]
    return colors


def _paint(draw: ImageDraw.ImageDraw, image: Image.Image, shape: dict, fill: Any) -> None:
    points = shape["points"]
    if shape["type"] == "polygon":
        draw.polygon(list(zip(points[0::2], points[1::2], strict=True)), fill=fill)
    elif shape["type"] == "rectangle":
        draw.rectangle(points[:4], fill=fill)
    else:
        left, top, width, height, bitmap = mask_to_bitmap(points)
        stencil = Image.frombytes("L", (width, height), bytes(bitmap).replace(b"\x01", b"\xff"))
        image.paste(fill, (left, top), stencil)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def export_masks(dataset: ExportDataset, archive: ArchiveWriter) -> None:
    colors = _colors(dataset)
    stems = []
    flat_palette = [v for rgb in PALETTE for v in rgb]
    for frame in dataset.frames():
        stem = posixpath.splitext(frame.name)[0]
        stems.append(stem)
        size = (max(frame.width, 1), max(frame.height, 1))
        classes, objects = Image.new("RGB", size), Image.new("P", size)
        objects.putpalette(flat_palette)
        draw_c, draw_o = ImageDraw.Draw(classes), ImageDraw.Draw(objects)
        shapes = sorted((s for s in frame.shapes if s["type"] in PAINTED
                         and not s.get("outside")), key=lambda s: s.get("z_order", 0))
        for n, shape in enumerate(shapes[:254], 1):
            _paint(draw_c, classes, shape, colors[shape["label"]])
            _paint(draw_o, objects, shape, n)
        archive.write(f"SegmentationClass/{stem}.png", _png(classes))
        archive.write(f"SegmentationObject/{stem}.png", _png(objects))
        if dataset.save_images:
            archive.write(f"JPEGImages/{frame.name}", frame.image())
    archive.write("ImageSets/Segmentation/default.txt", "".join(f"{s}\n" for s in stems))
    lines = ["# label:color_rgb:parts:actions\n", "background:0,0,0::\n"]
    lines += [f"{name}:{','.join(map(str, rgb))}::\n" for name, rgb in colors.items()]
    archive.write("labelmap.txt", "".join(lines))


def _labelmap(archive: ArchiveReader) -> dict[tuple[int, ...], str]:
    found = [n for n in archive.names() if posixpath.basename(n) == "labelmap.txt"]
    if not found:
        raise DatasetFormatError(f"{archive.filename}: labelmap.txt is missing")
    colors = {}
    for number, line in enumerate(archive.read(found[0]).decode().splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        try:
            rgb = tuple(int(v) for v in rest.split(":")[0].split(","))
        except ValueError:
            raise DatasetFormatError(f"{found[0]}:{number}: bad color {rest!r}") from None
        if name != "background":
            colors[rgb] = name
    return colors


def _image(archive: ArchiveReader, name: str) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(archive.read(name)))
        image.load()
        return image
    except (OSError, ValueError) as exc:
        raise DatasetFormatError(f"{name}: not a readable PNG ({exc})") from None


def _instances(objects: Image.Image, classes: Image.Image, colors: dict, name: str,
               frame: int) -> list[dict]:
    indexes = objects if objects.mode in ("P", "L") else objects.convert("L")
    found = []
    width, height = indexes.size
    for count, index in sorted(indexes.getcolors(256) or [], key=lambda c: c[1]):
        if index in (0, 255) or not count:
            continue
        stencil = indexes.point(lambda v, i=index: 255 if v == i else 0, mode="L")
        left, top, right, bottom = stencil.getbbox() or (0, 0, 0, 0)
        bitmap = stencil.crop((left, top, right, bottom)).tobytes().replace(b"\xff", b"\x01")
        first = bitmap.index(1)
        x, y = left + first % (right - left), top + first // (right - left)
        rgb = classes.convert("RGB").getpixel((x, y))
        label = colors.get(tuple(rgb))  # type: ignore[arg-type]
        if label is None:
            raise DatasetFormatError(f"{name}: instance {index} has the color {rgb}, which "
                                     "labelmap.txt does not name")
        points = bitmap_to_mask(left, top, right - left, bottom - top, bitmap)
        if points is not None and width and height:
            found.append({"frame": frame, "label": label, "type": "mask", "points": points,
                          "where": f"{name}: instance {index}"})
    return found


def import_masks(archive: ArchiveReader, context: ImportContext) -> ImportedAnnotations:
    colors = _labelmap(archive)
    result = ImportedAnnotations()
    names = set(archive.names())
    for name in sorted(n for n in names if n.startswith("SegmentationObject/")
                       and n.lower().endswith(".png")):
        stem = name[len("SegmentationObject/"):-4]
        class_name = f"SegmentationClass/{stem}.png"
        if class_name not in names:
            raise DatasetFormatError(f"{name}: {class_name} is missing")
        frame = context.frame_of(stem, name)
        result.shapes += _instances(_image(archive, name), _image(archive, class_name),
                                    colors, name, frame)
    return result
