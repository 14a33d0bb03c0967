# ruff: noqa: E501  (CVAT's CSV rows below are quoted verbatim)
"""Annotations, issues and comments against CVAT's rules, over HTTP, on SQLite and PostgreSQL.

Expected outcomes are written out below from CVAT's tables (the rows of ``jobs.csv`` and
``tasks.csv`` for the annotation scopes, quoted) and from ``issues.rego`` and
``comments.rego`` (CVAT keeps no CSV for those two); they are never computed by our engine.
How CVAT reads them:

- Job annotations are the job's ``view:annotations`` (GET), ``update:annotations`` (PUT,
  PATCH) and ``delete:annotations`` (DELETE): the job's assignee and its task's and project's
  owners and assignees may, organization maintainers may anything; a job's assignee whose
  system role is exactly worker and who is no member of the organization still may
  (``Strict_Privilege``). Task annotations follow the task's rows (no such exception).
- An issue's staff are its owner and assignee, the job's assignee and the task's and
  project's staff; they may view and change it. Deleting needs the issue's owner or the
  task's or project's staff ("issue admin"): the job's or the issue's assignee alone may not.
  Opening one needs the job's staff.
- A comment's staff are its owner and its issue's staff; they may view, change and delete
  it. Commenting needs the issue's staff.
- Objects are judged in their own organization; an object that exists but may not be
  touched is a 403.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from cvatcore.core.models import Comment, Issue

from .support import (
    MISSING_ID,
    NO_CONTEXT,
    SANDBOX,
    Batch,
    Clients,
    Maker,
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
view:annotations,Job,Sandbox,None,,GET,/jobs/{id}/annotations,Admin,N/A,False
view:annotations,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,GET,/jobs/{id}/annotations,None,N/A,False
view:annotations,Job,Organization,None,,GET,/jobs/{id}/annotations,User,Maintainer,False
view:annotations,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,GET,/jobs/{id}/annotations,None,Worker,False
view:annotations,Job,Organization,"Assignee",,GET,/jobs/{id}/annotations,Worker,N/A,True
update:annotations,Job,Sandbox,None,,PATCH,/jobs/{id}/annotations,Admin,N/A,False
update:annotations,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,PATCH,/jobs/{id}/annotations,Worker,N/A,False
update:annotations,Job,Organization,None,,PATCH,/jobs/{id}/annotations,User,Maintainer,False
update:annotations,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,PATCH,/jobs/{id}/annotations,Worker,Worker,False
update:annotations,Job,Organization,"Assignee",,PATCH,/jobs/{id}/annotations,Worker,N/A,True
delete:annotations,Job,Sandbox,None,,DELETE,/jobs/{id}/annotations,Admin,N/A,False
delete:annotations,Job,Sandbox,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,DELETE,/jobs/{id}/annotations,Worker,N/A,False
delete:annotations,Job,Organization,None,,DELETE,/jobs/{id}/annotations,User,Maintainer,False
delete:annotations,Job,Organization,"Project:owner, Project:assignee, Task:owner, Task:assignee, Assignee",,DELETE,/jobs/{id}/annotations,Worker,Worker,False
delete:annotations,Job,Organization,"Assignee",,DELETE,/jobs/{id}/annotations,Worker,N/A,True
"""
CVAT_TASKS_CSV = """
view:annotations,Task,Sandbox,None,,GET,/tasks/{id}/annotations,Admin,N/A
view:annotations,Task,Sandbox,"Owner, Project:owner, Assignee, Project:assignee",,GET,/tasks/{id}/annotations,None,N/A
view:annotations,Task,Organization,None,,GET,/tasks/{id}/annotations,User,Maintainer
view:annotations,Task,Organization,"Owner, Project:owner, Assignee, Project:assignee",,GET,/tasks/{id}/annotations,None,Worker
update:annotations,Task,Sandbox,None,,"PATCH, PUT",/tasks/{id}/annotations,Admin,N/A
update:annotations,Task,Sandbox,"Owner, Project:owner, Assignee, Project:assignee",,"PATCH, PUT",/tasks/{id}/annotations,Worker,N/A
update:annotations,Task,Organization,None,,"PATCH, PUT",/tasks/{id}/annotations,User,Maintainer
update:annotations,Task,Organization,"Owner, Project:owner, Assignee, Project:assignee",,"PATCH, PUT",/tasks/{id}/annotations,Worker,Worker
delete:annotations,Task,Sandbox,None,,DELETE,/tasks/{id}/annotations,Admin,N/A
delete:annotations,Task,Sandbox,"Owner, Project:owner, Assignee, Project:assignee",,DELETE,/tasks/{id}/annotations,Worker,N/A
delete:annotations,Task,Organization,None,,DELETE,/tasks/{id}/annotations,User,Maintainer
delete:annotations,Task,Organization,"Owner, Project:owner, Assignee, Project:assignee",,DELETE,/tasks/{id}/annotations,Worker,Worker
"""

