"""ReID batch runs (``POST /api/lambda/requests`` for a ``reid`` function): the task's (or
job's) rectangles chained across consecutive frames into tracks, as CVAT's ``LambdaJob``.

For each pair of consecutive frames of the run (deleted frames skipped) that both hold
rectangles, the function gets ``{image0, image1, boxes0, boxes1, threshold?,
max_distance?}`` and answers, for each box of ``boxes0``, the index of its match in
``boxes1`` or -1. Matched boxes join one track; a track that ends before the run's last
frame gets an ``outside`` keyframe on the next frame. The rectangles are then replaced by
the tracks in ONE PUT-like replacement, in one transaction, and only if nobody changed the
annotations meanwhile (their version is checked): a function that dies half-way, a
cancelled run or a concurrent edit leaves the annotations as they were.

Unlike CVAT, a match to a box of another label, or to a box that an earlier box of the same
frame already took, is ignored (CVAT would mix labels in a track or put one box in two), and
the rectangles' attributes are kept (immutable ones on the track, mutable ones on its
shapes; CVAT drops them).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from cvatcore.core.errors import ApiError, ValidationFailed
from cvatcore.core.models import Task
from cvatcore.core.services import annotations, labels, lambda_functions
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import InferenceError, JobFailed

#: Frames read per short read transaction (the next ones while the function runs).
FRAMES_PER_READ = 16
#: Progress is written (and the lease renewed) at most this often.
PROGRESS_SECONDS = 0.5
#: Keys of a rectangle kept on its track shape.
_SHAPE_KEYS = ("type", "frame", "points", "rotation", "occluded", "z_order")


def max_distance_of(data: dict[str, Any]) -> float | None:
    value = data.get("max_distance")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed.field("max_distance", "A valid number is required.")
    return value


def run(job: Any, backend: Any, frames: list[int]) -> None:
    """Chain the rectangles on ``frames`` (the run's frames, deleted ones left out) and
    write the tracks (see the module text)."""
    function = job.args["function"]
    task_id, job_id = function["task"], function.get("job")
    data, mutable = _read(job, task_id, job_id)
    in_run = set(frames)
    boxes: dict[int, list[dict[str, Any]]] = {f: [] for f in frames}
    others = []
    for shape in data["shapes"]:
        if shape["type"] == "rectangle" and shape["frame"] in in_run:
            boxes[shape["frame"]].append(shape)
        else:
            others.append(shape)
    if not any(boxes.values()):
        job.progress(0.99, "No rectangles to chain")
        return
    paths = _match(job, backend, frames, boxes)
    tracks = [_track(path, frames, mutable) for path in paths]
    body = {"version": data["version"], "tags": data["tags"], "shapes": others,
            "tracks": data["tracks"] + tracks}
    _write(job, task_id, job_id, data["version"], body)


def _read(job: Any, task_id: int, job_id: int | None) -> tuple[dict[str, Any], set[int]]:
    """The annotations as they are now, and the ids of the task's mutable attributes."""
    with job.state.db.unit_of_work() as session:
        caller = Caller.for_job(job, session)
        try:
            data = (annotations.job_annotations(caller, job_id) if job_id is not None
                    else annotations.task_annotations(caller, task_id))
        except ApiError as exc:
            raise JobFailed(exc.message()) from None
        task = session.get(Task, task_id)
        if task is None:
            raise JobFailed(f"Task {task_id} no longer exists.")
        mutable = {spec_id for _, specs in labels.label_index(session, task).values()
                   for spec_id, spec in specs.items() if spec.mutable}
    return data, mutable


def _match(job: Any, backend: Any, frames: list[int],
           boxes: dict[int, list[dict[str, Any]]]) -> list[list[dict[str, Any]]]:
    """The function over each pair of consecutive frames: the paths (boxes in frame
    order) that the matches make."""
    function = job.args["function"]
    task_id, function_id = function["task"], function["id"]
    path_of: dict[int, int] = {}  # id(box) -> its path
    paths: list[list[dict[str, Any]]] = []
    pairs = max(len(frames) - 1, 1)
    reported = time.monotonic()
    needed = sorted({f for a, b in zip(frames, frames[1:], strict=False)
                     if boxes[a] and boxes[b] for f in (a, b)})
    with ThreadPoolExecutor(1, thread_name_prefix="reid-read") as reader:
        images = _Prefetched(job, task_id, needed, reader)
        for number, pair in enumerate(zip(frames, frames[1:], strict=False), 1):
            _pair(job, backend, function_id, pair, boxes, images, path_of, paths)
            now = time.monotonic()
            if now - reported >= PROGRESS_SECONDS or number == pairs:
                reported = now
                job.progress(round(0.99 * number / pairs, 4),
                             f"Matched {number} of {pairs} frame pairs")
            else:
                job.check()  # cancelled or taken over: stop now
    for box in boxes[frames[-1]]:
        if id(box) not in path_of:
            paths.append([box])
    return paths


class _Prefetched:
    """The frames the run needs, in order, read ``FRAMES_PER_READ`` at a time in short
    transactions, the next ones while the function runs (memory: two batches)."""

    def __init__(self, job: Any, task_id: int, frames: list[int],
                 reader: ThreadPoolExecutor) -> None:
        self.job, self.task_id, self.reader = job, task_id, reader
        self.batches = [frames[i:i + FRAMES_PER_READ]
                        for i in range(0, len(frames), FRAMES_PER_READ)]
        self.ready: dict[int, str] = {}
        self.upcoming = reader.submit(self._read, self.batches.pop(0)) if self.batches else None

    def __getitem__(self, frame: int) -> str:
        while frame not in self.ready:
            assert self.upcoming is not None, frame
            # Frames before this one are done with; keep the rest of the current batch.
            self.ready = {f: v for f, v in self.ready.items() if f >= frame}
            self.ready.update(self.upcoming.result())
            self.upcoming = (self.reader.submit(self._read, self.batches.pop(0))
                             if self.batches else None)
        return self.ready[frame]

    def _read(self, batch: list[int]) -> dict[int, str]:
        with self.job.state.db.unit_of_work() as session:
            caller = Caller.for_job(self.job, session)
            try:
                return {f: lambda_functions.frame_b64(caller, self.task_id, f) for f in batch}
            except ApiError as exc:
                raise JobFailed(exc.message()) from None


def _pair(job: Any, backend: Any, function_id: str, pair: tuple[int, int],
          boxes: dict[int, list[dict[str, Any]]], images: _Prefetched,
          path_of: dict[int, int], paths: list[list[dict[str, Any]]]) -> None:
    """One call of the function on a pair of frames, its matches joined to the paths."""
    first, second = pair
    for box in boxes[first]:
        if id(box) not in path_of:
            path_of[id(box)] = len(paths)
            paths.append([box])
    if not (boxes[first] and boxes[second]):
        return
    payload: dict[str, Any] = {"image0": images[first], "image1": images[second],
                               "boxes0": boxes[first], "boxes1": boxes[second]}
    if job.args["function"].get("threshold") is not None:
        payload["threshold"] = job.args["function"]["threshold"]
    if job.args.get("max_distance") is not None:
        payload["max_distance"] = job.args["max_distance"]
    try:
        answer = backend.invoke(function_id, payload)
    except InferenceError as exc:
        raise JobFailed(f"Frames {first} and {second}: {exc}") from None
    _join(answer, boxes[first], boxes[second], path_of, paths, pair)


def _join(answer: Any, boxes0: list[dict[str, Any]], boxes1: list[dict[str, Any]],
          path_of: dict[int, int], paths: list[list[dict[str, Any]]],
          pair: tuple[int, int]) -> None:
    if not isinstance(answer, list) or len(answer) != len(boxes0) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in answer):
        raise JobFailed(f"Frames {pair[0]} and {pair[1]}: the function did not answer one "
                        f"index per box ({len(boxes0)}).")
    for box0, index in zip(boxes0, answer, strict=True):
        if not 0 <= index < len(boxes1):
            continue
        box1 = boxes1[index]
        if id(box1) in path_of or box1["label_id"] != box0["label_id"]:
            continue
        path_of[id(box1)] = path_of[id(box0)]
        paths[path_of[id(box0)]].append(box1)


