"""CVAT's list conventions: ``page``/``page_size``, ``filter`` (JSON Logic), ``search``,
``sort`` and per-resource simple filters, applied in SQL.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, Select, and_, bindparam, func, not_, or_, select
from starlette.datastructures import URL

from cvatcore.core.api.context import Ctx
from cvatcore.core.db.engine import select_rows
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.services.context import org_context, subject

DEFAULT_PAGE_SIZE = 10
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True)
class ListSpec:
    """What one list endpoint lets clients filter, search and sort on."""

    fields: dict[str, Any]  # filter/sort name -> SQL column expression
    search: Sequence[str] = ()
    simple_filters: Sequence[str] = ()
    default_sort: str = "-id"
    sort_fields: Sequence[str] | None = None
    filter_fields: Sequence[str] | None = None
    casts: dict[str, Callable[[str], Any]] = field(default_factory=dict)


def parse_bool(value: str) -> bool:
    """``true``/``false`` (any case) as CVAT's boolean query parameters take them."""
    lowered = value.lower()
    if lowered not in ("true", "false", "1", "0"):
        raise ValueError(value)
    return lowered in ("true", "1")


def apply_query(ctx: Ctx, stmt: Select[Any], spec: ListSpec) -> Select[Any]:
    """Add the request's filter, search, simple filters and sort to ``stmt``."""
    q = ctx.query
    for name in spec.simple_filters:
        if name in q:
            stmt = stmt.where(_compare("==", spec, name, _cast(spec, name, q[name])))
    if q.get("filter"):
        stmt = stmt.where(_json_logic(spec, _parse_filter(q["filter"])))
    if q.get("search"):
        term = f"%{q['search'].lower()}%"
        stmt = stmt.where(or_(*(func.lower(spec.fields[f]).like(term) for f in spec.search)))
    return stmt.order_by(*_ordering(spec, q.get("sort") or spec.default_sort))


def _cast(spec: ListSpec, name: str, value: str) -> Any:
    cast = spec.casts.get(name)
    if cast is None:
        return value
    try:
        return cast(value)
    except ValueError:
        raise ValidationFailed.field(name, f"A valid value is required, got {value!r}.") from None


def _ordering(spec: ListSpec, sort: str) -> list[Any]:
    allowed = spec.sort_fields if spec.sort_fields is not None else list(spec.fields)
    order = []
    for part in (p.strip() for p in sort.split(",") if p.strip()):
        name = part.lstrip("-")
        if name not in allowed:
            raise ValidationFailed.field(
                "sort", f"Unknown sort field {name!r}; allowed: {', '.join(allowed)}."
            )
        column = spec.fields[name]
        order.append(column.desc() if part.startswith("-") else column.asc())
    if "id" in spec.fields:
        order.append(spec.fields["id"].asc())  # a stable order across pages
    return order