OTHER = "member2"  # owns whatever the actor is not related to
# Every row here needs the system role worker at most, so the sandbox's "worker" stands for
# every ordinary user. In "iam": "maintainer" for its staff (owner and maintainer read
# alike), "member" (a worker) for its other members, "w_maintainer" a maintainer whose system
# role (worker) is below the User the maintainer rows need, and two non-members: "user" and
# "worker" (system role worker, CVAT's Strict_Privilege rows).
SANDBOX_ACTORS = ("admin", "worker")
ORG_ACTORS = ("admin", "maintainer", "member", "w_maintainer", "user", "worker")
ORG_STAFF = ("admin", "maintainer")  # pass whatever the relation (tested without one)
ORG_MEMBERS = ("member", "w_maintainer")


Case = tuple[str, str, str, str, int]


def _table(relations: tuple[str, ...], verbs: dict[str, tuple[str, ...]], ok: int,
           lone: frozenset[tuple[str, str]] = frozenset()) -> list[Case]:
    """Cases ``(where, verb, actor, relation, status)`` from the relations that pass each
    verb, for ordinary users in the sandbox and members of "iam" alike: admins, and the
    organization's staff in it, pass with any relation; non-members of "iam" with none but
    the ``lone`` ``(actor, relation)`` pairs. DELETE answers 204."""
    cases = []
    for where, actors in (("sandbox", SANDBOX_ACTORS), ("iam", ORG_ACTORS)):
        for verb, passing in verbs.items():
            success = 204 if verb == "DELETE" else ok
            for actor in actors:
                staff = actor == "admin" or where == "iam" and actor in ORG_STAFF
                for relation in ("none",) if staff else relations:
                    if staff:
                        allowed = True
                    elif where == "iam" and actor not in ORG_MEMBERS:
                        allowed = (actor, relation) in lone
                    else:
                        allowed = relation in passing
                    cases.append((where, verb, actor, relation, success if allowed else 403))
    return cases


# -- job annotations -----------------------------------------------------------------------

JOB_RELATIONS = ("assignee", "task:owner", "task:assignee", "project:owner",
                 "project:assignee", "none")
_JOB_STAFF = JOB_RELATIONS[:-1]
JOB_VERBS = {"GET": _JOB_STAFF, "PUT": _JOB_STAFF, "DELETE": _JOB_STAFF}
# Strict_Privilege rows: "worker" (system role worker, no member of iam) assigned to the job.
JOB_CASES = _table(JOB_RELATIONS, JOB_VERBS, 200, frozenset({("worker", "assignee")}))
BODIES = {"PUT": {"shapes": [], "tags": [], "tracks": []}, "PATCH": {"tags": []}}  # no data


def _job(session: Session, maker: Maker, world: World, where: str, actor: str,
         relation: str) -> tuple[int, int]:
    """A job (frames 0-9) whose task and project are the actor's as ``relation`` says;
    returns its id and its task's."""
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None

    def who(name: str) -> int:
        return me if relation == name else other

    def maybe(name: str) -> int | None:
        return me if relation == name else None

    project_id = maker.project(session, who("project:owner"), maybe("project:assignee"), org_id)
    task_id = maker.task(session, who("task:owner"), maybe("task:assignee"), org_id, project_id)
    return add_job(session, task_id, maybe("assignee")), task_id


@pytest.mark.parametrize(("where", "verb", "actor", "relation", "expected"), JOB_CASES,
                         ids=[case_id(*c[:4]) for c in JOB_CASES])