def _track(path: list[dict[str, Any]], frames: list[int], mutable: set[int]
           ) -> dict[str, Any]:
    first = path[0]
    shapes = [{**{k: box[k] for k in _SHAPE_KEYS if k in box}, "outside": False,
               "attributes": [a for a in box.get("attributes", ())
                              if a["spec_id"] in mutable]} for box in path]
    last = frames.index(path[-1]["frame"])
    if last + 1 < len(frames):  # the object left: an outside keyframe on the next frame
        shapes.append({**shapes[-1], "frame": frames[last + 1], "outside": True})
    return {"label_id": first["label_id"], "frame": first["frame"], "group": None,
            "source": "auto", "shapes": shapes,
            "attributes": [a for a in first.get("attributes", ())
                           if a["spec_id"] not in mutable]}


def _write(job: Any, task_id: int, job_id: int | None, version: int,
           body: dict[str, Any]) -> None:
    """The replacement in one transaction, only while this worker holds the job and only
    if the annotations are still those the tracks were made from."""
    with job.state.db.unit_of_work() as session:
        job.guard(session)
        caller = Caller.for_job(job, session)
        try:
            now = (annotations.job_annotations(caller, job_id) if job_id is not None
                   else annotations.task_annotations(caller, task_id))
            if now["version"] != version:
                raise JobFailed("The annotations changed while the function ran; nothing "
                                "was written, run it again.")
            if job_id is not None:
                annotations.replace_job(caller, job_id, body)
            else:
                annotations.replace_task(caller, task_id, body)
        except ApiError as exc:
            raise JobFailed(f"The tracks cannot be saved: {exc.message()}") from None

