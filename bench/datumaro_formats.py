"""Export and import through the cvatcore-datumaro plugin, in process: frames/s and peak memory
(Python allocations, numpy's included) for N frames of 20 boxes, against writing and parsing
the same boxes as MOT's CSV lines with the standard library from a prepared list, in the same
run. Memory should not grow with the frame count on export (frames are produced one at a
time); import holds what datumaro's reader parses.

    python bench/datumaro_formats.py --frames 1000 4000 --formats "MOT 1.1" "LabelMe 3.0"
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import os
import time
import tracemalloc
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

from cvatcore_datumaro.catalogue import SPECS

from cvatcore.hooks.datasets import (
    DatasetFormat,
    DatasetFormatError,
    DatasetFrame,
    DatasetLabel,
    ExportDataset,
    ImportContext,
)

BOXES = 20


class _Writer:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive = archive

    def write(self, name: str, data: bytes | str) -> None:
        self.archive.writestr(name, data)

    def open(self, name: str) -> Any:
        return self.archive.open(name, "w")


class _Reader:
    def __init__(self, archive: zipfile.ZipFile) -> None:
        self.archive, self.filename = archive, "bench.zip"

    def names(self) -> list[str]:
        return self.archive.namelist()

    def read(self, name: str) -> bytes:
        return self.archive.read(name)

    def open(self, name: str) -> Any:
        return self.archive.open(name)


def _frames(count: int) -> Callable[[], Iterator[DatasetFrame]]:
    def frames() -> Iterator[DatasetFrame]:
        for i in range(count):
            shapes = [{"type": "rectangle", "label": "car", "points": [b, b, b + 20.0, b + 10.0],
                       "track_id": b, "keyframe": True} for b in range(BOXES)]
            yield DatasetFrame(index=i, name=f"frame_{i:06d}.png", width=640, height=480,
                               shapes=shapes)
    return frames


def _measure(run: Callable[[], Any]) -> tuple[float, float]:
    tracemalloc.start()
    started = time.perf_counter()
    run()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] / 2 ** 20
    tracemalloc.stop()
    return elapsed, peak


def _baseline(count: int) -> tuple[float, float, float, float]:
    rows = [[i + 1, b, b, b, 20.0, 10.0, 1, 1, 1.0] for i in range(count) for b in range(BOXES)]
    buf = io.StringIO()
    write = _measure(lambda: csv.writer(buf).writerows(rows))
    text = buf.getvalue()
    read = _measure(lambda: [[float(v) for v in r] for r in csv.reader(io.StringIO(text))])
    return write[0], write[1], read[0], read[1]


def _frame_finder(count: int) -> Callable[[str, str], int]:
    by_name = {f"frame_{i:06d}": i for i in range(count)}

    def frame_of(item: str, where: str) -> int:
        key = item.rsplit("/", 1)[-1].rsplit(".", 1)[0]
        if key not in by_name:
            raise DatasetFormatError(f"{where}: no frame {item!r}")
        return by_name[key]

    return frame_of


def _one(fmt: DatasetFormat, count: int) -> tuple[float, float, float, float]:
    """Export ``count`` frames, import the archive: (export s, MiB, import s, MiB)."""
    labels = [DatasetLabel("car")]
    dataset = ExportDataset(kind="task", name="bench", labels=labels, save_images=False,
                            frames=_frames(count))
    buf = io.BytesIO()

    def export() -> None:
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
            fmt.exporter(dataset, _Writer(archive))

    context = ImportContext(labels=labels, frame_of=_frame_finder(count),
                            frames=[(i, f"frame_{i:06d}.png", 640, 480) for i in range(count)])

    def read() -> None:
        with zipfile.ZipFile(buf) as archive:
            for _ in fmt.importer(_Reader(archive), context).stream:
                pass

    return (*_measure(export), *_measure(read))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 4000])
    parser.add_argument("--formats", nargs="+", default=["MOT 1.1", "LabelMe 3.0"])
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    print(f"load average: {os.getloadavg()}")
    print("format | frames | export f/s | ratio | export MiB | import f/s | ratio | import MiB")
    for name in args.formats:
        fmt = next(s for s in SPECS if s.name == name).as_format()
        for count in args.frames:
            ex_time, ex_mem, im_time, im_mem = _one(fmt, count)
            base_w, _, base_r, _ = _baseline(count)
            print(f"{name} | {count} | {count / ex_time:.0f} | {base_w / ex_time:.3f} | "
                  f"{ex_mem:.1f} | {count / im_time:.0f} | {base_r / im_time:.3f} | "
                  f"{im_mem:.1f}")
    print(f"load average: {os.getloadavg()}")


if __name__ == "__main__":
    main()