def _parse_filter(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        raise ValidationFailed.field("filter", "The filter is not valid JSON.") from None


_COMPARISONS = {"==", "!=", "<", "<=", ">", ">="}


def _json_logic(spec: ListSpec, node: Any) -> ColumnElement[bool]:
    if not isinstance(node, dict) or len(node) != 1:
        raise ValidationFailed.field("filter", f"Expected one JSON Logic operation, got {node!r}.")
    op, args = next(iter(node.items()))
    if op in ("and", "or"):
        parts = [_json_logic(spec, a) for a in _as_list(args)]
        return and_(*parts) if op == "and" else or_(*parts)
    if op == "!":
        return not_(_json_logic(spec, _as_list(args)[0]))
    args = _as_list(args)
    if op in _COMPARISONS:
        if op in ("<", "<=") and len(args) == 3:  # {"<=": [a, {"var": x}, b]}: between
            low, var, high = args
            name = _var(spec, var)
            return and_(_compare(op, spec, name, low, reverse=True), _compare(op, spec, name, high))
        if len(args) != 2:
            raise ValidationFailed.field("filter", f"{op!r} takes two arguments.")
        if _is_var(args[0]):
            return _compare(op, spec, _var(spec, args[0]), args[1])
        return _compare(op, spec, _var(spec, args[1]), args[0], reverse=True)
    if op == "in":
        if len(args) != 2:
            raise ValidationFailed.field("filter", "'in' takes two arguments.")
        if _is_var(args[0]) and isinstance(args[1], list):
            return spec.fields[_var(spec, args[0])].in_(args[1])
        if _is_var(args[1]) and isinstance(args[0], str):  # substring match, as CVAT's
            return func.lower(spec.fields[_var(spec, args[1])]).contains(args[0].lower())
    raise ValidationFailed.field("filter", f"Unsupported filter operation {op!r}.")


def _as_list(args: Any) -> list[Any]:
    return args if isinstance(args, list) else [args]


def _is_var(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"var"}


def _var(spec: ListSpec, value: Any) -> str:
    if not _is_var(value):
        raise ValidationFailed.field("filter", f"Expected {{'var': name}}, got {value!r}.")
    name = value["var"]
    allowed = spec.filter_fields if spec.filter_fields is not None else list(spec.fields)
    if name not in allowed:
        raise ValidationFailed.field(
            "filter", f"Unknown filter field {name!r}; allowed: {', '.join(allowed)}."
        )
    return name


_OPERATORS = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_MIRRORED = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}


def _compare(op: str, spec: ListSpec, name: str, value: Any, reverse: bool = False) -> Any:
    column = spec.fields[name]
    if reverse:
        op = _MIRRORED.get(op, op)
    value = _coerce(column, name, value)
    if isinstance(value, bool) and op not in ("==", "!="):
        raise ValidationFailed.field("filter", f"{name!r} is true or false; use == or !=.")
    return _OPERATORS[op](column, value)


def _coerce(column: Any, name: str, value: Any) -> Any:
    """The value as the column's Python type, so a mismatch is a 400 and not a database error
    (PostgreSQL refuses to compare an integer with text)."""
    if value is None or isinstance(value, dict | list):
        raise ValidationFailed.field("filter", f"Cannot compare {name!r} with {value!r}.")
    try:
        kind = column.type.python_type
    except NotImplementedError:
        return value
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("-").isdigit():
            return int(value)
    elif kind is str:
        return value if isinstance(value, str) else str(value)
    elif kind is datetime:
        try:
            return datetime.fromisoformat(str(value))
        except ValueError:
            pass
    else:
        return value
    raise ValidationFailed.field("filter", f"{value!r} is not a valid value for {name!r}.")


def page_params(ctx: Ctx) -> tuple[int, int | None]:
    q = ctx.query
    try:
        page = int(q.get("page", 1))
        raw_size = q.get("page_size", str(DEFAULT_PAGE_SIZE))
        size = None if raw_size == "all" else int(raw_size)
    except ValueError:
        raise ValidationFailed({"detail": "page and page_size must be integers."}) from None
    if page < 1 or (size is not None and size < 1):
        raise ValidationFailed({"detail": "page and page_size must be positive."})
    return page, None if size is None else min(size, MAX_PAGE_SIZE)


def paginate(
    ctx: Ctx, stmt: Select[Any], serialize: Callable[[Sequence[Any]], list[dict[str, Any]]],
    columns: Sequence[Any] | None = None,
) -> dict[str, Any]:
    """Run ``stmt`` for one page and build CVAT's ``{count, next, previous, results}``.

    With ``columns`` the page is read as plain tuples of those columns, straight off the
    driver (``select_rows``: no ORM objects, no ORM session, no result objects).
    """
    page, size = page_params(ctx)
    offset = 0 if size is None else (page - 1) * size
    if size is not None:
        # One row more than the page: when the first page is not full, or the extra row is
        # missing, the total is known without a second (counting) query over the same joins.
        stmt = stmt.limit(size + 1).offset(offset)
    if columns is None:
        rows: Sequence[Any] = ctx.caller.session.execute(stmt).scalars().all()
    else:
        rows = select_rows(ctx.work, stmt.with_only_columns(*columns))

    def count() -> int:
        counted = select(func.count()).select_from(
            stmt.limit(None).offset(None).order_by(None).subquery())
        if columns is None:
            return ctx.caller.session.execute(counted).scalar_one()
        return select_rows(ctx.work, counted)[0][0]

    return _page(ctx, page, size, rows, count, serialize)