def test_job_annotations(clients: Clients, world: World, batch: Batch, where: str, verb: str,
                         actor: str, relation: str, expected: int) -> None:
    jobs = batch.get("annotation-jobs", lambda session, maker: {
        case[:4]: _job(session, maker, world, case[0], case[2], case[3])[0]
        for case in JOB_CASES})
    job_id = jobs[(where, verb, actor, relation)]
    url = f"/api/jobs/{job_id}/annotations/"
    check(call(clients[actor], verb, url, NO_CONTEXT, BODIES.get(verb)), expected)
    if verb == "PUT":  # PATCH is the same scope (update:annotations) as PUT
        patched = call(clients[actor], "PATCH", url + "?action=create", NO_CONTEXT,
                       BODIES["PATCH"])
        check(patched, expected)
    version = call(clients["admin"], "GET", url).json()["version"]
    writes = {"GET": 0, "PUT": 1, "DELETE": 1}[verb]  # an empty PATCH changes nothing
    assert version == (writes if expected < 400 else 0)  # a refusal writes nothing


# -- task annotations ----------------------------------------------------------------------

TASK_RELATIONS = ("owner", "assignee", "project:owner", "project:assignee", "none")
_TASK_STAFF = TASK_RELATIONS[:-1]
TASK_VERBS = {"GET": _TASK_STAFF, "PUT": _TASK_STAFF, "DELETE": _TASK_STAFF}
TASK_CASES = _table(TASK_RELATIONS, TASK_VERBS, 200)


def _task(session: Session, maker: Maker, world: World, where: str, actor: str,
          relation: str) -> int:
    me, other = world.users[actor], world.users[OTHER]
    org_id = world.orgs["iam"] if where == "iam" else None
    project_id = maker.project(session, me if relation == "project:owner" else other,
                               me if relation == "project:assignee" else None, org_id)
    task_id = maker.task(session, me if relation == "owner" else other,
                         me if relation == "assignee" else None, org_id, project_id)
    add_job(session, task_id)
    return task_id


@pytest.mark.parametrize(("where", "verb", "actor", "relation", "expected"), TASK_CASES,
                         ids=[case_id(*c[:4]) for c in TASK_CASES])
def test_task_annotations(clients: Clients, world: World, batch: Batch, where: str, verb: str,
                          actor: str, relation: str, expected: int) -> None:
    tasks = batch.get("annotation-tasks", lambda session, maker: {
        case[:4]: _task(session, maker, world, case[0], case[2], case[3])
        for case in TASK_CASES})
    url = f"/api/tasks/{tasks[(where, verb, actor, relation)]}/annotations/"
    check(call(clients[actor], verb, url, NO_CONTEXT, BODIES.get(verb)), expected)
    version = call(clients["admin"], "GET", url).json()["version"]
    assert version == (1 if verb != "GET" and expected < 400 else 0)


@pytest.mark.parametrize("actor", ["admin", "user"])
def test_missing_jobs_and_tasks_are_404(clients: Clients, actor: str) -> None:
    for kind in ("jobs", "tasks"):
        url = f"/api/{kind}/{MISSING_ID}/annotations/"
        for verb in ("GET", "PUT", "PATCH", "DELETE"):
            suffix = "?action=create" if verb == "PATCH" else ""
            check(call(clients[actor], verb, url + suffix, NO_CONTEXT, BODIES.get(verb)), 404)
    for url in ("/api/issues", "/api/comments"):
        check(call(clients[actor], "GET", f"{url}/{MISSING_ID}"), 404)
        check(call(clients[actor], "PATCH", f"{url}/{MISSING_ID}", NO_CONTEXT, {}), 404)
        check(call(clients[actor], "DELETE", f"{url}/{MISSING_ID}"), 404)


# -- issues --------------------------------------------------------------------------------

ISSUE_RELATIONS = ("owner", "assignee", "job:assignee", "task:owner", "task:assignee",
                   "project:owner", "project:assignee", "none")
_ISSUE_STAFF = ISSUE_RELATIONS[:-1]
_ISSUE_ADMIN = ("owner", "task:owner", "task:assignee", "project:owner", "project:assignee")
ISSUE_VERBS = {"GET": _ISSUE_STAFF, "PATCH": _ISSUE_STAFF, "DELETE": _ISSUE_ADMIN}
ISSUE_CASES = _table(ISSUE_RELATIONS, ISSUE_VERBS, 200)
# create@job: the job's staff; the issue's own relations do not exist yet.
CREATE_ISSUE_CASES = _table(JOB_RELATIONS, {"POST": _JOB_STAFF}, 201)


