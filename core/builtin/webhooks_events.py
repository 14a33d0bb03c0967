"""Built-in plugin: turns domain events into webhook deliveries, and sends them.

Its in-transaction subscribers find the active webhooks that hear the event (organization
webhooks by the object's organization, project webhooks by its project), builds CVAT's
payload once (the object as the API shows it, ``before_update`` with the old values of the
fields that changed, ``sender``) and writes one delivery per webhook in the change's own
transaction (``services/webhooks_delivery.record``), which queues the webhook's drain job.
The end of a
background request (``completed:request[<type>]``, published by the job runner,
core/jobs/completion.py) is handled the same way, its webhooks found by the request's object.
The job kind ``deliver:webhook`` sends them.
"""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import and_, bindparam, or_, select

from cvatcore.core.api import issues as issues_api
from cvatcore.core.api import serializers, serializers_domain
from cvatcore.core.api.requests import request_record
from cvatcore.core.api.responses import iso
from cvatcore.core.bus import current_origin
from cvatcore.core.jobs.completion import scope_of
from cvatcore.core.models import (
    BackgroundJob,
    Comment,
    Invitation,
    Issue,
    Job,
    Membership,
    Organization,
    Project,
    Task,
    User,
    Webhook,
)
from cvatcore.core.services import webhooks_delivery, webhooks_drain
from cvatcore.core.services.webhooks import REQUEST_EVENTS
from cvatcore.hooks import DomainEvent, Register, hookimpl

RESOURCES = ("project", "task", "job", "issue", "comment", "membership", "organization",
             "invitation")
IGNORED_FIELDS = ("labels",)  # as CVAT's get_instance_diff


class _Work:
    """What ``select_rows`` reads of a unit of work, over a plain connection."""

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self.engine = connection.engine
        self.driver_connection = connection.connection.driver_connection


def payload_ctx(caller: Any) -> Any:
    """A stand-in for the request context the API serializers read: the base URL, the
    caller and the unit of work."""
    settings = caller.state.settings.server
    base = caller.base_url or f"http://{settings.host}:{settings.port}"
    return SimpleNamespace(request=SimpleNamespace(base_url=base), caller=caller,
                           work=_Work(caller.connection), state=caller.state)


def _locate(session: Any, resource: str, values: dict[str, Any]) -> tuple[int | None,
                                                                        int | None]:
    """(project id, organization id) of the object."""
    if resource == "organization":
        return None, values.get("id")
    if resource in ("membership",):
        return None, values.get("organization_id")
    if resource == "invitation":
        org = session.scalar(select(Membership.organization_id).where(
            Membership.id == values.get("membership_id")))
        return None, org
    if resource == "project":
        return values.get("id"), values.get("organization_id")
    task_id = values.get("id") if resource == "task" else None
    if resource == "comment":
        values = {"job_id": session.scalar(select(Issue.job_id).where(
            Issue.id == values.get("issue_id")))}
    if resource in ("issue", "comment"):
        values = {"task_id": session.scalar(select(Job.task_id).where(
            Job.id == values.get("job_id")))}
    task_id = task_id if task_id is not None else values.get("task_id")
    row = session.execute(select(Task.project_id, Task.organization_id).where(
        Task.id == task_id)).first()
    return (row[0], row[1]) if row else (None, None)


_OF_ORG = and_(Webhook.type == "organization", Webhook.organization_id == bindparam("org_id"))
_OF_PROJECT = and_(Webhook.type == "project", Webhook.project_id == bindparam("project_id"))
# Built once (every change of a project, task, ... runs one): id and events of the active
# webhooks of the organization, of the project, or of either; by (org given, project given).
_MATCHING = {(by_org, by_project): select(Webhook.id, Webhook.events).where(
    Webhook.is_active.is_(True),
    or_(*[kind for kind, used in ((_OF_ORG, by_org), (_OF_PROJECT, by_project)) if used]),
).order_by(Webhook.id) for by_org, by_project in ((True, False), (False, True), (True, True))}


def matching(session: Any, scope: str, project_id: int | None, org_id: int | None
             ) -> list[Any]:
    """The active webhooks (rows with ``id`` and ``events``) that hear ``scope`` on the
    project ``project_id`` or in the organization ``org_id``."""
    kinds = (org_id is not None, project_id is not None)
    if not any(kinds):
        return []
    session.flush()  # a webhook made or changed in this transaction counts
    rows = session.connection().execute(
        _MATCHING[kinds], {"org_id": org_id, "project_id": project_id}).all()
    return [row for row in rows if scope in row.events.split(",")]


_MODELS = {"project": Project, "task": Task, "issue": Issue, "comment": Comment,
           "membership": Membership, "organization": Organization}


def serialize(ctx: Any, resource: str, obj_id: Any, values: dict[str, Any]) -> Any:
    """The object as ``GET /api/<resource>s/{id}`` returns it."""
    session = ctx.caller.session
    if resource == "job":
        return serializers_domain.one_job(ctx, obj_id)
    if resource == "invitation":
        inv = session.get(Invitation, values["key"])
        return serializers.invitations_page(ctx, [inv])[0] if inv else values
    obj = session.get(_MODELS[resource], obj_id)
    if obj is None:
        return values
    pages = {"project": serializers_domain.projects_page, "task": serializers_domain.tasks_page,
             "issue": issues_api.issues_page, "comment": issues_api.comments_page,
             "membership": serializers.memberships_page,
             "organization": serializers.organizations_page}
    return pages[resource](ctx, [obj])[0]


