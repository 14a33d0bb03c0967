"""CVAT's list conventions: ``page``/``page_size``, ``filter`` (JSON Logic), ``search``,
``sort`` and per-resource simple filters, applied in SQL.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import BigInteger, Integer, Select, bindparam, func, or_, select
from starlette.datastructures import URL

from cvatcore.core.api.bounds import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LENGTH,
    MAX_PAGE,
    MAX_SORT_TERMS,
    check_json,
    parse_depth_error,
    strict_constant,
)
from cvatcore.core.api.context import Ctx
from cvatcore.core.api.filters import compare, compile_filter
from cvatcore.core.db.fast_queries import select_rows
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
            stmt = stmt.where(compare("==", spec, name, _cast(spec, name, q[name]), field=name))
    if q.get("filter"):
        stmt = stmt.where(compile_filter(spec, _parse_filter(q["filter"])))
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
    parts = [p.strip() for p in sort.split(",") if p.strip()]
    if len(parts) > MAX_SORT_TERMS:
        raise ValidationFailed.field(
            "sort", f"Ensure there are no more than {MAX_SORT_TERMS} sort terms.")
    order = []
    for part in parts:
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
    if len(text) > MAX_FILTER_LENGTH:
        raise ValidationFailed.field(
            "filter", f"Ensure this field has no more than {MAX_FILTER_LENGTH} characters.")
    try:
        value = json.loads(text, parse_constant=strict_constant)
    except RecursionError:
        raise parse_depth_error("filter", MAX_FILTER_DEPTH) from None
    except ValueError:
        raise ValidationFailed.field("filter", "The filter is not valid JSON.") from None
    check_json(text.encode("utf-8", "surrogatepass"), value, "filter", MAX_FILTER_DEPTH)
    return value


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
    if page > MAX_PAGE:
        raise ValidationFailed.field("page", f"Ensure this value is at most {MAX_PAGE}.")
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
_OFFSET = bindparam("page_offset", type_=BigInteger)  # (page - 1) * size passes 2**31
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