def _issue(session: Session, maker: Maker, world: World, where: str, actor: str,
           relation: str) -> int:
    job_relation = {"job:assignee": "assignee", "owner": "none", "assignee": "none"}.get(
        relation, relation)
    job_id, _ = _job(session, maker, world, where, actor, job_relation)
    me, other = world.users[actor], world.users[OTHER]
    issue = Issue(job_id=job_id, frame=1, position=[0.0, 0.0, 1.0, 1.0],
                  owner_id=me if relation == "owner" else other,
                  assignee_id=me if relation == "assignee" else None)
    session.add(issue)
    session.flush()
    session.add(Comment(issue_id=issue.id, owner_id=issue.owner_id, message="first"))
    session.flush()
    return issue.id


@pytest.mark.parametrize(("where", "verb", "actor", "relation", "expected"), ISSUE_CASES,
                         ids=[case_id(*c[:4]) for c in ISSUE_CASES])
def test_issues(clients: Clients, world: World, batch: Batch, where: str, verb: str,
                actor: str, relation: str, expected: int) -> None:
    issues = batch.get("issues", lambda session, maker: {
        case[:4]: _issue(session, maker, world, case[0], case[2], case[3])
        for case in ISSUE_CASES})
    issue_id = issues[(where, verb, actor, relation)]
    body = {"resolved": True} if verb == "PATCH" else None
    check(call(clients[actor], verb, f"/api/issues/{issue_id}", NO_CONTEXT, body), expected)
    after = call(clients["admin"], "GET", f"/api/issues/{issue_id}")
    if verb == "DELETE":
        check(after, 404 if expected == 204 else 200)
    else:
        assert after.json()["resolved"] == (verb == "PATCH" and expected == 200)


@pytest.mark.parametrize(("where", "verb", "actor", "relation", "expected"),
                         CREATE_ISSUE_CASES, ids=[case_id(*c[:4]) for c in CREATE_ISSUE_CASES])
def test_open_issues(clients: Clients, world: World, batch: Batch, where: str, verb: str,
                     actor: str, relation: str, expected: int) -> None:
    jobs = batch.get("issue-jobs", lambda session, maker: {
        case[:4]: _job(session, maker, world, case[0], case[2], case[3])[0]
        for case in CREATE_ISSUE_CASES})
    job_id = jobs[(where, verb, actor, relation)]
    body = {"job": job_id, "frame": 0, "position": [0, 0, 1, 1], "message": "look"}
    check(call(clients[actor], "POST", "/api/issues", NO_CONTEXT, body), expected)
    found = call(clients["admin"], "GET", f"/api/issues?job_id={job_id}").json()["count"]
    assert found == (1 if expected == 201 else 0)


# -- comments ------------------------------------------------------------------------------

COMMENT_RELATIONS = ("owner", "issue:owner", "issue:assignee", "job:assignee", "task:owner",
                     "task:assignee", "project:owner", "project:assignee", "none")
_COMMENT_STAFF = COMMENT_RELATIONS[:-1]
COMMENT_VERBS = {"GET": _COMMENT_STAFF, "PATCH": _COMMENT_STAFF, "DELETE": _COMMENT_STAFF}
COMMENT_CASES = _table(COMMENT_RELATIONS, COMMENT_VERBS, 200)
CREATE_COMMENT_CASES = _table(ISSUE_RELATIONS, {"POST": _ISSUE_STAFF}, 201)


def _comment(session: Session, maker: Maker, world: World, where: str, actor: str,
             relation: str) -> int:
    issue_relation = {"issue:owner": "owner", "issue:assignee": "assignee",
                      "owner": "none"}.get(relation, relation)
    issue_id = _issue(session, maker, world, where, actor, issue_relation)
    me, other = world.users[actor], world.users[OTHER]
    comment = Comment(issue_id=issue_id, owner_id=me if relation == "owner" else other,
                      message="second")
    session.add(comment)
    session.flush()
    return comment.id


@pytest.mark.parametrize(("where", "verb", "actor", "relation", "expected"), COMMENT_CASES,
                         ids=[case_id(*c[:4]) for c in COMMENT_CASES])
