"""How services announce a change: ``created``, ``updated``, ``deleted`` publish one domain
event on the application's bus (``core/bus.py``) inside the request's transaction, carrying the
actor, the organization and the request id (``X-Request-Id``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cvatcore.core.bus import make_event, snapshot

#: Columns never copied into events: password hashes and encrypted credentials.
SECRET_FIELDS = ("password", "credentials", "secret", "key_hash")

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller


def _org_of(caller: Caller, obj: Any) -> int | None:
    if hasattr(obj, "organization_id"):  # None means the sandbox, not "unknown"
        return obj.organization_id
    from cvatcore.core.services.context import org_context

    try:
        return org_context(caller).org_id if caller.user is not None else None
    except Exception:  # an unresolvable context is not this event's problem
        return None


def publish(
    caller: Caller, action: str, resource: str, obj: Any, before: dict[str, Any] | None = None,
    *, org_id: int | None = None, exclude: tuple[str, ...] = SECRET_FIELDS,
    extra: dict[str, Any] | None = None,
) -> None:
    """Publish ``<action>:<resource>`` for ``obj`` (already flushed, so it has its id).
    Columns named in ``exclude`` (secrets, even encrypted ones) stay out of the event.
    ``extra``: more keys for the event's ``after`` (what changed beyond the columns)."""
    caller.session.flush()
    after = None if action == "delete" else snapshot(obj, exclude)
    if extra:
        after = {**(after or {}), **extra}
    if action == "delete" and before is None:
        before = snapshot(obj, exclude)
    event = make_event(
        action, resource, getattr(obj, "id", None), before=before, after=after,
        actor_id=caller.user.id if caller.user is not None else None,
        org_id=org_id if org_id is not None else _org_of(caller, obj),
        request_id=caller.request_id,
    )
    caller.state.bus.publish(caller.session, event, origin=caller)


def created(caller: Caller, resource: str, obj: Any, **kw: Any) -> None:
    publish(caller, "create", resource, obj, **kw)


def updated(caller: Caller, resource: str, obj: Any, before: dict[str, Any], **kw: Any) -> None:
    publish(caller, "update", resource, obj, before, **kw)


def deleted(caller: Caller, resource: str, obj: Any, **kw: Any) -> None:
    """Call *before* deleting ``obj``: the event carries its last state."""
    publish(caller, "delete", resource, obj, None, **kw)
