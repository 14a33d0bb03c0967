"""Native functions (``/api/functions``): what ``cvat-cli function create-native`` registers
and ``delete`` removes, who may see, run, serve and delete them (the ``function`` IAM table),
and their descriptors for ``/api/lambda/functions``.

A function belongs to the organization it was created in (``X-Organization``) or to the
sandbox. ``visibility`` is ``private`` (its owner, and its organization's maintainers) or
``public`` (every member of its organization; every user for a sandbox function).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Select, select

from cvatcore.core.errors import NotFound, PermissionDenied, ValidationFailed
from cvatcore.core.iam import engine
from cvatcore.core.models import Membership, NativeFunction
from cvatcore.core.services import changes
from cvatcore.core.services.context import (
    context_to_create,
    narrow_to_context,
    org_context,
    outside_org,
    subject,
)
from cvatcore.hooks.inference_types import check_descriptor, describe_function

if TYPE_CHECKING:
    from cvatcore.core.services.caller import Caller

PROVIDER = "native"
KINDS = ("detector", "interactor", "tracker")
VISIBILITIES = ("private", "public")
#: Shape types a tracker may declare (``supported_shape_types``).
TRACKED_SHAPES = ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask",
                  "skeleton")


def _owner_sql(subj: Any) -> ColumnElement[bool]:
    return NativeFunction.owner_id == subj.user_id


def _public_sql(subj: Any) -> ColumnElement[bool]:
    return NativeFunction.visibility == "public"


def list_query(caller: Caller) -> Select[Any]:
    """The functions the caller may see, in the request's organization context; without a
    context, their own, the public sandbox ones and those of their organizations they may
    see."""
    subj, oc = subject(caller), org_context(caller)
    stmt = narrow_to_context(select(NativeFunction), NativeFunction.organization_id, oc)
    if subj.is_admin:
        return stmt
    relations = {"owner": _owner_sql}
    limits = {"public": _public_sql}
    if oc.kind == "none":
        mine = select(Membership.organization_id).where(
            Membership.user_id == subj.user_id, Membership.is_active.is_(True))
        sandbox = engine.visible("function", subj, relations, False, limits)
        member = NativeFunction.organization_id.in_(mine) & (
            _owner_sql(subj) | _public_sql(subj))
        return stmt.where((NativeFunction.organization_id.is_(None) & sandbox) | member)
    return stmt.where(engine.visible("function", subj, relations, oc.kind == "organization",
                                     limits))


def get(caller: Caller, function_id: int, scope: str = "view") -> NativeFunction:
    """One function, checked for ``scope`` (view, delete, serve); a function the caller may
    not even see is a 404."""
    function = caller.session.get(NativeFunction, function_id)
    if function is None:
        raise NotFound("Function not found.")
    subj = subject(caller, function.organization_id)
    rels = {"owner"} if function.owner_id == subj.user_id else set()
    in_org = function.organization_id is not None
    limits = {"public": function.visibility == "public"}
    if outside_org(subj, function.organization_id):
        raise NotFound("Function not found.")
    if not engine.allows("function", "view", subj, rels, in_org, limits):
        raise NotFound("Function not found.")
    if scope != "view" and not engine.allows("function", scope, subj, rels, in_org, limits):
        raise PermissionDenied()
    return function


def create(caller: Caller, data: dict[str, Any]) -> NativeFunction:
    """``POST /api/functions`` with what ``cvat-cli function create-native`` sends."""
    user = caller.require_user()
    oc = context_to_create(caller, "function")
    if data.get("provider") != PROVIDER:
        raise ValidationFailed.field("provider", f'Only "{PROVIDER}" functions can be created.')
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 256:
        raise ValidationFailed.field("name", "A name of 1 to 256 characters is required.")
    visibility = data.get("visibility", "private")
    if visibility not in VISIBILITIES:
        raise ValidationFailed.field("visibility", f"Must be one of {', '.join(VISIBILITIES)}.")
    kind = data.get("kind")
    if kind not in KINDS:
        raise ValidationFailed.field("kind", f"Must be one of {', '.join(KINDS)}.")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise ValidationFailed.field("description", "Must be a string.")
    function = NativeFunction(
        name=name.strip(), kind=kind, visibility=visibility, description=description,
        spec=_spec(kind, data), owner_id=user.id, organization_id=oc.org_id)
    caller.session.add(function)
    caller.session.flush()
    changes.created(caller, "function", function)
    return function


def _spec(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    if kind == "detector":
        labels = data.get("labels_v2", [])
        if not isinstance(labels, list) or not all(_named(label) for label in labels):
            raise ValidationFailed.field("labels_v2", "A list of labels, each with a name "
                                                      "(and sublabels with names), is required.")
        described = describe_function("x", labels=[_typed(label) for label in labels])
        problems = check_descriptor(described)
        if problems:
            raise ValidationFailed.field("labels_v2", "; ".join(problems))
        return {"labels_v2": described["labels_v2"]}
    if kind == "interactor":
        spec = {"min_pos_points": _int(data, "min_pos_points", 1, 0),
                "min_neg_points": _int(data, "min_neg_points", -1, -1),
                "startswith_box": _bool(data, "startswith_box"),
                "startswith_box_optional": _bool(data, "startswith_box_optional")}
        return spec
    shapes = data.get("supported_shape_types", [])
    if not isinstance(shapes, list) or any(s not in TRACKED_SHAPES for s in shapes):
        raise ValidationFailed.field("supported_shape_types",
                                     f"A list of {', '.join(TRACKED_SHAPES)} is required.")
    return {"supported_shape_types": sorted(set(shapes))}


def _named(label: Any) -> bool:
    return isinstance(label, dict) and isinstance(label.get("name"), str) and all(
        _named(sub) for sub in label.get("sublabels") or [])


def _typed(label: dict[str, Any]) -> dict[str, Any]:
    """cvat-cli leaves ``type`` out for "any"; the agent wants it on every label."""
    out = {**label, "type": label.get("type") or "any"}
    if label.get("sublabels"):
        out["sublabels"] = [_typed(sub) for sub in label["sublabels"]]
    return out


def _int(data: dict[str, Any], name: str, default: int, lowest: int) -> int:
    value = data.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise ValidationFailed.field(name, f"An integer of at least {lowest} is required.")
    return value


def _bool(data: dict[str, Any], name: str) -> bool:
    value = data.get(name, False)
    if not isinstance(value, bool):
        raise ValidationFailed.field(name, "Must be a valid boolean.")
    return value


def delete(caller: Caller, function_id: int) -> None:
    """``DELETE /api/functions/{id}``: its queued and running requests go with it (their
    batch runs then fail, saying so)."""
    function = get(caller, function_id, "delete")
    changes.deleted(caller, "function", function)
    caller.session.delete(function)
    caller.session.flush()


def descriptor(function: NativeFunction) -> dict[str, Any]:
    """The function as ``/api/lambda/functions`` lists it (its id is the number as a
    string, as lambda function ids are strings)."""
    spec = dict(function.spec or {})
    labels = spec.pop("labels_v2", [])
    return describe_function(str(function.id), name=function.name, kind=function.kind,
                             labels=labels, description=function.description, version=1,
                             provider=PROVIDER, **spec)


def visible_descriptors(caller: Caller) -> list[dict[str, Any]]:
    """Descriptors of every function the caller may see (any organization context)."""
    caller.require_user()
    stmt = list_query(caller).order_by(NativeFunction.id)
    return [descriptor(f) for f in caller.session.scalars(stmt)]


def find_visible(caller: Caller, function_id: str) -> NativeFunction | None:
    """The function a lambda id names, if the caller may see it; None for other ids."""
    if not function_id.isdecimal():
        return None
    try:
        return get(caller, int(function_id))
    except NotFound:
        return None

