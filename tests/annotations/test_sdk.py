"""cvat-sdk 2.80, unchanged, reads and writes annotations, issues and comments of a real
``cvatcore serve`` (SQLite). The SDK checks every answer against its models, so a missing
field or a wrong type fails here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.core.proxies.annotations import AnnotationUpdateAction

from cvatcore.hooks.testing.live import serve_with_admin

from .rows import Made, make_task


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, Made]]:
    """The server's URL host and port, and a task of "sdk-user" with 10 frames in 2 jobs,
    written into the server's database."""
    with serve_with_admin(tmp_path_factory.mktemp("sdk")) as live:
        user_id = live.add_users({"sdk-user": "sdk-user-pass"})["sdk-user"]
        with live.state() as state, state.db.unit_of_work() as session:
            made = make_task(session, user_id, size=10, segment_size=5)
        yield live.host, live.port, made


def _rectangle(made: Made, frame: int, x: float) -> Any:
    return models.LabeledShapeRequest(
        type=models.ShapeType("rectangle"), frame=frame, label_id=made.labels["person"],
        points=[x, 1.0, x + 5, 6.0], source="auto")


def test_annotations_through_the_sdk(server: tuple[str, int, Made], tmp_path: Path) -> None:
    host, port, made = server
    with make_client(host, port=port, credentials=("sdk-user", "sdk-user-pass")) as client:
        job = client.jobs.retrieve(made.job_ids[0])
        job.set_annotations(models.LabeledDataRequest(
            shapes=[_rectangle(made, 1, 0.0), _rectangle(made, 2, 10.0)],
            tags=[models.LabeledImageRequest(frame=0, label_id=made.labels["daytime"])],
            tracks=[models.LabeledTrackRequest(
                frame=1, label_id=made.labels["person"], shapes=[
                    models.TrackedShapeRequest(type=models.ShapeType("rectangle"), frame=f,
                                               points=[1.0, 1.0, 2.0, 2.0], outside=f == 4)
                    for f in (1, 4)])]))
        data = job.get_annotations()
        assert [s.frame for s in data.shapes] == [1, 2] and data.version == 1
        assert data.shapes[0].source == "auto" and len(data.tracks[0].shapes) == 2

        job.update_annotations(models.PatchedLabeledDataRequest(
            shapes=[_rectangle(made, 3, 20.0)]), action=AnnotationUpdateAction.CREATE)
        job.remove_annotations(ids=[data.shapes[0].id])
        data = job.get_annotations()
        assert [s.frame for s in data.shapes] == [2, 3] and data.version == 3

        task = client.tasks.retrieve(made.task_id)
        task.update_annotations(models.PatchedLabeledDataRequest(
            shapes=[_rectangle(made, 8, 30.0)]), action=AnnotationUpdateAction.CREATE)
        everything = task.get_annotations()
        assert sorted(s.frame for s in everything.shapes) == [2, 3, 8]
        second = client.jobs.retrieve(made.job_ids[1]).get_annotations()
        assert [s.frame for s in second.shapes] == [8]

        issue = client.issues.create(models.IssueWriteRequest(
            frame=2, position=[1.0, 1.0, 4.0, 4.0], job=job.id, message="Too wide"))
        client.comments.create(models.CommentWriteRequest(issue=issue.id, message="Agreed"))
        assert [i.id for i in job.get_issues()] == [issue.id]
        assert sorted(c.message for c in issue.get_comments()) == ["Agreed", "Too wide"]
        issue.update(models.PatchedIssueWriteRequest(resolved=True))
        assert client.issues.retrieve(issue.id).resolved is True
        issue.remove()
        assert job.get_issues() == []

        job.remove_annotations()
        assert job.get_annotations().shapes == []
