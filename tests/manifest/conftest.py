"""Image and video fixtures for the manifest tests, with the lines CVAT's create.py writes for
them worked out here independently: exact strings, sizes stated by hand, checksums from a plain
``hashlib.md5(Image.open(path).tobytes())`` and key frames from a plain PyAV decode."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import SimpleNamespace

import av
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
CVATCORE = REPO / ".venv" / "bin" / "cvatcore"
if not CVATCORE.exists():
    CVATCORE = Path(sys.executable).parent / "cvatcore"

HEADER = '{"version":"1.1"}\n{"type":"images"}\n'


@dataclass
class Picture:
    rel: str  # path under the data root
    mode: str
    size: tuple[int, int]  # as stored
    expected: tuple[int, int]  # what the manifest must say (EXIF orientation applied)
    orientation: int | None = None
    json_name: str = ""  # the name as it appears in the JSON line, when not plain ASCII


# The items, in lexicographical order of their relative paths.
PICTURES = [
    Picture("a10.png", "RGBA", (12, 8), (12, 8)),
    Picture("a2.png", "L", (9, 9), (9, 9)),
    Picture("b.jpg", "RGB", (30, 20), (30, 20)),
    Picture("caf\u00e9.jpg", "RGB", (7, 5), (7, 5), json_name="caf\\u00e9"),
    Picture("rotated.jpg", "RGB", (40, 10), (10, 40), orientation=6),
    Picture("sub/deeper/p.gif", "P", (6, 4), (6, 4)),
    Picture("sub/x.bmp", "RGB", (3, 5), (3, 5)),
    Picture("upside.jpg", "RGB", (40, 10), (40, 10), orientation=3),
]
RELATED = {
    "b.jpg": ["related_images/b_jpg/ctx1.jpg", "related_images/b_jpg/ctx2.png"],
    "sub/x.bmp": ["sub/related_images/x_bmp/c.png"],
}
NOT_ITEMS = ["notes.txt", "vector.svg", "related_images/b_jpg/readme.txt"]


def save_picture(path: Path, mode: str, size: tuple[int, int], seed: int,
                 orientation: int | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = Image.effect_noise(size, 30 + seed).convert("L").point(lambda v: (v + seed * 7) % 256)
    img = img.convert(mode) if mode != "P" else img.convert("RGB").convert("P")
    if orientation is None:
        img.save(path)
        return
    exif = img.getexif()
    exif[274] = orientation
    img.save(path, exif=exif)


@dataclass
class Dataset:
    root: Path

    def expected_lines(self) -> list[str]:
        lines = []
        for pic in PICTURES:
            with Image.open(self.root / pic.rel) as img:
                checksum = hashlib.md5(img.tobytes()).hexdigest()
            stem, ext = os.path.splitext(pic.rel)
            related = ",".join(f'"{r}"' for r in RELATED.get(pic.rel, []))
            lines.append(
                f'{{"name":"{pic.json_name or stem}","extension":"{ext}",'
                f'"width":{pic.expected[0]},"height":{pic.expected[1]},'
                f'"meta":{{"related_images":[{related}]}},"checksum":"{checksum}"}}\n'
            )
        return lines

    def expected_manifest(self) -> bytes:
        return (HEADER + "".join(self.expected_lines())).encode()

    def expected_index(self) -> bytes:
        offset, pairs = len(HEADER), []
        for number, line in enumerate(self.expected_lines()):
            pairs.append(f'"{number}":{offset}')
            offset += len(line)
        return ("{" + ",".join(pairs) + "}").encode()


def build_dataset(root: Path) -> Dataset:
    for seed, pic in enumerate(PICTURES):
        save_picture(root / pic.rel, pic.mode, pic.size, seed, pic.orientation)
    for rel_list in RELATED.values():
        for seed, rel in enumerate(rel_list):
            save_picture(root / rel, "RGB", (4, 4), 50 + seed)
    for rel in NOT_ITEMS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("<svg/>" if rel.endswith(".svg") else "text")
    return Dataset(root)


@pytest.fixture
def dataset(tmp_path: Path) -> Dataset:
    return build_dataset(tmp_path / "data")


def make_video(path: Path, frames: int, gop: int, size: tuple[int, int] = (64, 48),
               changing: bool = True) -> None:
    """An MPEG-4 Part 2 video at 25 fps with a key frame every ``gop`` frames."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("mpeg4", rate=25)
        stream.width, stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.gop_size = gop
        stream.codec_context.time_base = Fraction(1, 25)
        for i in range(frames):
            color = ((i * 5) % 256, 100, 200 - i % 200) if changing else (90, 100, 110)
            frame = av.VideoFrame.from_image(Image.new("RGB", size, color))
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)


def decoded_key_frames(path: Path) -> tuple[int, list[tuple[int, int, str]]]:
    """Frame count and ``(number, pts, md5 of the RGB image)`` of each key frame."""
    found, count = [], 0
    with av.open(str(path)) as container:
        for index, frame in enumerate(container.decode(video=0)):
            count += 1
            if frame.key_frame:
                md5 = hashlib.md5(frame.to_image().tobytes()).hexdigest()
                found.append((index, frame.pts, md5))
    return count, found


@pytest.fixture
def run_cvatcore(tmp_path: Path):
    """The installed ``cvatcore`` in a subprocess, in ``tmp_path``."""

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        clean = {k: v for k, v in os.environ.items() if not k.startswith("CVATCORE_")}
        return subprocess.run([str(CVATCORE), *args], cwd=tmp_path, env=clean,
                              capture_output=True, text=True, timeout=120)

    return run


@pytest.fixture
def kit() -> SimpleNamespace:
    """This file's helpers for the test modules (``--import-mode=importlib`` cannot import a
    conftest by name)."""
    return SimpleNamespace(
        HEADER=HEADER, PICTURES=PICTURES, RELATED=RELATED, save_picture=save_picture,
        build_dataset=build_dataset, make_video=make_video,
        decoded_key_frames=decoded_key_frames,
    )