# A list's statement for one shape of request, kept (see ``paginate_planned``).
_LIMIT = bindparam("page_limit", type_=Integer)
_OFFSET = bindparam("page_offset", type_=Integer)
_PLANS: dict[tuple[Any, ...], tuple[Select[Any], Select[Any], Select[Any]]] = {}
_MAX_PLANS = 1024


def paginate_planned(
    ctx: Ctx, name: str, spec: ListSpec, build: Callable[[], Select[Any]],
    columns: Sequence[Any], serialize: Callable[[Sequence[Any]], list[Any]],
) -> dict[str, Any]:
    """``paginate(ctx, apply_query(ctx, build(), spec), serialize, columns)`` for the lists
    read most, with the statements (page and count) built once per shape of request and
    then kept: building them and deriving their cache key costs more than running them.

    ``build`` must depend on nothing but who asks (the IAM subject, the organization
    context) and ``spec`` on nothing but the query string, as a service's ``list_query``
    and ``apply_query`` do: those are the key (with ``name``, one per list), with page and
    page size bound as parameters. The rows themselves are read on every request.
    """
    subj = subject(ctx.caller)  # first, as in ``build``: a 401 or 403 comes before a 400
    oc = org_context(ctx.caller)
    key = (name, subj, oc.kind, oc.org_id,
           tuple(item for item in ctx.query.multi_items() if item[0] not in _PAGING))
    plan = _PLANS.get(key)
    if plan is None:
        stmt = apply_query(ctx, build(), spec)
        every = stmt.with_only_columns(*columns)
        counted = select(func.count()).select_from(stmt.order_by(None).subquery())
        if len(_PLANS) >= _MAX_PLANS:  # many users or queries: start over
            _PLANS.clear()
        plan = _PLANS[key] = (every, every.limit(_LIMIT).offset(_OFFSET), counted)
    every, limited, counted = plan
    page, size = page_params(ctx)
    if size is None:
        rows = select_rows(ctx.work, every)
    else:
        params = {"page_limit": size + 1, "page_offset": (page - 1) * size}
        rows = select_rows(ctx.work, limited, params)
    return _page(ctx, page, size, rows, lambda: select_rows(ctx.work, counted)[0][0],
                 serialize)


_PAGING = ("page", "page_size")


def _page(
    ctx: Ctx, page: int, size: int | None, rows: Sequence[Any], count: Callable[[], int],
    serialize: Callable[[Sequence[Any]], list[Any]],
) -> dict[str, Any]:
    """CVAT's page of ``rows`` (read with one row more than ``size``)."""
    offset = 0 if size is None else (page - 1) * size
    more = size is not None and len(rows) > size
    rows = rows[:size] if more else rows
    total = offset + len(rows) if size is None or (not more and (rows or page == 1)) else count()
    if page > 1 and not rows:
        from cvatcore.core.errors import NotFound

        raise NotFound("Invalid page.")
    url = URL(str(ctx.request.url))
    last = 1 if size is None else max(1, -(-total // size))
    return {
        "count": total,
        "next": str(url.include_query_params(page=page + 1)) if page < last else None,
        "previous": _previous(url, page),
        "results": serialize(rows),
    }


def _previous(url: URL, page: int) -> str | None:
    if page <= 1:
        return None
    if page == 2:
        return str(url.remove_query_params("page"))
    return str(url.include_query_params(page=page - 1))