def _old_value(ctx: Any, field: str, old: Any, shown: dict[str, Any]) -> tuple[str, Any]:
    """The serialized name and old value of a changed column."""
    if field.endswith("_id") and isinstance(shown.get(field[:-3]), dict | type(None)) \
            and field[:-3] in shown and field[:-3] not in ("organization", "project", "task"):
        user = ctx.caller.session.get(User, old) if old is not None else None
        return field[:-3], serializers.basic_user(ctx, user)
    if isinstance(old, str) and field.endswith("_date"):
        try:
            return field, iso(datetime.fromisoformat(old))
        except ValueError:
            return field, old
    return field, old


def before_update(ctx: Any, event: DomainEvent, shown: dict[str, Any]) -> dict[str, Any]:
    """Old values of the serialized fields that changed (CVAT's ``before_update``)."""
    before, after = event.before or {}, event.after or {}
    old: dict[str, Any] = {}
    for field in after:
        if before.get(field) == after.get(field) or field in IGNORED_FIELDS:
            continue
        name, value = _old_value(ctx, field, before.get(field), shown)
        if name in shown and shown[name] != value:
            old[name] = value
    return old


def on_change(connection: Any, event: DomainEvent) -> None:
    """In the change's transaction: one delivery per webhook that hears ``event``."""
    if event.resource not in RESOURCES:
        return
    caller = current_origin()
    if caller is None:
        return
    values = event.after if event.after is not None else event.before or {}
    session = caller.session
    project_id, org_id = _locate(session, event.resource, values)
    hooks = matching(session, event.scope, project_id, org_id)
    if not hooks:
        return
    ctx = payload_ctx(caller)
    shown = serialize(ctx, event.resource, event.obj_id, values)
    if event.scope == "create:task" and isinstance(shown.get("jobs"), dict) \
            and not shown["jobs"].get("count"):
        # CVAT's payload of a task without data has no job counts yet (null, not 0).
        shown["jobs"] = {**shown["jobs"], "completed": None, "validation": None}
    payload: dict[str, Any] = {"event": event.scope, event.resource: shown}
    changed = ""
    if event.action == "update":
        payload["before_update"] = before_update(ctx, event, shown)
        changed = ",".join(payload["before_update"])
    payload["sender"] = serializers.basic_user(ctx, caller.user)
    for hook in hooks:
        webhooks_delivery.record(session, hook, event.scope, {**payload, "webhook_id": hook.id},
                                 changed_fields=changed)


def _target_of(session: Any, operation: dict[str, Any]) -> tuple[str | None, Any, int | None,
                                                               int | None]:
    """(target, target id, project id, organization id) of a request's object."""
    target = operation.get("target")
    target_id = operation.get(f"{target}_id")
    if target == "project":
        org = session.scalar(select(Project.organization_id).where(Project.id == target_id))
        return target, target_id, target_id, org
    task_id = target_id if target == "task" else session.scalar(
        select(Job.task_id).where(Job.id == target_id)) if target == "job" else None
    row = session.execute(select(Task.project_id, Task.organization_id).where(
        Task.id == task_id)).first() if task_id is not None else None
    return (target, target_id) + ((row[0], row[1]) if row else (None, None))


def request_payload(state: Any, session: Any, event: DomainEvent) -> tuple[
        dict[str, Any], int | None, int | None]:
    """CVAT's payload of a request's end (without ``webhook_id``) and the (project,
    organization) whose webhooks hear it. ``request`` is the request as
    ``GET /api/requests/{id}`` shows it, as CVAT's newest servers send; the flat fields
    (``status``, ``target``, ``target_id``, ``rq_id``, ``message``, ``format`` or
    ``lightweight``) are what its earlier export-finished events carried."""
    job = session.get(BackgroundJob, (event.after or {})["id"])
    operation = dict(job.operation or {})
    target, target_id, project_id, org_id = _target_of(session, operation)
    settings = state.settings.server
    ctx = SimpleNamespace(request=SimpleNamespace(
        base_url=f"http://{settings.host}:{settings.port}"))
    owner = session.scalar(select(User.username).where(User.id == job.owner_id))
    payload: dict[str, Any] = {
        "event": event.scope, "request": request_record(ctx, job, {job.owner_id: owner or ""}),
        "status": job.status, "target": target, "target_id": target_id, "rq_id": job.id,
        "message": job.message or ""}
    if "format" in operation:
        payload["format"] = operation["format"]
    elif "lightweight" in operation:
        payload["lightweight"] = bool(operation["lightweight"])
    return payload, project_id, org_id if org_id is not None else job.organization_id


def on_request_completed(connection: Any, event: DomainEvent) -> None:
    """In the transaction that ends a request: one delivery per webhook that hears it."""
    origin = current_origin()
    if origin is None:
        return
    session = origin.session
    payload, project_id, org_id = request_payload(origin.state, session, event)
    for hook in matching(session, event.scope, project_id, org_id):
        webhooks_delivery.record(session, hook, event.scope, {**payload, "webhook_id": hook.id})


def on_drain_failed(connection: Any, event: DomainEvent) -> None:
    """A ``deliver:webhook`` job failed for good: the sweeper queues a new drain."""
    origin, job = current_origin(), event.after or {}
    if origin is None or job.get("status") != "failed":
        return
    webhooks_delivery.recover(origin.session, origin.state.settings, job["id"])


@hookimpl
def register_domain_subscribers(register: Register) -> None:
    register("webhooks", on_change, scopes={f"{a}:{r}" for r in RESOURCES
                                            for a in ("create", "update", "delete")})
    register("webhooks-requests", on_request_completed,
             scopes={scope_of(kind) for kind in REQUEST_EVENTS})
    register("webhooks-sweeper", on_drain_failed, scopes={scope_of(webhooks_delivery.KIND)})


@hookimpl
def register_job_kinds(register: Register) -> None:
    register(webhooks_delivery.KIND, webhooks_drain.run_drain,
             description="send a webhook's pending deliveries, in order, with retries")
