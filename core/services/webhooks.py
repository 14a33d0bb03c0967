"""Webhooks (``/api/webhooks``): CVAT's fields, validation and permissions.

A webhook belongs to a project (``type="project"``, it hears that project's objects) or to an
organization (it hears everything in it). Its secret is stored only as a ``core/secrets.py``
token and never returned; its target is checked by the outbound guard (``core/outbound.py``)
when it is set, and again before every delivery.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select, true

from cvatcore.core.bus import snapshot
from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.iam.engine import Subject
from cvatcore.core.models import Project, Webhook
from cvatcore.core.models.base import utcnow
from cvatcore.core.outbound import OutboundRefused, resolve
from cvatcore.core.secrets import remember
from cvatcore.core.services import changes
from cvatcore.core.services.context import narrow_to_context, org_context, outside_org, subject
from cvatcore.core.services.fields import clean_text
from cvatcore.core.services.projects import subject_in
from cvatcore.core.services.webhooks_delivery import ensure_drain

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

TYPES = ("project", "organization")
CONTENT_TYPES = ("application/json",)
_CRUD = ("create", "update", "delete")
#: Request types whose end webhooks may hear (``completed:request[<type>]``, CVAT's keys).
REQUEST_EVENTS = ("create:task", "export:annotations", "export:backup", "export:dataset")
_REQUESTS = {f"completed:request[{kind}]" for kind in REQUEST_EVENTS}
_PROJECT_EVENTS = {f"{a}:{r}" for r in ("task", "job", "issue", "comment") for a in _CRUD} | {
    "update:project", "delete:project"} | _REQUESTS
#: Which events each type of webhook may ask for (CVAT's ``event_type.py``; organization
#: webhooks no longer hear ``delete:organization``, as in CVAT's migration 0007).
EVENTS: dict[str, frozenset[str]] = {
    "project": frozenset(_PROJECT_EVENTS),
    "organization": frozenset(
        {f"{a}:{r}" for r in ("project", "task", "job", "issue", "comment", "membership")
         for a in _CRUD} | {"update:organization", "create:invitation", "delete:invitation"}
        | _REQUESTS),
}


def events_of(kind: str) -> list[str]:
    """``GET /api/webhooks/events?type=``: the sorted event keys for ``project``,
    ``organization`` or ``all``."""
    if kind == "all":
        return sorted(EVENTS["project"] | EVENTS["organization"])
    if kind not in EVENTS:
        raise ValidationFailed({"detail": "Incorrect value of type parameter"})
    return sorted(EVENTS[kind])


# -- permissions --------------------------------------------------------------------------

def _relations(caller: Caller, user_id: int, hook: Webhook) -> set[str]:
    rels = {"owner"} if hook.owner_id == user_id else set()
    if hook.project_id is not None:
        owner = caller.session.scalar(select(Project.owner_id).where(
            Project.id == hook.project_id))
        if owner == user_id:
            rels.add("project:owner")
    return rels


def get(caller: Caller, webhook_id: int, scope: str = "view") -> Webhook:
    """The webhook if the user may do ``scope`` on it: 404 when there is none (or it lies in
    an organization the user is not in), 403 otherwise."""
    hook = caller.session.get(Webhook, webhook_id)
    if hook is None:
        raise NotFound("Webhook not found.")
    subj = subject_in(caller, hook.organization_id)
    in_org = hook.organization_id is not None
    if outside_org(subj, hook.organization_id):
        raise NotFound("Webhook not found.")
    if not engine.allows("webhook", scope, subj, _relations(caller, subj.user_id, hook), in_org):
        raise PermissionDenied()
    return hook


def _relation_sql(subj: Subject) -> dict[str, Any]:
    owned = select(Project.id).where(Project.owner_id == subj.user_id)
    return {"owner": lambda s: Webhook.owner_id == s.user_id,
            "project:owner": lambda s: Webhook.project_id.in_(owned)}


def list_query(caller: Caller) -> Select[Any]:
    """Webhooks the user may view, in the request's context."""
    subj, oc = subject(caller), org_context(caller)
    stmt = narrow_to_context(select(Webhook), Webhook.organization_id, oc)
    rel = _relation_sql(subj)
    if oc.kind == "none":
        visible: ColumnElement[bool] = true() if subj.is_admin else (
            rel["owner"](subj) | rel["project:owner"](subj))
        return stmt.where(visible)
    return stmt.where(engine.visible("webhook", subj, rel, oc.kind == "organization"))


# -- validation ---------------------------------------------------------------------------

def _bool(data: dict[str, Any], clean: dict[str, Any], errors: dict[str, list[str]],
          name: str) -> None:
    if name in data:
        if isinstance(data[name], bool):
            clean[name] = data[name]
        else:
            errors[name] = ["Must be a valid boolean."]


def check_target(caller: Caller, url: str) -> None:
    """Refuse a target the server may not connect to (a 400 naming ``target_url``)."""
    try:
        resolve(url, caller.state.settings.outbound.allow)
    except OutboundRefused as exc:
        raise ValidationFailed.field("target_url", str(exc)) from None


