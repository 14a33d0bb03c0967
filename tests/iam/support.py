"""The IAM tests' world, as data, and the helpers the test modules share.

The world holds a user for each system role outside any organization and two organizations
whose members hold every organization role, plus pending invitations. Cases that change
something build their own objects (``Scratch``) and delete them afterwards, so the world
every list case sees stays exactly as written here.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx2 as httpx
from sqlalchemy import delete
from sqlalchemy.orm import Session

from cvatcore.core.models import (
    Invitation,
    Job,
    Label,
    Membership,
    Organization,
    Project,
    Segment,
    Task,
    User,
)
from cvatcore.core.models.base import utcnow
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing import ApiClient

#: Request contexts: no organization header at all, or the personal sandbox (an empty
#: header); any other context is an organization's slug.
NO_CONTEXT: str | None = None
SANDBOX = ""
MISSING_ID = 999_999_999  # no object has it (and it fits PostgreSQL's integer)

#: name -> system groups (``admin`` is made a superuser, as CVAT's admins are).
WORLD_USERS: dict[str, list[str]] = {
    "admin": ["admin"],
    "business": ["business"],
    "user": ["user"],
    "worker": ["worker"],
    "owner": ["user"],
    "maintainer": ["user"],
    "supervisor": ["user"],
    "member": ["user"],
    "w_maintainer": ["worker"],  # a maintainer whose system role is only worker
    "w_owner": ["worker"],  # the owner of iam2, system role worker
    "member2": ["user"],
    "invitee": ["user"],
    "invitee2": ["user"],
}
#: slug -> owner
WORLD_ORGS = {"iam": "owner", "iam2": "w_owner"}
#: (user, organization, role, active); the inactive ones are pending invitations.
WORLD_MEMBERSHIPS = [
    ("owner", "iam", "owner", True),
    ("maintainer", "iam", "maintainer", True),
    ("supervisor", "iam", "supervisor", True),
    ("member", "iam", "worker", True),
    ("w_maintainer", "iam", "maintainer", True),
    ("invitee", "iam", "worker", False),
    ("invitee2", "iam", "supervisor", False),
    ("w_owner", "iam2", "owner", True),
    ("member2", "iam2", "worker", True),
    ("supervisor", "iam2", "worker", True),
    ("invitee", "iam2", "worker", False),
]
#: name -> (who invited, who is invited, organization); each has a pending membership above.
WORLD_INVITATIONS = {
    "inv_a": ("owner", "invitee", "iam"),
    "inv_b": ("maintainer", "invitee2", "iam"),
    "inv_c": ("w_owner", "invitee", "iam2"),
}


@dataclass
class World:
    users: dict[str, int] = field(default_factory=dict)
    orgs: dict[str, int] = field(default_factory=dict)
    memberships: dict[tuple[str, str], int] = field(default_factory=dict)
    invitations: dict[str, str] = field(default_factory=dict)


def build_world(caller: Caller) -> World:
    """Write ``WORLD_*`` to the database (directly: the world is given, not under test)."""
    world, session = World(), caller.session
    for name, groups in WORLD_USERS.items():
        user = create_user(caller, name, f"{name}-pass", email=f"{name}@example.com",
                           groups=groups, is_superuser="admin" in groups)
        world.users[name] = user.id
    for slug, owner in WORLD_ORGS.items():
        world.orgs[slug] = add_org(session, world.users[owner], slug, with_owner=False)
    for name, slug, role, active in WORLD_MEMBERSHIPS:
        world.memberships[(name, slug)] = add_member(
            session, world.users[name], world.orgs[slug], role, active
        )
    for key, (inviter, invitee, slug) in WORLD_INVITATIONS.items():
        membership_id = world.memberships[(invitee, slug)]
        world.invitations[key] = add_invitation(session, world.users[inviter], membership_id)
    return world


_serial = itertools.count(1)


def unique_name(prefix: str = "tmp") -> str:
    return f"{prefix}{next(_serial)}"


def add_user(session: Session, groups: list[str]) -> int:
    """A user who never signs in (no password): a target, an inviter, an organization owner."""
    name = unique_name()
    admin = "admin" in groups
    user = User(username=name, email=f"{name}@example.com", groups=groups,
                is_superuser=admin, is_staff=admin)
    session.add(user)
    session.flush()
    return user.id


def add_org(session: Session, owner_id: int, slug: str | None = None,
            with_owner: bool = True) -> int:
    """An organization owned by ``owner_id``, with the owner's membership unless told not."""
    org = Organization(slug=slug or unique_name("org"), name="", owner_id=owner_id)
    session.add(org)
    session.flush()
    if with_owner:
        add_member(session, owner_id, org.id, "owner", True)
    return org.id


