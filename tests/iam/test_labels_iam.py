"""``/api/labels`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

CVAT's ``LabelPermission`` has no table of its own for single labels: viewing a label is
viewing its project or task (``view``), changing or deleting one is that object's
``update:desc`` (``cvat/apps/engine/permissions.py``); a list for one job, task or project
needs the right to view it; other lists follow ``labels.rego``. The expected outcomes below
are the ``view`` and ``update:desc`` rows of CVAT's projects and tasks tables, written out;
they are never computed by our engine.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Label

from .support import (
    NO_CONTEXT,
    SANDBOX,
    Batch,
    Clients,
    Maker,
    World,
    add_job,
    add_label,
    add_project,
    add_task,
    call,
    case_id,
    check,
    listed,
)

# view,Project,Sandbox,None,...,Admin / "Owner, Assignee",...,None
# view,Project,Organization,None,...,User,Maintainer / "Owner, Assignee",...,None,Worker
# update:desc,Project,Sandbox,"Owner, Assignee",...,Worker
# update:desc,Project,Organization,None,...,User,Maintainer / "Owner, Assignee",Worker,Worker
# (the task rows read the same for a task's own owner and assignee)
RELATIONS = ("owner", "assignee", "none")
SANDBOX_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {"admin": (200, 200, 200), "user": (200, 200, 403), "worker": (200, 200, 403)},
    "update": {"admin": (200, 200, 200), "user": (200, 200, 403), "worker": (200, 200, 403)},
    "delete": {"admin": (204, 204, 204), "user": (204, 204, 403), "worker": (204, 204, 403)},
}
ORG_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    scope: {
        "admin": (ok, ok, ok), "maintainer": (ok, ok, ok), "supervisor": (ok, ok, 403),
        "member": (ok, ok, 403), "w_maintainer": (ok, ok, 403), "user": (403, 403, 403),
    }
    for scope, ok in (("view", 200), ("update", 200), ("delete", 204))
}
OBJECT_CASES = [
    (parent, where, scope, actor, relation, status)
    for parent in ("project", "task")
    for where, table in (("sandbox", SANDBOX_TABLE), ("iam", ORG_TABLE))
    for scope, rows in table.items()
    for actor, statuses in rows.items()
    for relation, status in zip(RELATIONS, statuses, strict=True)
]
METHODS = {"view": "GET", "update": "PATCH", "delete": "DELETE"}
OTHER = "member2"


def _label_for(session: Session, maker: Maker, world: World, parent: str, where: str,
               actor: str, relation: str) -> int:
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None
    owner, assignee = me if relation == "owner" else other, me if relation == "assignee" else None
    if parent == "project":
        return add_label(session, "a", project_id=maker.project(session, owner, assignee, org_id))
    return add_label(session, "a", task_id=maker.task(session, owner, assignee, org_id))


@pytest.mark.parametrize(
    ("parent", "where", "scope", "actor", "relation", "expected"), OBJECT_CASES,
    ids=[case_id(*c[:5]) for c in OBJECT_CASES],
)
def test_object_actions(
    clients: Clients, world: World, batch: Batch, parent: str,
    where: str, scope: str, actor: str, relation: str, expected: int,
) -> None:
    labels = batch.get("labels", lambda session, maker: {
        case[:5]: _label_for(session, maker, world, *case[:2], *case[3:5])
        for case in OBJECT_CASES
    })
    label_id = labels[(parent, where, scope, actor, relation)]
    body = {"name": "renamed"} if scope == "update" else None
    response = call(clients[actor], METHODS[scope], f"/api/labels/{label_id}", NO_CONTEXT, body)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == label_id
    if expected == 204:
        assert not batch.exists(Label, label_id)


# A list for one parent needs the right to view it: (actor, relation, where, status)
PARENT_CASES: list[tuple[str, str, str, int]] = [
    ("user", "owner", "sandbox", 200),
    ("user", "assignee", "sandbox", 200),
    ("user", "none", "sandbox", 403),
    ("admin", "none", "sandbox", 200),
    ("maintainer", "none", "iam", 200),
    ("member", "assignee", "iam", 200),
    ("member", "none", "iam", 403),
    ("user", "none", "iam", 403),
]


@pytest.mark.parametrize(
    ("actor", "relation", "where", "expected"), PARENT_CASES,
    ids=[case_id(*c[:3]) for c in PARENT_CASES],
)
def test_lists_of_one_parent(clients: Clients, world: World, batch: Batch, actor: str,
                             relation: str, where: str, expected: int) -> None:
    made = batch.get("parents", lambda session, maker: {
        case[:3]: _parents_for(session, maker, world, *case[:3]) for case in PARENT_CASES
    })
    project_id, task_id, job_id, label_id = made[(actor, relation, where)]
    for query in (f"project_id={project_id}", f"task_id={task_id}", f"job_id={job_id}"):
        result = listed(clients[actor], f"/api/labels?{query}", NO_CONTEXT)
        assert result == (expected if expected != 200 else [label_id]), query


def _parents_for(session: Session, maker: Maker, world: World, actor: str, relation: str,
                 where: str) -> tuple[int, int, int, int]:
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None
    project_id = maker.project(session, me if relation == "owner" else other,
                               me if relation == "assignee" else None, org_id)
    task_id = add_task(session, other, None, org_id, project_id)
    label_id = add_label(session, "x", project_id=project_id)
    return project_id, task_id, add_job(session, task_id), label_id


LIST_OBJECTS = {  # name: (parent kind, owner, assignee, organization)
    "s1": ("project", "user", None, None),
    "s2": ("task", "business", "worker", None),
    "o1": ("project", "member", None, "iam"),
    "o2": ("task", "owner", "supervisor", "iam"),
}
LIST_CASES: list[tuple[str, str | None, Any]] = [
    ("admin", NO_CONTEXT, ["s1", "s2", "o1", "o2"]),
    ("user", NO_CONTEXT, ["s1"]),
    ("worker", SANDBOX, ["s2"]),
    ("member", NO_CONTEXT, ["o1"]),
    ("member", SANDBOX, []),
    ("admin", "iam", ["o1", "o2"]),
    ("maintainer", "iam", ["o1", "o2"]),
    ("supervisor", "iam", ["o2"]),
    ("w_maintainer", "iam", []),
    ("user", "iam", 403),
]


@pytest.fixture(scope="module")
def list_objects(cvatcore_app: Any, world: World) -> dict[str, int]:
    result = {}
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        for name, (kind, owner, assignee, org) in LIST_OBJECTS.items():
            args = (world.users[owner], world.users[assignee] if assignee else None,
                    world.orgs[org] if org else None)
            if kind == "project":
                result[name] = add_label(session, f"listed-label-{name}",
                                         project_id=add_project(session, *args))
            else:
                result[name] = add_label(session, f"listed-label-{name}",
                                         task_id=add_task(session, *args))
    return result


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list(clients: Clients, list_objects: dict[str, int], actor: str,
              context: str | None, expected: Any) -> None:
    want = expected if isinstance(expected, int) else sorted(list_objects[n] for n in expected)
    assert listed(clients[actor], "/api/labels?search=listed-label", context) == want
