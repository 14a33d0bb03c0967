"""Export and import speed and memory of the dataset formats, against the standard library.

For each frame count (1,000 and 10,000 by default) it writes a task of that many frames with
20 boxes and polygons a frame into a fresh SQLite database (rows, as an upload would leave
them), then, in this process, for ``COCO 1.0`` and ``CVAT for images 1.1``:

- ``export``: the ``export:dataset`` job's work (frames and annotations from the database,
  the format's exporter, the zip), without images;
- ``baseline``: ``json.dumps`` / ``xml.etree`` of the same document from a list prepared in
  memory beforehand (shapes with label names, boxes and areas worked out), into a zip member
  (the floor: no database, no names to look up). The bench checks that the baseline wrote
  what the exporter wrote (the same JSON value; the same XML elements, attributes and text,
  the baseline without indentation) and stops if not;
- ``import``: the archive read back by the format's importer, names matched and checked,
  written in one transaction (``import:annotations``);
- ``baseline``: ``json.loads`` / ``ElementTree.fromstring`` of the same file (parsing alone:
  the floor, printed as ``parse``);
- ``stored``: what a hand-written importer does for the same job, the baseline of the import
  ratio: the same parse, frames found by file name and labels by name, the task's shapes
  replaced by the parsed ones with the standard library's ``sqlite3`` (one DELETE and one
  ``executemany`` in one transaction, into the same table). No checks, no events, no
  all-or-nothing across batches, no messages naming lines: only the storing an import cannot
  skip.

Times are the best of ``--repeat`` runs (3), taken after ``gc.freeze()`` of the bench's own
objects (the prepared list would slow every full collection of both sides). It prints
frames/s, the ratio to the baseline (target >= 0.5; for import against ``stored``, with the
ratio to parsing alone on the ``(parse)`` row) and the peak of Python allocations
(``tracemalloc``) of each step, so memory can be compared between the sizes. ``ratio`` is
of wall times, ``cpu`` of this process's CPU times (steadier on a loaded machine).

Usage: ``python bench/datasets.py [--frames 1000 10000] [--shapes 20] [--repeat 3]``
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import sqlite3
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

from sqlalchemy import insert, select  # noqa: E402

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


def _measure(step: Any) -> tuple[tuple[float, float], int, Any]:
    """Best wall and best CPU time (this process's) of ``REPEAT`` untraced runs of ``step``
    (other work on a shared machine only ever adds time; CPU time leaves out the waits for
    the cores, which a loaded machine adds unevenly to long and short steps), then its peak
    of Python allocations in one more, traced run (tracing slows the code it watches
    several times over)."""
    elapsed = cpu = float("inf")
    for _ in range(REPEAT):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = step()
        elapsed = min(elapsed, time.perf_counter() - started)
        cpu = min(cpu, time.process_time() - started_cpu)
    tracemalloc.start()
    step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (elapsed, cpu), peak, result


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


def _prepare(caller: Caller, task_id: int) -> dict[str, Any]:
    """What the baseline writes, made beforehand: the frames, and the shapes as the
    annotation API gives them with names, bounding boxes and areas worked out."""
    from cvatcore.core.datasets.shapes import bbox, polygon_area
    from cvatcore.core.services.datasets_source import Names

    task = caller.session.get(Task, task_id)
    names = Names(caller, task)
    shapes = []
    for row in annotations.task_annotations(caller, task_id)["shapes"]:
        shape = names.shape(row)
        x, y, w, h = bbox(shape)
        shape["bbox"] = [x, y, w, h]
        shape["area"] = polygon_area(shape["points"]) if shape["type"] == "polygon" else w * h
        shapes.append(shape)
    frames = [(f, p, w, h) for f, p, w, h in caller.session.execute(
        select(Frame.frame, Frame.path, Frame.width, Frame.height)
        .where(Frame.data_id == task.data_id).order_by(Frame.frame))]
    return {"frames": frames, "shapes": shapes, "labels": list(names.labels.values())}


def _baseline_export(name: str, prepared: dict[str, Any], meta: Any) -> bytes:
    """The same document the exporter writes (the bench checks it), with the standard
    library, from the prepared list: ``json.dumps`` of the whole COCO object;
    ``xml.etree`` elements for every image and shape (no indentation: fewer bytes than the
    exporter writes, so the baseline is, if anything, faster)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        if name == "COCO 1.0":
            archive.writestr("annotations/instances_default.json", _coco(prepared))
        else:
            archive.writestr("annotations.xml", _xml(prepared, meta))
    return out.getvalue()


def _coco(prepared: dict[str, Any]) -> str:
    categories = {label: i + 1 for i, label in enumerate(prepared["labels"])}
    doc = {"licenses": [{"name": "", "id": 0, "url": ""}],
           "info": {"contributor": "", "date_created": "", "description": "", "url": "",
                    "version": "", "year": ""},
           "categories": [{"id": i, "name": n, "supercategory": ""}
                          for n, i in categories.items()],
           "images": [{"id": f + 1, "width": w, "height": h, "file_name": p, "license": 0,
                       "flickr_url": "", "coco_url": "", "date_captured": 0}
                      for f, p, w, h in prepared["frames"]],
           "annotations": [{"id": i + 1, "image_id": s["frame"] + 1,
                            "category_id": categories[s["label"]],
                            "segmentation": [s["points"]] if s["type"] == "polygon" else [],
                            "area": s["area"], "bbox": s["bbox"], "iscrowd": 0,
                            "attributes": {**s["attributes"], "occluded": s["occluded"]},
                            "group": s["group"], "z_order": s["z_order"]}
                           for i, s in enumerate(prepared["shapes"])]}
    return json.dumps(doc, separators=(",", ":"))


def _xml(prepared: dict[str, Any], meta: Any) -> bytes:
    root = ElementTree.Element("annotations")
    root.extend(meta)  # <version> and <meta>, copied from the exporter's file
    shapes = iter(prepared["shapes"])
    shape = next(shapes, None)
    for f, path, w, h in prepared["frames"]:
        image = ElementTree.SubElement(root, "image", id=str(f), name=path, width=str(w),
                                       height=str(h))
        while shape is not None and shape["frame"] == f:
            head = {"label": shape["label"], "source": shape["source"],
                    "occluded": str(int(shape["occluded"]))}
            p = shape["points"]
            if shape["type"] == "rectangle":
                element = ElementTree.SubElement(image, "box", head, xtl=f"{p[0]:.2f}",
                                                 ytl=f"{p[1]:.2f}", xbr=f"{p[2]:.2f}",
                                                 ybr=f"{p[3]:.2f}", z_order=str(shape["z_order"]))
            else:
                element = ElementTree.SubElement(image, shape["type"], head, points=";".join(
                    f"{x:.2f},{y:.2f}" for x, y in zip(p[0::2], p[1::2], strict=True)),
                    z_order=str(shape["z_order"]))
            for key, value in shape["attributes"].items():
                ElementTree.SubElement(element, "attribute", name=key).text = value
            shape = next(shapes, None)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True)


