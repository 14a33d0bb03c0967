"""Projects: create, view, change and delete, with CVAT's rules (``iam/rules.py``).

Also the small input checks the task and job services share (ids, texts, users, storages).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy import delete as sql_delete

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.models import Project, Task, TaskData, User
from cvatcore.core.models.base import utcnow
from cvatcore.core.services import changes, labels
from cvatcore.core.services.context import (
    context_to_create,
    narrow_to_context,
    org_context,
    subject,
)
from cvatcore.core.services.fields import clean_text
from cvatcore.core.services.media_removal import schedule_media_removal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from cvatcore.core.services.caller import Caller

T = TypeVar("T")
MAX_ID = 2**31 - 1  # PostgreSQL's integer; a larger id names nothing
PROJECT_STATUSES = ("annotation", "validation", "completed")
LOCATIONS = ("local", "cloud_storage")

RELATION_SQL: engine.RelationSQL = {
    "owner": lambda s: Project.owner_id == s.user_id,
    "assignee": lambda s: Project.assignee_id == s.user_id,
}


def find(session: Session, model: type[T], obj_id: Any, what: str) -> T:
    """The row with this primary key, or a 404 naming ``what``."""
    if isinstance(obj_id, bool) or not isinstance(obj_id, int) or not 0 < obj_id <= MAX_ID:
        raise NotFound(f"{what} not found.")
    obj = session.get(model, obj_id)
    if obj is None:
        raise NotFound(f"{what} not found.")
    return obj


def clean_storage(value: Any, name: str, errors: dict[str, list[str]]) -> dict[str, Any] | None:
    """A ``{location, cloud_storage_id}`` storage setting (``null`` clears it)."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"location", "cloud_storage_id", "id"}:
        errors[name] = ["Expected {\"location\": ..., \"cloud_storage_id\": ...}."]
        return None
    location = value.get("location", "local")
    cloud_id = value.get("cloud_storage_id")
    if location not in LOCATIONS:
        errors[name] = [f"location must be one of {', '.join(LOCATIONS)}."]
    elif cloud_id is not None and (isinstance(cloud_id, bool) or not isinstance(cloud_id, int)):
        errors[name] = ["cloud_storage_id must be an integer."]
    elif location == "cloud_storage" and cloud_id is None:
        errors[name] = ["A cloud storage location needs cloud_storage_id."]
    return {"location": location, "cloud_storage_id": cloud_id if location != "local" else None}


def check_user(caller: Caller, value: Any, name: str) -> int | None:
    """A user id given for an owner or an assignee: ``null``, or an existing user's id."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationFailed.field(name, "A valid integer is required.")
    if not 0 < value <= MAX_ID or caller.session.get(User, value) is None:
        raise ValidationFailed.field(name, f"User {value} does not exist.")
    return value


def subject_in(caller: Caller, org_id: int | None) -> Subject:
    """``context.subject`` for an object's organization, read once per request and
    organization (a PATCH checks several scopes on the same object)."""
    cache: dict[int | None, Subject] = caller.cache.setdefault("domain_subjects", {})
    if org_id not in cache:
        cache[org_id] = subject(caller, org_id)
    return cache[org_id]


def creator(caller: Caller, owner_id: int | None) -> int:
    """Who owns a new project or task: the requester; an administrator may name another
    owner (``owner_id``), as the owner of an existing object changes only with
    ``update:owner``."""
    user = caller.require_user()
    if owner_id is not None and subject_in(caller, None).is_admin:
        return owner_id
    return user.id


def relations(user_id: int, project: Project) -> set[str]:
    rels = set()
    if project.owner_id == user_id:
        rels.add("owner")
    if project.assignee_id == user_id:
        rels.add("assignee")
    return rels


def allowed(caller: Caller, project: Project, scope: str) -> bool:
    """Whether the user may do ``scope`` on ``project``, judged in the project's organization."""
    subj = subject_in(caller, project.organization_id)
    rels = relations(subj.user_id, project)
    return engine.allows("project", scope, subj, rels, project.organization_id is not None)


def get(caller: Caller, project_id: int, scope: str = "view") -> Project:
    """The project if the user may do ``scope`` on it: 404 when there is none, 403 otherwise."""
    project = find(caller.session, Project, project_id, "Project")
    if not allowed(caller, project, scope):
        raise PermissionDenied()
    return project


