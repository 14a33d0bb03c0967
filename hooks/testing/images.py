"""Test frames for inference backends: a drawn face that OpenCV's frontal-face cascade finds,
and a box that moves over a textured background (for trackers and interactors), made with
Pillow (no files, no downloads)."""

from __future__ import annotations

import base64
import io


def face_png(size: int = 400, background: int = 90) -> bytes:
    """A ``size``-pixel square PNG with one cartoon face in the middle (a light oval, dark
    brows, eyes and mouth, a soft blur), the kind of frame a face detector finds."""
    from PIL import Image, ImageDraw, ImageFilter

    scale = size / 400
    image = Image.new("RGB", (size, size), (background,) * 3)
    draw = ImageDraw.Draw(image)

    def oval(cx: float, cy: float, rx: float, ry: float, shade: int) -> None:
        c, r = (cx * scale, cy * scale), (rx * scale, ry * scale)
        draw.ellipse((c[0] - r[0], c[1] - r[1], c[0] + r[0], c[1] + r[1]), fill=(shade,) * 3)

    oval(200, 200, 110, 145, 200)
    for dx in (-45, 45):
        oval(200 + dx, 140, 30, 8, 40)
        oval(200 + dx, 170, 22, 12, 30)
    oval(200, 220, 14, 30, 170)
    oval(200, 275, 45, 12, 60)
    out = io.BytesIO()
    image.filter(ImageFilter.GaussianBlur(3 * scale)).save(out, format="PNG")
    return out.getvalue()


def blank_png(size: int = 64, shade: int = 128) -> bytes:
    """A flat grey PNG: nothing for any detector to find."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (size, size), (shade,) * 3).save(out, format="PNG")
    return out.getvalue()


def moving_box_png(x: int, y: int, width: int = 160, height: int = 120) -> bytes:
    """A PNG of a white 30x20 box with a dark dot, its top-left corner at (x, y), on the
    same speckled background whatever the box's place: consecutive frames of an object a
    tracker should follow, and one object an interactor should cut out."""
    import random

    from PIL import Image, ImageDraw

    speckle = random.Random(0)
    image = Image.new("L", (width, height))
    image.putdata([speckle.randrange(60) for _ in range(width * height)])
    draw = ImageDraw.Draw(image)
    draw.rectangle((x, y, x + 30, y + 20), fill=255)
    draw.ellipse((x + 5, y + 5, x + 15, y + 15), fill=0)
    out = io.BytesIO()
    image.convert("RGB").save(out, format="PNG")
    return out.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