def _same(name: str, ours: bytes, baseline: bytes) -> None:
    """The baseline wrote what the exporter wrote: the same JSON value; the same XML
    elements, attributes and text (whitespace aside)."""
    def member(data: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return archive.read(archive.namelist()[0])

    a, b = member(ours), member(baseline)
    if name == "COCO 1.0":
        same = json.loads(a) == json.loads(b)
    else:
        def items(data: bytes) -> Any:
            for _, e in ElementTree.iterparse(io.BytesIO(data)):
                yield e.tag, e.attrib, (e.text or "").strip()
                e.clear()
        same = all(x == y for x, y in itertools.zip_longest(items(a), items(b)))
    if not same:
        raise SystemExit(f"{name}: the baseline does not write what the exporter writes")


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


def _baseline_store(state: AppState, task_id: int, name: str, data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        member = [n for n in archive.namelist() if n.endswith((".json", ".xml"))][0]
        raw = archive.read(member)
    db = sqlite3.connect(state.db.engine.url.database, isolation_level=None)
    try:
        job_id, data_id = db.execute("SELECT jobs.id, tasks.data_id FROM jobs JOIN tasks ON "
                                     "tasks.id = jobs.task_id WHERE tasks.id = ?",
                                     (task_id,)).fetchone()
        frames = dict(db.execute("SELECT path, frame FROM frames WHERE data_id = ?",
                                 (data_id,)))
        labels = dict(db.execute("SELECT name, id FROM labels WHERE task_id = ?", (task_id,)))
        parsed = _coco_rows(raw, frames, labels) if member.endswith(".json") else \
            _xml_rows(raw, frames, labels)
        db.execute("BEGIN IMMEDIATE")
        removed = db.execute("DELETE FROM annotation_shapes WHERE job_id = ?",
                             (job_id,)).rowcount
        added = db.executemany(
            'INSERT INTO annotation_shapes (job_id, label_id, frame, "group", source, type, '
            "occluded, outside, z_order, rotation, points, attributes) "
            "VALUES (?, ?, ?, 0, 'manual', ?, ?, 0, 0, 0.0, ?, '[]')",
            ((job_id, label, frame, kind, occluded, json.dumps(points))
             for label, frame, kind, occluded, points in parsed)).rowcount
        if added != removed:  # it replaces what the importer wrote: the same shapes
            raise SystemExit(f"{name}: the stored baseline wrote {added} shapes, not {removed}")
        db.execute("COMMIT")
    finally:
        db.close()


def _coco_rows(raw: bytes, frames: dict[str, int], labels: dict[str, int]) -> Any:
    document = json.loads(raw)
    frame_of = {image["id"]: frames[image["file_name"]] for image in document["images"]}
    label_of = {c["id"]: labels[c["name"]] for c in document["categories"]}
    for item in document["annotations"]:
        polygon = item["segmentation"]
        if polygon:
            points, kind = polygon[0], "polygon"
        else:
            x, y, w, h = item["bbox"]
            points, kind = [x, y, x + w, y + h], "rectangle"
        yield (label_of[item["category_id"]], frame_of[item["image_id"]], kind,
               item["attributes"].get("occluded", False), points)


def _xml_rows(raw: bytes, frames: dict[str, int], labels: dict[str, int]) -> Any:
    for image in ElementTree.fromstring(raw).iter("image"):
        frame = frames[image.get("name")]
        for shape in image:
            occluded = shape.get("occluded") == "1"
            if shape.tag == "box":
                points = [float(shape.get(k)) for k in ("xtl", "ytl", "xbr", "ybr")]
                yield labels[shape.get("label")], frame, "rectangle", occluded, points
            elif shape.tag == "polygon":
                points = [float(v) for pair in shape.get("points").split(";")
                          for v in pair.split(",")]
                yield labels[shape.get("label")], frame, "polygon", occluded, points


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
              f"{'ratio':>6} {'cpu':>6} {'peak MiB':>9} {'base MiB':>9}")
        for frames in args.frames:
            _run(state, frames, args.shapes)
        state.db.dispose()


def _run(state: AppState, frames: int, shapes: int) -> None:
    task_id, user_id = _task(state, frames, shapes)
    for name in FORMATS:
        with state.db.unit_of_work(write=False) as session:  # as the task is now (the
            caller = Caller.system(state, session, user=session.get(User, user_id))
            prepared = _prepare(caller, task_id)  # previous format's import rewrote it)
        # The bench's own long-lived objects (the prepared list) out of the collector's way:
        # they would make every full collection during the timed runs slower, for both.
        gc.collect()
        gc.freeze()
        t_e, m_e, data = _measure(lambda n=name: _export(state, task_id, user_id, n))
        meta = _meta(name, data)
        t_b, m_b, base = _measure(lambda n=name, m=meta, p=prepared: _baseline_export(n, p, m))
        _same(name, data, base)
        _row(frames, name, "export", t_e, t_b, m_e, m_b)
        t_i, m_i, _ = _measure(lambda n=name, d=data: _import(state, task_id, user_id, n, d))
        t_bi, m_bi, _ = _measure(lambda n=name, d=data: _baseline_import(n, d))
        t_bs, m_bs, _ = _measure(lambda n=name, d=data: _baseline_store(state, task_id, n, d))
        _row(frames, name, "import", t_i, t_bs, m_i, m_bs)
        _row(frames, name, "(parse)", t_i, t_bi, m_i, m_bi)
        gc.unfreeze()


def _meta(name: str, data: bytes) -> list[Any]:
    """CVAT XML's ``<version>`` and ``<meta>`` elements of the exported file."""
    if name == "COCO 1.0":
        return []
    with zipfile.ZipFile(io.BytesIO(data)) as archive, archive.open("annotations.xml") as xml:
        for _, element in ElementTree.iterparse(xml):
            if element.tag == "meta":
                version = ElementTree.Element("version")
                version.text = "1.1"
                return [version, element]
    return []


def _row(frames: int, name: str, step: str, t: tuple[float, float],
         t_base: tuple[float, float], m: int, m_base: int) -> None:
    print(f"{frames:>7} {name:<22} {step:<7} {frames / t[0]:>10.0f} {frames / t_base[0]:>10.0f} "
          f"{t_base[0] / t[0]:>6.2f} {t_base[1] / t[1]:>6.2f} {m / 2**20:>9.1f} "
          f"{m_base / 2**20:>9.1f}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