def visible_filter(subj: Subject, in_org: bool) -> ColumnElement[bool]:
    return engine.visible("project", subj, RELATION_SQL, in_org)


def list_query(caller: Caller) -> Select[Any]:
    """Projects the user may view, in the request's context (all of them without one)."""
    subj = subject(caller)
    oc = org_context(caller)
    stmt = select(Project).where(visible_filter(subj, oc.kind == "organization"))
    stmt = narrow_to_context(stmt, Project.organization_id, oc)
    return stmt


def _clean(caller: Caller, data: dict[str, Any], creating: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    clean_text(data, clean, errors, "name", 256, required=creating, allow_blank=False,
               strip=True)
    clean_text(data, clean, errors, "bug_tracker", 2000)
    if "status" in data and not creating:
        if data["status"] not in PROJECT_STATUSES:
            errors["status"] = [f"Use one of {', '.join(PROJECT_STATUSES)}."]
        clean["status"] = data["status"]
    for name in ("target_storage", "source_storage"):
        if name in data:
            clean[name] = clean_storage(data[name], name, errors)
    if "labels" in data and not isinstance(data["labels"], list):
        errors["labels"] = ["Expected a list of labels."]
    if errors:
        raise ValidationFailed(errors)
    for name in ("owner_id", "assignee_id"):
        if name in data:
            clean[name] = check_user(caller, data[name], name)
    return clean


def create(caller: Caller, data: dict[str, Any]) -> Project:
    oc = context_to_create(caller, "project")
    clean = _clean(caller, data, creating=True)
    clean["owner_id"] = creator(caller, clean.get("owner_id"))
    project = Project(organization_id=oc.org_id, **clean)
    if project.assignee_id is not None:
        project.assignee_updated_date = utcnow()
    caller.session.add(project)
    caller.session.flush()
    labels.apply(caller, data.get("labels") or [], project=project, creating=True)
    changes.created(caller, "project", project)
    return project


def _scopes(project: Project, data: dict[str, Any]) -> list[str]:
    """The scopes a PATCH needs, as CVAT's ``ProjectPermission.get_scopes`` (from the raw
    body, before it is validated)."""
    scopes = []
    if "owner_id" in data and data["owner_id"] != project.owner_id:
        scopes.append("update:owner")
    if "assignee_id" in data and data["assignee_id"] != project.assignee_id:
        scopes.append("update:assignee")
    if any(k in data for k in ("name", "labels", "bug_tracker", "status")):
        scopes.append("update:desc")
    if "organization_id" in data:
        scopes.append("update:organization")
    if "target_storage" in data or "source_storage" in data:
        scopes.append("update:associated_storage")
    return scopes or ["update:desc"]


def update(caller: Caller, project_id: int, data: dict[str, Any]) -> Project:
    project = get(caller, project_id)
    for scope in _scopes(project, data):
        if not allowed(caller, project, scope):
            raise PermissionDenied()
    clean = _clean(caller, data, creating=False)
    if "organization_id" in data and data["organization_id"] != project.organization_id:
        raise ValidationFailed.field(
            "organization_id", "Moving a project to another organization is not supported."
        )
    before = snapshot(project)
    if "labels" in data:
        labels.apply(caller, data["labels"], project=project, creating=False)
    if "assignee_id" in clean and clean["assignee_id"] != project.assignee_id:
        project.assignee_updated_date = utcnow()
    for key, value in clean.items():
        setattr(project, key, value)
    project.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "project", project, before)
    return project


def delete(caller: Caller, project_id: int) -> None:
    """Delete the project with its tasks, their jobs, labels and annotations (the database
    cascades); one event, for the project."""
    project = get(caller, project_id, "delete")
    changes.deleted(caller, "project", project)
    task_data = select(Task.data_id).where(Task.project_id == project.id,
                                           Task.data_id.is_not(None))
    data_ids = list(caller.session.scalars(task_data))
    caller.session.delete(project)
    caller.session.flush()
    if data_ids:
        caller.session.execute(sql_delete(TaskData).where(TaskData.id.in_(data_ids)))
        schedule_media_removal(caller.session, data_ids)