def test_comments(clients: Clients, world: World, batch: Batch, where: str, verb: str,
                  actor: str, relation: str, expected: int) -> None:
    comments = batch.get("comments", lambda session, maker: {
        case[:4]: _comment(session, maker, world, case[0], case[2], case[3])
        for case in COMMENT_CASES})
    comment_id = comments[(where, verb, actor, relation)]
    body = {"message": "edited"} if verb == "PATCH" else None
    check(call(clients[actor], verb, f"/api/comments/{comment_id}", NO_CONTEXT, body),
          expected)
    after = call(clients["admin"], "GET", f"/api/comments/{comment_id}")
    if verb == "DELETE":
        check(after, 404 if expected == 204 else 200)
    else:
        assert after.json()["message"] == ("edited" if verb == "PATCH" and expected == 200
                                           else "second")


@pytest.mark.parametrize(("where", "verb", "actor", "relation", "expected"),
                         CREATE_COMMENT_CASES,
                         ids=[case_id(*c[:4]) for c in CREATE_COMMENT_CASES])
def test_comment_on_issues(clients: Clients, world: World, batch: Batch, where: str,
                           verb: str, actor: str, relation: str, expected: int) -> None:
    issues = batch.get("comment-issues", lambda session, maker: {
        case[:4]: _issue(session, maker, world, case[0], case[2], case[3])
        for case in CREATE_COMMENT_CASES})
    issue_id = issues[(where, verb, actor, relation)]
    check(call(clients[actor], "POST", "/api/comments", NO_CONTEXT,
               {"issue": issue_id, "message": "me too"}), expected)
    count = call(clients["admin"], "GET", f"/api/issues/{issue_id}").json()["comments"]["count"]
    assert count == (2 if expected == 201 else 1)


# -- lists ---------------------------------------------------------------------------------

LIST_OBJECTS = {  # name: (issue owner, issue assignee, job assignee, task owner, organization)
    "s1": ("business", None, "worker", "business", None),
    "s2": ("user", "business", None, "user", None),
    "o1": ("owner", None, "member", "owner", "iam"),
    "o2": ("supervisor", None, None, "owner", "iam"),
    "o3": ("owner", "w_maintainer", None, "owner", "iam"),
}
LIST_CASES: list[tuple[str, str | None, Any]] = [
    ("admin", NO_CONTEXT, ["s1", "s2", "o1", "o2", "o3"]),
    ("admin", SANDBOX, ["s1", "s2"]),
    ("worker", NO_CONTEXT, ["s1"]),  # the job's assignee
    ("business", NO_CONTEXT, ["s1", "s2"]),  # owner of one, assignee of the other
    ("user", SANDBOX, ["s2"]),
    ("member", NO_CONTEXT, ["o1"]),
    ("member", "iam", ["o1"]),
    ("member", SANDBOX, []),
    ("supervisor", "iam", ["o2"]),
    ("w_maintainer", "iam", ["o3"]),  # a maintainer without User sees only its own
    ("maintainer", "iam", ["o1", "o2", "o3"]),
    ("owner", "iam", ["o1", "o2", "o3"]),
    ("owner", SANDBOX, []),
    ("worker", "iam", 403),  # no member: no list in the organization's context
]


@pytest.fixture(scope="module")
def list_objects(cvatcore_app: Any, world: World) -> dict[str, int]:
    def uid(name: str | None) -> int | None:
        return world.users[name] if name else None

    result = {}
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        for name, (owner, assignee, job_assignee, task_owner, org) in LIST_OBJECTS.items():
            org_id = world.orgs[org] if org else None
            project_id = add_project(session, world.users[OTHER], None, org_id)
            task_id = add_task(session, uid(task_owner), None, org_id, project_id)
            job_id = add_job(session, task_id, uid(job_assignee))
            issue = Issue(job_id=job_id, frame=0, position=[0.0, 0.0], owner_id=uid(owner),
                          assignee_id=uid(assignee))
            session.add(issue)
            session.flush()
            session.add(Comment(issue_id=issue.id, owner_id=uid(owner), message="listed"))
            result[name] = issue.id
    return result


@pytest.mark.parametrize(("actor", "context", "expected"), LIST_CASES,
                         ids=[case_id(*c[:2]) for c in LIST_CASES])
def test_lists(clients: Clients, pristine_world: World, list_objects: dict[str, int],
               actor: str, context: str | None, expected: Any) -> None:
    """Issues and their comments: each list shows what the user may view in the context."""
    want = expected if isinstance(expected, int) else sorted(list_objects[n] for n in expected)
    assert listed(clients[actor], "/api/issues", context) == want
    issues = listed(clients[actor], "/api/comments", context, key="issue")
    assert issues == want
