"""Export and import speed and memory of the dataset formats, against the standard library.

For each frame count (1,000 and 10,000 by default) it writes a task of that many frames with
20 boxes and polygons a frame into a fresh SQLite database (rows, as an upload would leave
them), then, in this process, for ``COCO 1.0`` and ``CVAT for images 1.1``:

- ``export``: the ``export:dataset`` job's work (frames and annotations from the database,
  the format's exporter, the zip), without images;
- ``baseline``: ``json.dump`` / ``xml.etree`` of the same annotations from a list prepared in
  memory beforehand, into a zip member (the floor: no database, no names to look up);
- ``import``: the archive read back by the format's importer, names matched and checked,
  written in one transaction (``import:annotations``);
- ``baseline``: ``json.loads`` / ``ElementTree.fromstring`` of the same file.

Times are the best of ``--repeat`` runs (3). It prints frames/s, the ratio to the baseline
(target >= 0.5) and the peak of Python allocations (``tracemalloc``) of each step, so
memory can be compared between the sizes.

Usage: ``python bench/datasets.py [--frames 1000 10000] [--shapes 20] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
import tracemalloc
import types
import zipfile
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

from _venv import reexec_in_venv

reexec_in_venv("cvatcore.core")

from sqlalchemy import insert  # noqa: E402

from cvatcore.core.datasets.archive import ZipArchiveWriter  # noqa: E402
from cvatcore.core.datasets.registry import collect_formats  # noqa: E402
from cvatcore.core.db.migrate import upgrade  # noqa: E402
from cvatcore.core.models import Frame, Job, Label, Segment, Task, TaskData, User  # noqa: E402,E501
from cvatcore.core.services import annotations, datasets_source  # noqa: E402
from cvatcore.core.services.accounts import create_user  # noqa: E402
from cvatcore.core.services.caller import Caller  # noqa: E402
from cvatcore.core.services.datasets_import import import_file  # noqa: E402
from cvatcore.core.state import AppState  # noqa: E402
from cvatcore.hooks.testing import test_settings  # noqa: E402

FORMATS = ("COCO 1.0", "CVAT for images 1.1")
IMPORTER = {"COCO 1.0": "COCO 1.0", "CVAT for images 1.1": "CVAT 1.1"}


def _task(state: AppState, frames: int, shapes: int) -> tuple[int, int]:
    with state.db.unit_of_work() as session:
        user = create_user(Caller.system(state, session), f"u{frames}", "bench-pass-1",
                           email=f"u{frames}@example.com", is_superuser=True)
        data = TaskData(size=frames, stop_frame=frames - 1)
        session.add(data)
        session.flush()
        task = Task(name=f"bench {frames}", owner_id=user.id, data_id=data.id,
                    mode="annotation")
        session.add(task)
        session.flush()
        segment = Segment(task_id=task.id, start_frame=0, stop_frame=frames - 1)
        session.add(segment)
        session.flush()
        session.add(Job(segment_id=segment.id, task_id=task.id))
        labels = [Label(task_id=task.id, name=n, type="any") for n in ("car", "person")]
        session.add_all(labels)
        session.flush()
        session.execute(insert(Frame), [{"data_id": data.id, "frame": f,
                                         "path": f"images/{f:06d}.jpg", "width": 1920,
                                         "height": 1080} for f in range(frames)])
        body = {"shapes": [
            {"type": "rectangle" if i % 2 else "polygon", "frame": f,
             "label_id": labels[i % 2].id,
             "points": [10.0 + i, 20.0, 110.0 + i, 220.0] if i % 2 else
             [10.0 + i, 20.0, 110.0, 20.0, 110.0 + i, 220.0]}
            for f in range(frames) for i in range(shapes)]}
        annotations.replace_task(Caller.system(state, session, user=user), task.id, body)
        return task.id, user.id


REPEAT = 3


def _measure(step: Any) -> tuple[float, int, Any]:
    """Best wall time of ``REPEAT`` untraced runs of ``step`` (other work on a shared machine
    only ever adds time), then its peak of Python allocations in one more, traced run
    (tracing slows the code it watches several times over)."""
    elapsed = float("inf")
    for _ in range(REPEAT):
        started = time.perf_counter()
        result = step()
        elapsed = min(elapsed, time.perf_counter() - started)
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return elapsed, peak, result


def _export(state: AppState, task_id: int, user_id: int, name: str) -> bytes:
    fmt = collect_formats(state.pm).exporter(name)
    out = io.BytesIO()
    with state.db.unit_of_work(write=False) as session:
        caller = Caller.system(state, session, user=session.get(User, user_id))
        task = session.get(Task, task_id)
        archive = ZipArchiveWriter(out)
        fmt.exporter(datasets_source.build(caller, "task", task, False), archive)
        archive.close()
    return out.getvalue()


def _baseline_export(name: str, prepared: list[dict[str, Any]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        if name == "COCO 1.0":
            doc = {"images": [{"id": f + 1, "file_name": f"images/{f:06d}.jpg", "width": 1920,
                               "height": 1080} for f in {s["frame"] for s in prepared}],
                   "annotations": [{"id": i, "image_id": s["frame"] + 1, "category_id": 1,
                                    "segmentation": [s["points"]], "bbox": s["points"][:4],
                                    "area": 0, "iscrowd": 0} for i, s in enumerate(prepared)]}
            archive.writestr("annotations/instances_default.json", json.dumps(doc))
        else:
            root = ElementTree.Element("annotations")
            image = None
            for s in prepared:
                if image is None or image.get("id") != str(s["frame"]):
                    image = ElementTree.SubElement(root, "image", id=str(s["frame"]),
                                                   name=f"images/{s['frame']:06d}.jpg")
                ElementTree.SubElement(image, "polygon", label="car", points=";".join(
                    f"{x:.2f},{y:.2f}" for x, y in zip(s["points"][0::2], s["points"][1::2],
                                                      strict=True)))
            archive.writestr("annotations.xml", ElementTree.tostring(root))
    return out.getvalue()


def _import(state: AppState, task_id: int, user_id: int, name: str, data: bytes) -> None:
    fmt = collect_formats(state.pm).importer(IMPORTER[name])
    job = types.SimpleNamespace(state=state, owner_id=user_id, org_id=None, args={}, id="b")
    args = {"filename": "bench.zip", "mode": "replace"}
    with state.db.unit_of_work() as session:
        import_file(Caller.for_job(job, session), "task", task_id, fmt, io.BytesIO(data), args)


def _baseline_import(name: str, data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = [n for n in archive.namelist() if n.endswith((".json", ".xml"))][0]
        raw = archive.read(member)
    json.loads(raw) if member.endswith(".json") else ElementTree.fromstring(raw)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--frames", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--shapes", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=REPEAT, help="best of N timed runs")
    args = parser.parse_args()
    globals()["REPEAT"] = max(1, args.repeat)
    with tempfile.TemporaryDirectory() as tmp:
        state = AppState.build(test_settings(Path(tmp)))
        upgrade(state.db.engine, state.pm)
        print(f"{'frames':>7} {'format':<22} {'step':<7} {'frames/s':>10} {'baseline':>10} "
              f"{'ratio':>6} {'peak MiB':>9} {'base MiB':>9}")
        for frames in args.frames:
            _run(state, frames, args.shapes)
        state.db.dispose()


def _run(state: AppState, frames: int, shapes: int) -> None:
    task_id, user_id = _task(state, frames, shapes)
    with state.db.unit_of_work(write=False) as session:
        caller = Caller.system(state, session, user=session.get(User, user_id))
        prepared = [{"frame": s["frame"], "points": s["points"]} for s in
                    annotations.task_annotations(caller, task_id)["shapes"]]
    for name in FORMATS:
        t_e, m_e, data = _measure(lambda n=name: _export(state, task_id, user_id, n))
        t_b, m_b, _ = _measure(lambda n=name: _baseline_export(n, prepared))
        _row(frames, name, "export", t_e, t_b, m_e, m_b)
        t_i, m_i, _ = _measure(lambda n=name, d=data: _import(state, task_id, user_id, n, d))
        t_bi, m_bi, _ = _measure(lambda n=name, d=data: _baseline_import(n, d))
        _row(frames, name, "import", t_i, t_bi, m_i, m_bi)


def _row(frames: int, name: str, step: str, t: float, t_base: float, m: int, m_base: int
         ) -> None:
    print(f"{frames:>7} {name:<22} {step:<7} {frames / t:>10.0f} {frames / t_base:>10.0f} "
          f"{t_base / t:>6.2f} {m / 2**20:>9.1f} {m_base / 2**20:>9.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