def _validate(caller: Caller, data: dict[str, Any], current: Webhook | None) -> dict[str, Any]:
    creating = current is None
    errors: dict[str, list[str]] = {}
    clean: dict[str, Any] = {}
    clean_text(data, clean, errors, "target_url", 8192, required=creating, allow_blank=False)
    clean_text(data, clean, errors, "description", 128)
    clean_text(data, clean, errors, "secret", 64)
    _bool(data, clean, errors, "is_active")
    _bool(data, clean, errors, "enable_ssl")
    if "content_type" in data:
        if not isinstance(data["content_type"], str) or data["content_type"] not in CONTENT_TYPES:
            errors["content_type"] = [f'"{data["content_type"]}" is not a valid choice.']
        else:
            clean["content_type"] = data["content_type"]
    kind = current.type if current is not None else data.get("type")
    if creating:
        if "type" not in data:
            errors["type"] = ["This field is required."]
        elif not isinstance(kind, str) or kind not in TYPES:
            errors["type"] = [f'"{kind}" is not a valid choice.']
            kind = None  # a dict or list is no key of EVENTS below
    if "events" in data or creating:
        events = data.get("events")
        if events is None:
            errors["events"] = ["This field is required."]
        elif not isinstance(events, list) or not all(isinstance(e, str) for e in events):
            errors["events"] = ["Expected a list of event names."]
        elif kind in EVENTS and not set(events) <= EVENTS[kind]:
            errors["events"] = [f"Invalid events list for {kind} webhook"]
        else:
            clean["events"] = sorted(set(events))
    if errors:
        raise ValidationFailed(errors)
    if "target_url" in clean:
        check_target(caller, clean["target_url"])
    return clean


def _scope_of(caller: Caller, data: dict[str, Any]) -> tuple[int | None, int | None, str]:
    """(project_id, organization_id, IAM scope) of a new webhook."""
    oc = org_context(caller)
    project_id = data.get("project_id")
    if data["type"] == "organization":
        if project_id is not None:
            raise ValidationFailed.field(
                "project_id", "An organization webhook cannot belong to a project.")
        if oc.kind != "organization":
            raise ValidationFailed.field(
                "type", "An organization webhook is created in an organization context.")
        return None, oc.org_id, "create@organization"
    if project_id is None:
        raise ValidationFailed.field("project_id", "A project webhook needs a project_id.")
    if not isinstance(project_id, int) or isinstance(project_id, bool):
        raise ValidationFailed.field("project_id", "A valid integer is required.")
    project = caller.session.get(Project, project_id)
    if project is None:
        raise ValidationFailed.field("project_id", f"Invalid pk \"{project_id}\" - object "
                                                   "does not exist.")
    return project.id, project.organization_id, "create@project"


def _store_secret(caller: Caller, secret: str) -> str | None:
    if not secret:
        return None
    remember(secret)
    return caller.state.secrets.encrypt(secret)


# -- create, update, delete ---------------------------------------------------------------

def create(caller: Caller, data: dict[str, Any]) -> Webhook:
    user = caller.require_user()
    clean = _validate(caller, data, None)
    project_id, org_id, scope = _scope_of(caller, data)
    subj = subject_in(caller, org_id)
    rels: set[str] = set()
    if project_id is not None:
        owner = caller.session.scalar(select(Project.owner_id).where(Project.id == project_id))
        rels = {"project:owner"} if owner == user.id else set()
    if outside_org(subj, org_id):
        raise PermissionDenied("You are not a member of this organization.")
    if not engine.allows("webhook", scope, subj, rels, org_id is not None):
        raise PermissionDenied()
    hook = Webhook(
        target_url=clean["target_url"], description=clean.get("description", ""),
        events=",".join(clean["events"]), type=data["type"],
        content_type=clean.get("content_type", "application/json"),
        secret=_store_secret(caller, clean.get("secret", "")),
        is_active=clean.get("is_active", True), enable_ssl=clean.get("enable_ssl", True),
        owner_id=user.id, project_id=project_id, organization_id=org_id,
    )
    caller.session.add(hook)
    caller.session.flush()
    changes.created(caller, "webhook", hook)
    return hook


def update(caller: Caller, webhook_id: int, data: dict[str, Any]) -> Webhook:
    """PATCH and PUT; ``type`` and ``project_id`` are write-once and ignored here."""
    hook = get(caller, webhook_id, "update")
    before = snapshot(hook, exclude=changes.SECRET_FIELDS)
    clean = _validate(caller, data, hook)
    for name in ("target_url", "description", "content_type", "is_active", "enable_ssl"):
        if name in clean:
            setattr(hook, name, clean[name])
    if "events" in clean:
        hook.events = ",".join(clean["events"])
    if "secret" in clean:
        hook.secret = _store_secret(caller, clean["secret"])
    if clean.get("is_active"):
        hook.disabled_reason = ""
    hook.updated_date = utcnow()
    caller.session.flush()
    changes.updated(caller, "webhook", hook, before)
    if hook.is_active:  # turned back on: send what waited meanwhile
        ensure_drain(caller.session, hook.id)
    return hook


def delete(caller: Caller, webhook_id: int) -> None:
    hook = get(caller, webhook_id, "delete")
    changes.deleted(caller, "webhook", hook)
    caller.session.delete(hook)
    caller.session.flush()
