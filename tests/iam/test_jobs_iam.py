# ruff: noqa: E501  (CVAT's CSV rows below are quoted verbatim)
"""``/api/jobs`` against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's table (``CVAT_JOBS_CSV``, the rows of
``cvat/apps/engine/rules/tests/configs/jobs.csv`` for the actions tested here) and
``jobs.rego``; they are never computed by our engine. How CVAT reads the rows:

- "Assignee" is the job's; "Task:*" and "Project:*" are its task's and project's owner and
  assignee. A job is judged in its task's organization; one that exists but may not be seen
  is a 403.
- ``Strict_Privilege`` rows: in an organization, a job's assignee whose system role is exactly
  worker and who is not a member may still view the job and change its state.
- Only ground-truth jobs can be deleted; deleting another job is a 400 for whoever may see it.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Job

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    Batch,
    Clients,
    Maker,
    Scratch,
    World,
    add_job,
    add_project,
    add_task,
    call,
    case_id,
    check,
    listed,
)

CVAT_JOBS_CSV = """
Scope,Resource,Context,Ownership,Limit,Method,URL,Privilege,Membership,Strict_Privilege
list,N/A,Sandbox,N/A,,GET,/tasks/{id}/jobs,None,N/A,False
list,N/A,Organization,N/A,,GET,/tasks/{id}/jobs,None,Worker,False
view,Job,Sandbox,None,,GET,/jobs/{id},Admin,N/A,False
view,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,GET,/jobs/{id},None,N/A,False
view,Job,Organization,None,,GET,/jobs/{id},User,Maintainer,False
view,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,GET,/jobs/{id},None,Worker,False
view,Job,Organization,"Assignee",,GET,/jobs/{id},Worker,N/A,True
update:stage,Job,Sandbox,"None, Assignee",,PATCH,/jobs/{id},Admin,N/A,False
update:stage,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee",,PATCH,/jobs/{id},Worker,N/A,False
update:stage,Job,Organization,"None, Assignee",,PATCH,/jobs/{id},User,Maintainer,False
update:stage,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee",,PATCH,/jobs/{id},Worker,Worker,False
update:state,Job,Sandbox,None,,PATCH,/jobs/{id},Admin,N/A,False
update:state,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,PATCH,/jobs/{id},Worker,N/A,False
update:state,Job,Organization,None,,PATCH,/jobs/{id},User,Maintainer,False
update:state,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,PATCH,/jobs/{id},Worker,Worker,False
update:state,Job,Organization,"Assignee",,PATCH,/jobs/{id},Worker,N/A,True
update:assignee,Job,Sandbox,"None, Assignee",,PATCH,/jobs/{id},Admin,N/A,False
update:assignee,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee",,PATCH,/jobs/{id},Worker,N/A,False
update:assignee,Job,Organization,"None, Assignee",,PATCH,/jobs/{id},User,Maintainer,False
update:assignee,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee",,PATCH,/jobs/{id},Worker,Worker,False
delete,Job,Sandbox,None,,DELETE,/jobs/{id},Admin,N/A,False
delete,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee",,DELETE,/jobs/{id},User,N/A,False
delete,Job,Organization,None,,DELETE,/jobs/{id},User,Maintainer,False
delete,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee",,DELETE,/jobs/{id},User,Supervisor,False
"""

RELATIONS = ("assignee", "task:owner", "task:assignee", "project:owner", "project:assignee",
             "none")
_ALL = (200,) * 6
_STAFF = (200, 200, 200, 200, 200, 403)  # any relation
_TASK_STAFF = (403, 200, 200, 200, 200, 403)  # any relation but the job's assignee
_NONE = (403,) * 6
SANDBOX_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {"admin": _ALL, "business": _STAFF, "user": _STAFF, "worker": _STAFF},
    "update:state": {"admin": _ALL, "business": _STAFF, "user": _STAFF, "worker": _STAFF},
    "update:stage": {"admin": _ALL, "business": _TASK_STAFF, "user": _TASK_STAFF,
                     "worker": _TASK_STAFF},
    "update:assignee": {"admin": _ALL, "business": _TASK_STAFF, "user": _TASK_STAFF,
                        "worker": _TASK_STAFF},
}
# Jobs of organization "iam"; "worker" is no member and has system role worker (the strict
# rows), "user" is no member with system role user.
_LONE = (200, 403, 403, 403, 403, 403)
ORG_TABLE: dict[str, dict[str, tuple[int, ...]]] = {
    "view": {"admin": _ALL, "owner": _ALL, "maintainer": _ALL, "supervisor": _STAFF,
             "member": _STAFF, "w_maintainer": _STAFF, "user": _NONE, "worker": _LONE},
    "update:state": {"admin": _ALL, "owner": _ALL, "maintainer": _ALL, "supervisor": _STAFF,
                     "member": _STAFF, "w_maintainer": _STAFF, "user": _NONE,
                     "worker": _LONE},
    "update:stage": {"admin": _ALL, "owner": _ALL, "maintainer": _ALL,
                     "supervisor": _TASK_STAFF, "member": _TASK_STAFF,
                     "w_maintainer": _TASK_STAFF, "user": _NONE, "worker": _NONE},
    "update:assignee": {"admin": _ALL, "owner": _ALL, "maintainer": _ALL,
                        "supervisor": _TASK_STAFF, "member": _TASK_STAFF,
                        "w_maintainer": _TASK_STAFF, "user": _NONE, "worker": _NONE},
}
OBJECT_CASES = [
    (where, scope, actor, relation, status)
    for where, table in (("sandbox", SANDBOX_TABLE), ("iam", ORG_TABLE))
    for scope, rows in table.items()
    for actor, statuses in rows.items()
    for relation, status in zip(RELATIONS, statuses, strict=True)
]
OTHER = "member2"
BODIES: dict[str, Any] = {
    "update:state": {"state": "in progress"},
    "update:stage": {"stage": "validation"},
}


def _job_for(session: Session, maker: Maker, world: World, where: str, actor: str,
             relation: str, kind: str = "annotation") -> int:
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None

    def who(name: str) -> int:
        return me if relation == name else other

    project_id = maker.project(session, who("project:owner"),
                               me if relation == "project:assignee" else None, org_id)
    task_id = add_task(session, who("task:owner"), me if relation == "task:assignee" else None,
                       org_id, project_id)
    return add_job(session, task_id, me if relation == "assignee" else None, kind)


@pytest.mark.parametrize(
    ("where", "scope", "actor", "relation", "expected"), OBJECT_CASES,
    ids=[case_id(*c[:4]) for c in OBJECT_CASES],
)
def test_object_actions(
    clients: Clients, world: World, batch: Batch,
    where: str, scope: str, actor: str, relation: str, expected: int,
) -> None:
    jobs = batch.get("jobs", lambda session, maker: {
        case[:4]: _job_for(session, maker, world, case[0], case[2], case[3])
        for case in OBJECT_CASES
    })
    job_id = jobs[(where, scope, actor, relation)]
    body = BODIES.get(scope, {"assignee": world.users["invitee"]})
    method = "GET" if scope == "view" else "PATCH"
    response = call(clients[actor], method, f"/api/jobs/{job_id}", NO_CONTEXT,
                    None if scope == "view" else body)
    check(response, expected)
    if expected == 200:
        assert response.json()["id"] == job_id


# Ground-truth jobs: delete,Job,... (actor, where, relation, status)
DELETE_CASES: list[tuple[str, str, str, int]] = [
    ("admin", "sandbox", "none", 204),
    ("user", "sandbox", "task:owner", 204),  # "Project:owner, ..., Task:assignee",...,User
    ("user", "sandbox", "project:assignee", 204),
    ("user", "sandbox", "assignee", 403),
    ("worker", "sandbox", "task:owner", 403),  # privilege worker
    ("maintainer", "iam", "none", 204),  # None,...,User,Maintainer
    ("supervisor", "iam", "task:assignee", 204),  # "...",User,Supervisor
    ("supervisor", "iam", "none", 403),
    ("member", "iam", "project:owner", 403),  # role worker
    ("w_maintainer", "iam", "none", 403),  # privilege worker
]


@pytest.mark.parametrize(
    ("actor", "where", "relation", "expected"), DELETE_CASES,
    ids=[case_id(*c[:3]) for c in DELETE_CASES],
)
def test_delete_ground_truth_jobs(clients: Clients, world: World, scratch: Scratch,
                                  actor: str, where: str, relation: str,
                                  expected: int) -> None:
    with scratch.session() as session:
        job_id = _job_for(session, scratch, world, where, actor, relation, "ground_truth")
        normal_id = _job_for(session, scratch, world, where, actor, relation)
    check(call(clients[actor], "DELETE", f"/api/jobs/{job_id}"), expected)
    assert scratch.exists(Job, job_id) == (expected != 204)
    # An annotation job is never deleted: 400 for those who may see it.
    seen = call(clients[actor], "GET", f"/api/jobs/{normal_id}").status_code == 200
    check(call(clients[actor], "DELETE", f"/api/jobs/{normal_id}"), 400 if seen else 403)


@pytest.mark.parametrize("actor", ["admin", "user"])
def test_missing_job_is_404(clients: Clients, actor: str) -> None:
    for method in ("GET", "PATCH", "DELETE"):
        body = {"state": "new"} if method == "PATCH" else None
        check(call(clients[actor], method, f"/api/jobs/{MISSING_ID}", NO_CONTEXT, body), 404)


LIST_OBJECTS = {  # name: (job assignee, task owner, project owner, organization)
    "s1": ("worker", "business", "business", None),
    "s2": (None, "user", "business", None),
    "o1": ("member", "owner", "owner", "iam"),
    "o2": (None, "supervisor", "owner", "iam"),
    "o3": ("worker", "owner", "owner", "iam"),  # an assignee who is no member
}
LIST_CASES: list[tuple[str, str | None, Any]] = [
    ("admin", NO_CONTEXT, ["s1", "s2", "o1", "o2", "o3"]),
    ("worker", NO_CONTEXT, ["s1", "o3"]),
    ("business", NO_CONTEXT, ["s1", "s2"]),
    ("user", SANDBOX, ["s2"]),
    ("member", NO_CONTEXT, ["o1"]),
    ("supervisor", "iam", ["o2"]),
    ("maintainer", "iam", ["o1", "o2", "o3"]),
    ("member", "iam", ["o1"]),
    ("member", SANDBOX, []),
    ("worker", "iam", 403),  # no member: no list in the organization's context
]


@pytest.fixture(scope="module")
def list_objects(cvatcore_app: Any, world: World) -> dict[str, int]:
    def uid(name: str | None) -> int | None:
        return world.users[name] if name else None

    result = {}
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        for name, (assignee, task_owner, project_owner, org) in LIST_OBJECTS.items():
            org_id = world.orgs[org] if org else None
            project_id = add_project(session, uid(project_owner), None, org_id)
            task_id = add_task(session, uid(task_owner), None, org_id, project_id,
                               name=f"listed-job-{name}")
            result[name] = add_job(session, task_id, uid(assignee))
    return result


@pytest.mark.parametrize(
    ("actor", "context", "expected"), LIST_CASES, ids=[case_id(*c[:2]) for c in LIST_CASES]
)
def test_list(clients: Clients, list_objects: dict[str, int], actor: str,
              context: str | None, expected: Any) -> None:
    want = expected if isinstance(expected, int) else sorted(list_objects[n] for n in expected)
    assert listed(clients[actor], "/api/jobs?search=listed-job", context) == want
