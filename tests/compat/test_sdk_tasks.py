"""cvat-sdk and cvat-cli 2.80, unchanged, on the annotation domain against a real
``cvatcore serve``: a project with labels, a task with images (the SDK's upload protocol and
its polling of /api/requests), annotations up and down, frames read back."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import closing
from pathlib import Path

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.core.proxies.tasks import ResourceType
from PIL import Image

CVAT_CLI = Path(sys.executable).parent / "cvat-cli"
LABELS = [
    {"name": "car", "color": "#ff0000", "type": "rectangle",
     "attributes": [{"name": "parked", "mutable": True, "input_type": "checkbox",
                     "default_value": "false", "values": ["false", "true"]}]},
    {"name": "person", "type": "any"},
]


def _images(root: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = root / f"frame_{i:03d}.jpg"
        Image.new("RGB", (64 + i, 48), (i * 20 % 255, 80, 160)).save(path, "JPEG")
        paths.append(path)
    return paths


@pytest.fixture
def admin(live_server):
    with make_client(live_server.host, port=live_server.port,
                     credentials=live_server.credentials) as client:
        yield client


# cvat-sdk's generated client saves a binary answer (a frame) to a temporary file and never
# closes it (it would do the same against CVAT); that warning is the SDK's, not ours.
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_project_task_annotations_and_frames_through_the_sdk(admin, tmp_path):
    project = admin.projects.create(models.ProjectWriteRequest(name="sdk project",
                                                               labels=LABELS))
    labels = {label.name: label for label in project.get_labels()}
    assert set(labels) == {"car", "person"}
    assert [a.name for a in labels["car"].attributes] == ["parked"]

    files = _images(tmp_path, 5)
    task = admin.tasks.create_from_data(
        spec=models.TaskWriteRequest(name="sdk task", project_id=project.id, segment_size=3),
        resource_type=ResourceType.LOCAL, resources=[str(p) for p in files],
        data_params={"image_quality": 80, "sorting_method": "natural"},
    )
    task.fetch()
    assert task.size == 5 and task.project_id == project.id
    jobs = sorted(task.get_jobs(), key=lambda j: j.id)  # CVAT lists newest first
    assert [(j.start_frame, j.stop_frame) for j in jobs] == [(0, 2), (3, 4)]
    meta = task.get_meta()
    assert [f.name for f in meta.frames] == [p.name for p in files]
    assert (meta.frames[2].width, meta.frames[2].height) == (66, 48)

    car, parked = labels["car"], labels["car"].attributes[0]
    task.set_annotations(models.LabeledDataRequest(
        shapes=[models.LabeledShapeRequest(
            type="rectangle", frame=1, label_id=car.id, points=[1.0, 2.0, 30.0, 40.0],
            attributes=[models.AttributeValRequest(spec_id=parked.id, value="true")])],
        tags=[models.LabeledImageRequest(frame=4, label_id=labels["person"].id)],
    ))
    back = task.get_annotations()
    assert [(s.frame, s.points, s.attributes[0].value) for s in back.shapes] == [
        (1, [1.0, 2.0, 30.0, 40.0], "true")]
    assert [t.frame for t in back.tags] == [4]
    job_annotations = jobs[1].get_annotations()
    assert [t.frame for t in job_annotations.tags] == [4] and not job_annotations.shapes

    with closing(task.get_frame(2, quality="original")) as frame:
        assert Image.open(io.BytesIO(frame.read())).size == (66, 48)
    with closing(jobs[1].get_frame(4, quality="compressed")) as compressed:
        assert Image.open(io.BytesIO(compressed.read())).size == (68, 48)

    task.remove()
    project.remove()


def _cli(live_server, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HOME": str(home), "XDG_CONFIG_HOME": str(home / "config"),
           "PASS": live_server.password}
    env.pop("CVAT_ACCESS_TOKEN", None)
    return subprocess.run(
        [str(CVAT_CLI), "--server-host", live_server.host,
         "--server-port", str(live_server.port), "--auth", live_server.username, *args],
        env=env, capture_output=True, text=True, timeout=180, stdin=subprocess.DEVNULL)


def test_cli_creates_lists_reads_frames_and_deletes_a_task(live_server, tmp_path):
    files = _images(tmp_path, 3)
    created = _cli(live_server, tmp_path, "task", "create", "cli task",
                   "--labels", json.dumps(LABELS), "local", *map(str, files))
    assert created.returncode == 0, created.stderr
    task_id = int(created.stdout.strip().split()[-1])
    listed = _cli(live_server, tmp_path, "task", "ls")
    assert listed.returncode == 0 and str(task_id) in listed.stdout.split()
    out = tmp_path / "frames"
    out.mkdir()
    frames = _cli(live_server, tmp_path, "task", "frames", str(task_id), "0", "2",
                  "--outdir", str(out))
    assert frames.returncode == 0, frames.stderr
    assert len(list(out.iterdir())) == 2
    deleted = _cli(live_server, tmp_path, "task", "delete", str(task_id))
    assert deleted.returncode == 0, deleted.stderr
    assert str(task_id) not in _cli(live_server, tmp_path, "task", "ls").stdout.split()
