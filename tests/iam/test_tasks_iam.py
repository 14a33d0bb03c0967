# ruff: noqa: E501  (CVAT's CSV rows below are quoted verbatim)
"""``/api/tasks`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_TASKS_CSV``, the rows of
``cvat/apps/engine/rules/tests/configs/tasks.csv`` for the actions tested here) and
``tasks.rego``; they are never computed by our engine. How CVAT reads the rows:

- "Owner" and "Assignee" are the task's, "Project:owner" and "Project:assignee" its
  project's. A task is judged in its own organization; one that exists but may not be seen is
  a 403.
- Creating a task in a project is ``create@project``, judged in the request's context on the
  project's relations; the project must be in that same context (else 400).
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Task

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    Batch,
    Clients,
    Maker,
    Scratch,
    World,
    add_project,
    add_task,
    call,
    case_id,
    check,
    listed,
    unique_name,
)

CVAT_TASKS_CSV = """
Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership
create,Task,Sandbox,None,,POST,/tasks,User,N/A
create,Task,Organization,None,,POST,/tasks,User,Supervisor
create@project,"Task, Project",Sandbox,None,,POST,/tasks,Admin,N/A
create@project,"Task, Project",Sandbox,"Project:owner, Project:assignee",,POST,/tasks,User,N/A
create@project,"Task, Project",Organization,None,,POST,/tasks,User,Supervisor
create@project,"Task, Project",Organization,"Project:owner, Project:assignee",,POST,/tasks,User,Worker
view,Task,Sandbox,None,,GET,"/tasks/{id}, /tasks/{id}/status",Admin,N/A
view,Task,Sandbox,"Owner, Project:owner, Assignee, Project:assignee",,GET,"/tasks/{id}, /tasks/{id}/status",None,N/A
view,Task,Organization,None,,GET,"/tasks/{id}, /tasks/{id}/status",User,Maintainer
view,Task,Organization,"Owner, Project:owner, Assignee, Project:assignee",,GET,"/tasks/{id}, /tasks/{id}/status",None,Worker
list,N/A,Sandbox,N/A,,GET,/tasks,None,N/A
list,N/A,Organization,N/A,,GET,/tasks,None,Worker
update:desc,Task,Sandbox,None,,PATCH,/tasks/{id},Admin,N/A
update:desc,Task,Sandbox,"Owner, Project:owner, Assignee, Project:assignee",,PATCH,/tasks/{id},Worker,N/A
update:desc,Task,Organization,None,,PATCH,/tasks/{id},User,Maintainer
update:desc,Task,Organization,"Owner, Project:owner, Assignee, Project:assignee",,PATCH,/tasks/{id},Worker,Worker
update:assignee,"Task, User",Sandbox,"None, Assignee",,PATCH,/tasks/{id},Admin,N/A
update:assignee,"Task, User",Sandbox,"Owner, Project:owner, Project:assignee",,PATCH,/tasks/{id},Worker,N/A
update:assignee,"Task, User",Organization,"None, Assignee",,PATCH,/tasks/{id},User,Maintainer
update:assignee,"Task, User",Organization,"Owner, Project:owner, Project:assignee",,PATCH,/tasks/{id},Worker,Worker
delete,Task,Sandbox,"None, Assignee",,DELETE,/tasks/{id},Admin,N/A
delete,Task,Sandbox,"Owner, Project:owner, Project:assignee",,DELETE,/tasks/{id},Worker,N/A
delete,Task,Organization,"None, Assignee",,DELETE,/tasks/{id},User,Maintainer
delete,Task,Organization,"Owner, Project:owner, Project:assignee",,DELETE,/tasks/{id},Worker,Worker
"""

RELATIONS = ("owner", "assignee", "project:owner", "project:assignee", "none")
# {scope: {actor: statuses by relation}} for sandbox tasks (actors by system role)
SANDBOX_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {
        "admin": (200, 200, 200, 200, 200),
        "business": (200, 200, 200, 200, 403),  # "Owner, Project:owner, ...",None
        "user": (200, 200, 200, 200, 403),
        "worker": (200, 200, 200, 200, 403),
    },
    "update:desc": {
        "admin": (200, 200, 200, 200, 200),
        "business": (200, 200, 200, 200, 403),  # ...,Worker
        "user": (200, 200, 200, 200, 403),
        "worker": (200, 200, 200, 200, 403),
    },
    "update:assignee": {
        "admin": (200, 200, 200, 200, 200),
        "business": (200, 403, 200, 200, 403),  # "Owner, Project:owner, Project:assignee"
        "user": (200, 403, 200, 200, 403),
        "worker": (200, 403, 200, 200, 403),
    },
    "delete": {
        "admin": (204, 204, 204, 204, 204),
        "business": (204, 403, 204, 204, 403),
        "user": (204, 403, 204, 204, 403),
        "worker": (204, 403, 204, 204, 403),
    },
}
# Tasks of organization "iam" (see test_projects_iam.py for the actors).
ORG_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {
        "admin": (200, 200, 200, 200, 200),
        "owner": (200, 200, 200, 200, 200),  # None,...,User,Maintainer
        "maintainer": (200, 200, 200, 200, 200),
        "supervisor": (200, 200, 200, 200, 403),  # "Owner, ...",None,Worker
        "member": (200, 200, 200, 200, 403),
        "w_maintainer": (200, 200, 200, 200, 403),
        "user": (403, 403, 403, 403, 403),
    },
    "update:desc": {
        "admin": (200, 200, 200, 200, 200),
        "owner": (200, 200, 200, 200, 200),
        "maintainer": (200, 200, 200, 200, 200),
        "supervisor": (200, 200, 200, 200, 403),  # ...,Worker,Worker
        "member": (200, 200, 200, 200, 403),
        "w_maintainer": (200, 200, 200, 200, 403),
        "user": (403, 403, 403, 403, 403),
    },
    "update:assignee": {
        "admin": (200, 200, 200, 200, 200),
        "owner": (200, 200, 200, 200, 200),  # "None, Assignee",...,User,Maintainer
        "maintainer": (200, 200, 200, 200, 200),
        "supervisor": (200, 403, 200, 200, 403),
        "member": (200, 403, 200, 200, 403),
        "w_maintainer": (200, 403, 200, 200, 403),
        "user": (403, 403, 403, 403, 403),
    },
    "delete": {
        "admin": (204, 204, 204, 204, 204),
        "owner": (204, 204, 204, 204, 204),
        "maintainer": (204, 204, 204, 204, 204),
        "supervisor": (204, 403, 204, 204, 403),
        "member": (204, 403, 204, 204, 403),
        "w_maintainer": (204, 403, 204, 204, 403),
        "user": (403, 403, 403, 403, 403),
    },
}
OBJECT_CASES = [
    (where, scope, actor, relation, status)
    for where, table in (("sandbox", SANDBOX_TABLE), ("iam", ORG_TABLE))
    for scope, rows in table.items()
    for actor, statuses in rows.items()
    for relation, status in zip(RELATIONS, statuses, strict=True)
]
METHODS = {"view": "GET", "delete": "DELETE"}
OTHER = "member2"
NEW_PERSON = "invitee"


def _task_for(session: Session, maker: Maker, world: World, where: str, actor: str,
              relation: str) -> int:
    """A task (in a project, always: its owner is someone else unless the case says)."""
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None
    project_id = maker.project(session, me if relation == "project:owner" else other,
                               me if relation == "project:assignee" else None, org_id)
    return add_task(session, me if relation == "owner" else other,
                    me if relation == "assignee" else None, org_id, project_id)


@pytest.mark.parametrize(
    ("where", "scope", "actor", "relation", "expected"), OBJECT_CASES,
    ids=[case_id(*c[:4]) for c in OBJECT_CASES],
)
def test_object_actions(
    clients: Clients, world: World, batch: Batch,
    where: str, scope: str, actor: str, relation: str, expected: int,
) -> None:
    tasks = batch.get("tasks", lambda session, maker: {
        case[:4]: _task_for(session, maker, world, case[0], case[2], case[3])
        for case in OBJECT_CASES
    })
    task_id = tasks[(where, scope, actor, relation)]
    body = {"update:desc": {"name": "Renamed"},
            "update:assignee": {"assignee_id": world.users[NEW_PERSON]}}.get(scope)
    response = call(clients[actor], METHODS.get(scope, "PATCH"), f"/api/tasks/{task_id}",
                    NO_CONTEXT, body)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == task_id
    if expected == 204:
        assert not batch.exists(Task, task_id)


@pytest.mark.parametrize("actor", ["admin", "owner", "user"])
def test_missing_task_is_404(clients: Clients, actor: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"name": "x"} if method == "PATCH" else None
        check(call(clients[actor], method, f"/api/tasks/{MISSING_ID}", NO_CONTEXT, body), 404)


# create,Task,Sandbox,None,,POST,/tasks,User / Organization,...,User,Supervisor
CREATE_CASES: list[tuple[str, str | None, int]] = [
    ("admin", NO_CONTEXT, 201),
    ("business", NO_CONTEXT, 201),
    ("user", SANDBOX, 201),
    ("worker", NO_CONTEXT, 403),
    ("admin", "iam", 201),
    ("owner", "iam", 201),
    ("maintainer", "iam", 201),
    ("supervisor", "iam", 201),
    ("member", "iam", 403),
    ("w_maintainer", "iam", 403),
    ("user", "iam", 403),
]


@pytest.mark.parametrize(
    ("actor", "context", "expected"), CREATE_CASES, ids=[case_id(*c[:2]) for c in CREATE_CASES]
)
def test_create(clients: Clients, world: World, scratch: Scratch, actor: str,
                context: str | None, expected: int) -> None:
    response = call(clients[actor], "POST", "/api/tasks", context,
                    {"name": unique_name("new"), "labels": [{"name": "a"}]})
    check(response, expected)
    if expected == 201:
        scratch.task_ids.append(response.json()["id"])
        assert response.json()["owner"]["id"] == world.users[actor]
        assert response.json()["organization"] == (world.orgs[context] if context else None)


# create@project: (actor, relation to the project, where, status)
CREATE_IN_PROJECT_CASES: list[tuple[str, str, str, int]] = [
    ("admin", "none", "sandbox", 201),  # create@project,...,Sandbox,None,...,Admin
    ("user", "owner", "sandbox", 201),  # "Project:owner, Project:assignee",...,User
    ("user", "assignee", "sandbox", 201),
    ("user", "none", "sandbox", 403),
    ("worker", "owner", "sandbox", 403),  # privilege worker
    ("owner", "none", "iam", 201),  # Organization,None,...,User,Supervisor
    ("supervisor", "none", "iam", 201),
    ("member", "owner", "iam", 201),  # "Project:owner, ...",User,Worker
    ("member", "assignee", "iam", 201),
    ("member", "none", "iam", 403),
    ("w_maintainer", "owner", "iam", 403),  # privilege worker
    ("user", "none", "iam", 403),
]


@pytest.mark.parametrize(
    ("actor", "relation", "where", "expected"), CREATE_IN_PROJECT_CASES,
    ids=[case_id(*c[:3]) for c in CREATE_IN_PROJECT_CASES],
)
def test_create_in_a_project(clients: Clients, world: World, scratch: Scratch, actor: str,
                             relation: str, where: str, expected: int) -> None:
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None
    with scratch.session() as session:
        project_id = scratch.project(session, me if relation == "owner" else other,
                                     me if relation == "assignee" else None, org_id)
    context = "iam" if where == "iam" else SANDBOX
    response = call(clients[actor], "POST", "/api/tasks", context,
                    {"name": unique_name("new"), "project_id": project_id})
    check(response, expected)


def test_project_in_another_context_is_400(clients: Clients, world: World,
                                           scratch: Scratch) -> None:
    with scratch.session() as session:
        project_id = scratch.project(session, world.users["owner"], None, world.orgs["iam"])
    check(call(clients["owner"], "POST", "/api/tasks", SANDBOX,
               {"name": "t", "project_id": project_id}), 400)


LIST_TAG = "listed-task"
LIST_OBJECTS = {  # name: (owner, assignee, project owner, project assignee, organization)
    "s1": ("user", None, None, None, None),
    "s2": ("business", "worker", None, None, None),
    "s3": ("business", None, "admin", "user", None),
    "o1": ("member", None, None, None, "iam"),
    "o2": ("owner", "supervisor", None, None, "iam"),
    "o3": ("owner", None, "member2", "member", "iam"),
}
LIST_CASES: list[tuple[str, str | None, Any]] = [
    ("admin", NO_CONTEXT, ["s1", "s2", "s3", "o1", "o2", "o3"]),
    ("user", NO_CONTEXT, ["s1", "s3"]),  # s3 through its project
    ("worker", NO_CONTEXT, ["s2"]),
    ("business", SANDBOX, ["s2", "s3"]),
    ("member", NO_CONTEXT, ["o1", "o3"]),
    ("member", SANDBOX, []),
    ("admin", "iam", ["o1", "o2", "o3"]),
    ("maintainer", "iam", ["o1", "o2", "o3"]),
    ("supervisor", "iam", ["o2"]),
    ("member", "iam", ["o1", "o3"]),
    ("w_maintainer", "iam", []),
    ("user", "iam", 403),
    ("member2", "iam2", []),  # o3's project owner, but o3 is in iam
    ("member2", NO_CONTEXT, ["o3"]),
]


@pytest.fixture(scope="module")
def list_objects(cvatcore_app: Any, world: World) -> dict[str, int]:
    def uid(name: str | None) -> int | None:
        return world.users[name] if name else None

    result = {}
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        for name, (owner, assignee, p_owner, p_assignee, org) in LIST_OBJECTS.items():
            org_id = world.orgs[org] if org else None
            project_id = add_project(session, uid(p_owner), uid(p_assignee), org_id) if (
                p_owner or p_assignee) else None
            result[name] = add_task(session, uid(owner), uid(assignee), org_id, project_id,
                                    name=f"{LIST_TAG}-{name}")
    return result


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list(clients: Clients, list_objects: dict[str, int], actor: str,
              context: str | None, expected: Any) -> None:
    want = expected if isinstance(expected, int) else sorted(list_objects[n] for n in expected)
    assert listed(clients[actor], f"/api/tasks?search={LIST_TAG}", context) == want