def add_member(session: Session, user_id: int, org_id: int, role: str, active: bool) -> int:
    membership = Membership(user_id=user_id, organization_id=org_id, role=role,
                            is_active=active, joined_date=utcnow() if active else None)
    session.add(membership)
    session.flush()
    return membership.id


def add_invitation(session: Session, owner_id: int, membership_id: int) -> str:
    invitation = Invitation(key=secrets.token_hex(32), owner_id=owner_id,
                            membership_id=membership_id)
    session.add(invitation)
    session.flush()
    return invitation.key


def add_project(session: Session, owner_id: int | None, assignee_id: int | None = None,
                org_id: int | None = None, name: str | None = None) -> int:
    """A project (written directly: the objects of a case are given, not under test)."""
    project = Project(name=name or unique_name("p"), owner_id=owner_id,
                      assignee_id=assignee_id, organization_id=org_id)
    session.add(project)
    session.flush()
    return project.id


def add_task(session: Session, owner_id: int | None, assignee_id: int | None = None,
             org_id: int | None = None, project_id: int | None = None,
             name: str | None = None) -> int:
    task = Task(name=name or unique_name("t"), owner_id=owner_id, assignee_id=assignee_id,
                organization_id=org_id, project_id=project_id)
    session.add(task)
    session.flush()
    return task.id


def add_job(session: Session, task_id: int, assignee_id: int | None = None,
            kind: str = "annotation") -> int:
    """One segment (frames 0-9) of ``task_id`` and its job."""
    segment = Segment(task_id=task_id, start_frame=0, stop_frame=9)
    session.add(segment)
    session.flush()
    job = Job(segment_id=segment.id, task_id=task_id, assignee_id=assignee_id, type=kind)
    session.add(job)
    session.flush()
    return job.id


def add_label(session: Session, name: str, project_id: int | None = None,
              task_id: int | None = None) -> int:
    label = Label(name=name, project_id=project_id, task_id=task_id, color="#000000")
    session.add(label)
    session.flush()
    return label.id


class Clients:
    """One signed-in client per user name, made on first use and kept for the module."""

    def __init__(self, app: Any, stack: ExitStack) -> None:
        self._app, self._stack = app, stack
        self._clients: dict[str, ApiClient] = {}

    def __getitem__(self, name: str) -> ApiClient:
        if name not in self._clients:
            self._clients[name] = self.login(name)
        return self._clients[name]

    def login(self, name: str) -> ApiClient:
        """A new client signed in as ``name`` (password ``<name>-pass``, as ``make_user``)."""
        client = self._stack.enter_context(ApiClient(self._app))
        client.login(name, f"{name}-pass")
        return client


