"""A truncated or tampered backup fails the restore request with a message that says what is
wrong, and creates nothing: no task, no project, no half-restored data."""

from __future__ import annotations

import io
import json
import struct
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk.core.exceptions import BackgroundRequestException

from .test_backups import cvat_task_archive


def _members(archive: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        return {n: zf.read(n) for n in zf.namelist()}


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as zf:
        for name, data in members.items():
            info = zipfile.ZipInfo("placeholder")
            info.filename = name  # ZipInfo would clean '..' and '/' away; keep them raw
            info.compress_type = method
            zf.writestr(info, data)
    return out.getvalue()


def _changed(name: str, change: Callable[[Any], Any]) -> bytes:
    members = _members(cvat_task_archive())
    members[name] = json.dumps(change(json.loads(members[name]))).encode()
    return _zip(members)


def _without(name: str) -> bytes:
    members = _members(cvat_task_archive())
    del members[name]
    return _zip(members)


def _with(name: str, data: bytes) -> bytes:
    return _zip({**_members(cvat_task_archive()), name: data})


def _bomb() -> bytes:
    """A member whose central directory entry claims 4 GiB from a few bytes."""
    data = _with("data/zeros.bin", b"\0" * 4096)
    at = data.rindex(b"PK\x01\x02")  # the last central directory entry: zeros.bin
    return data[:at + 24] + struct.pack("<I", 0xFFFFFFF0) + data[at + 28:]


def _flipped_media() -> bytes:
    """One image's stored bytes changed: the member's CRC no longer matches."""
    data = _zip(_members(cvat_task_archive()), zipfile.ZIP_STORED)
    at = data.index(b"IDAT")
    return data[:at] + b"XXXX" + data[at + 4:]


def _label(value: str) -> Callable[[Any], Any]:
    def change(sets: Any) -> Any:
        sets[0]["shapes"][0]["label"] = value
        return sets
    return change


def _jobs_past_the_data(manifest: Any) -> Any:
    manifest["jobs"][1]["stop_frame"] = 9
    return manifest


CASES = {
    "not a zip": (lambda: b"this is not an archive at all", "not a valid zip archive"),
    "truncated": (lambda: cvat_task_archive()[:700], "not a valid zip archive"),
    "tampered media": (_flipped_media, "the archive is damaged"),
    "no task.json": (lambda: _without("task.json"), "task.json is missing"),
    "no annotations.json": (lambda: _without("annotations.json"),
                            "annotations.json is missing"),
    "task.json not JSON": (lambda: _with("task.json", b"{nope"), "task.json cannot be read"),
    "unknown version": (lambda: _changed("task.json", lambda m: {**m, "version": "2.0"}),
                        "2.0 version is not supported"),
    "no jobs": (lambda: _changed("task.json", lambda m: {**m, "jobs": []}),
                "jobs must list each job"),
    "jobs past the data": (lambda: _changed("task.json", _jobs_past_the_data),
                           "the jobs reach frame 9"),
    "wrong manifest": (lambda: _with("data/manifest.jsonl", (
        b'{"version":"1.1"}\n{"type":"images"}\n'
        b'{"name":"missing","extension":".png","width":1,"height":1}\n')),
        "names 'missing.png', which is not in the archive's data/"),
    "unknown label": (lambda: _changed("annotations.json", _label("ghost")),
                      "the label 'ghost' is not in task.json"),
    "dot-dot path": (lambda: _with("data/../../escape.png", b"x"), "unsafe path"),
    "absolute path": (lambda: _with("/etc/cvatcore-escape", b"x"), "unsafe path"),
    "zip bomb": (_bomb, "zip bomb"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_task_backup_is_refused_and_creates_nothing(sdk: Any, tmp_path: Path,
                                                          case: str) -> None:
    make, message = CASES[case]
    path = tmp_path / "bad_backup.zip"
    path.write_bytes(make())
    before = sdk.api_client.tasks_api.list()[0].count
    with pytest.raises(BackgroundRequestException) as failed:
        sdk.tasks.create_from_backup(path)
    assert message in str(failed.value)
    assert sdk.api_client.tasks_api.list()[0].count == before


def test_a_project_backup_without_project_json_is_refused(sdk: Any, tmp_path: Path) -> None:
    members = {f"task_0/{n}": data for n, data in _members(cvat_task_archive()).items()}
    path = tmp_path / "project_backup.zip"
    path.write_bytes(_zip(members))
    projects, tasks = (sdk.api_client.projects_api.list()[0].count,
                       sdk.api_client.tasks_api.list()[0].count)
    with pytest.raises(BackgroundRequestException, match="project.json is missing"):
        sdk.projects.create_from_backup(path)
    assert sdk.api_client.projects_api.list()[0].count == projects
    assert sdk.api_client.tasks_api.list()[0].count == tasks


def test_a_bad_task_inside_a_project_backup_creates_no_project(sdk: Any,
                                                               tmp_path: Path) -> None:
    """The second task's annotations are wrong: the project and the first task, already
    valid, are not created either."""
    good = _members(cvat_task_archive())
    bad = _members(_changed("annotations.json", _label("ghost")))
    project = {"name": "half", "bug_tracker": "", "status": "annotation", "version": "1.0",
               "labels": json.loads(good["task.json"])["labels"]}
    members = {"project.json": json.dumps(project).encode(),
               **{f"task_0/{n}": d for n, d in good.items()},
               **{f"task_1/{n}": d for n, d in bad.items()}}
    path = tmp_path / "project_backup.zip"
    path.write_bytes(_zip(members))
    projects = sdk.api_client.projects_api.list()[0].count
    with pytest.raises(BackgroundRequestException, match="'ghost' is not in task.json"):
        sdk.projects.create_from_backup(path)
    assert sdk.api_client.projects_api.list()[0].count == projects