class Maker:
    """Makes fresh users and organizations and remembers them, so they can be deleted
    (memberships and invitations go with their organization or user)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.user_ids: list[int] = []
        self.org_ids: list[int] = []
        self.org_slugs: list[str] = []
        self.project_ids: list[int] = []
        self.task_ids: list[int] = []

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self.app.state.cvatcore.db.unit_of_work() as session:
            yield session

    def user(self, session: Session, privilege: str = "user") -> int:
        user_id = add_user(session, [privilege])
        self.user_ids.append(user_id)
        return user_id

    def bare_org(self, session: Session, owner_id: int) -> tuple[int, str]:
        """A new organization owned by ``owner_id`` with no membership yet; id and slug."""
        slug = unique_name("org")
        org_id = add_org(session, owner_id, slug, with_owner=False)
        self.org_ids.append(org_id)
        return org_id, slug

    def org(self, session: Session, owner_id: int | None = None) -> tuple[int, str]:
        """A new organization (owned by a new user unless ``owner_id``, who is its member
        with the owner role); id and slug."""
        owner_id = owner_id if owner_id is not None else self.user(session)
        org_id, slug = self.bare_org(session, owner_id)
        add_member(session, owner_id, org_id, "owner", True)
        return org_id, slug

    def exists(self, model: Any, key: Any) -> bool:
        """Whether the row is still there (read directly, not through the API)."""
        with self.session() as session:
            return session.get(model, key) is not None

    def project(self, session: Session, *args: Any, **kwargs: Any) -> int:
        """``add_project``, deleted with the case's other objects."""
        project_id = add_project(session, *args, **kwargs)
        self.project_ids.append(project_id)
        return project_id

    def task(self, session: Session, *args: Any, **kwargs: Any) -> int:
        """``add_task``, deleted with the case's other objects (its jobs go with it)."""
        task_id = add_task(session, *args, **kwargs)
        self.task_ids.append(task_id)
        return task_id

    def cleanup(self) -> None:
        if not (self.org_ids or self.org_slugs or self.user_ids or self.project_ids
                or self.task_ids):
            return
        with self.session() as session:
            session.execute(delete(Task).where(Task.id.in_(self.task_ids)))
            session.execute(delete(Project).where(Project.id.in_(self.project_ids)))
            session.execute(delete(Organization).where(
                Organization.id.in_(self.org_ids) | Organization.slug.in_(self.org_slugs)
            ))
            session.execute(delete(User).where(User.id.in_(self.user_ids)))
        self.user_ids, self.org_ids, self.org_slugs = [], [], []
        self.project_ids, self.task_ids = [], []


class Scratch(Maker):
    """Objects made for one case, deleted after it."""


class Batch(Maker):
    """Fresh objects for every case of a matrix, made in one transaction when the first case
    needs them (one set per case, as if each case made its own, only faster). ``purge``
    deletes them all; list cases purge first, so they see the world exactly as written."""

    def __init__(self, app: Any) -> None:
        super().__init__(app)
        self._made: dict[str, dict[Any, Any]] = {}

    def get(self, name: str, build: Callable[[Session, Maker], dict[Any, Any]]) -> dict[Any, Any]:
        if name not in self._made:
            with self.session() as session:
                self._made[name] = build(session, self)
        return self._made[name]

    def purge(self) -> None:
        self.cleanup()
        self._made.clear()


def call(client: ApiClient, method: str, url: str, context: str | None = NO_CONTEXT,
         body: Any = None) -> httpx.Response:
    """One request, in the given organization context (see ``NO_CONTEXT``, ``SANDBOX``)."""
    headers = {} if context is None else {"X-Organization": context}
    return client.request(method, url, headers=headers, json=body)


def check(response: httpx.Response, expected: int) -> None:
    """The status is ``expected``; an error comes with a JSON object body (never a 500)."""
    request = response.request
    assert response.status_code == expected, (
        f"{request.method} {request.url} -> {response.status_code}: {response.text}"
    )
    if expected >= 400:
        assert isinstance(response.json(), dict), response.text


def listed(client: ApiClient, path: str, context: str | None, key: str = "id") -> Any:
    """The sorted ``key`` values a list shows (one page holds them all), or the error
    status when the list is refused."""
    joiner = "&" if "?" in path else "?"
    response = call(client, "GET", f"{path}{joiner}page_size=all", context)
    if response.status_code != 200:
        check(response, response.status_code)
        return response.status_code
    body = response.json()
    assert body["count"] == len(body["results"])
    return sorted(item[key] for item in body["results"])


def case_id(*parts: object) -> str:
    """A readable test id: ``None`` reads ``none`` and the sandbox ``sandbox``."""
    names = {None: "none", "": "sandbox"}
    return "-".join(names[p] if p in names else str(p) for p in parts)
