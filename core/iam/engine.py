"""Permission checks and list filters, both read from the tables in ``rules.py``.

A check is ``allows(resource, scope, subject, relations, in_org, limits)``. A list filter is
the same table turned into one SQL ``WHERE``: every ``view`` row the subject passes without
looking at the object contributes the SQL predicate of its relation, so lists never load
rows to check them one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from sqlalchemy import ColumnElement, false, or_, true

from cvatcore.core.iam import rules
from cvatcore.core.iam.roles import has_org_role, has_privilege


@dataclass(frozen=True)
class Rule:
    scope: str
    context: str
    ownership: frozenset[str] | None
    privilege: str
    membership: str | None
    limit: str | None


@dataclass(frozen=True)
class Subject:
    """Who asks: their id, system privilege and role in the context organization."""

    user_id: int
    privilege: str
    org_id: int | None = None
    org_role: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.privilege == "admin"


def _parse(table: str) -> list[Rule]:
    lines = [line.split() for line in table.strip().splitlines()]
    header, rows = lines[0], lines[1:]
    result = []
    for row in rows:
        cell = dict(zip(header, row, strict=True))
        owners = None if cell["ownership"] == "*" else frozenset(cell["ownership"].split(","))
        result.append(
            Rule(
                scope=cell["scope"],
                context=cell["context"],
                ownership=owners,
                privilege=cell["privilege"],
                membership=None if cell["membership"] == "*" else cell["membership"],
                limit=None if cell["limit"] == "*" else cell["limit"],
            )
        )
    return result


@cache
def table(resource: str) -> tuple[Rule, ...]:
    return tuple(_parse(rules.TABLES[resource]))


def scopes(resource: str) -> set[str]:
    return {rule.scope for rule in table(resource)}


def _subject_passes(rule: Rule, subject: Subject, in_org: bool) -> bool:
    if rule.context == "sandbox" and in_org or rule.context == "organization" and not in_org:
        return False
    if not has_privilege(subject.privilege, rule.privilege):
        return False
    return rule.membership is None or has_org_role(subject.org_role, rule.membership)


def allows(
    resource: str,
    scope: str,
    subject: Subject,
    relations: frozenset[str] | set[str] = frozenset(),
    in_org: bool = False,
    limits: Mapping[str, bool] | None = None,
) -> bool:
    """Whether ``subject`` may do ``scope`` on an object of ``resource``."""
    if scope not in scopes(resource):
        raise KeyError(f"no rules for {scope} on {resource}")
    if subject.is_admin:
        return True
    limits = limits or {}
    for rule in table(resource):
        if rule.scope != scope or not _subject_passes(rule, subject, in_org):
            continue
        if rule.ownership is not None and not rule.ownership & set(relations):
            continue
        if rule.limit is not None and not limits.get(rule.limit, False):
            continue
        return True
    return False


RelationSQL = Mapping[str, Callable[[Subject], ColumnElement[bool]]]


def visible(
    resource: str, subject: Subject, relation_sql: RelationSQL, in_org: bool,
    limit_sql: RelationSQL | None = None,
) -> ColumnElement[bool]:
    """A SQL predicate that keeps exactly the objects ``subject`` may ``view``."""
    if subject.is_admin:
        return true()
    clauses: list[ColumnElement[bool]] = []
    for rule in table(resource):
        if rule.scope != "view" or not _subject_passes(rule, subject, in_org):
            continue
        parts: list[ColumnElement[bool]] = []
        if rule.ownership is not None:
            parts.append(or_(*(relation_sql[r](subject) for r in sorted(rule.ownership))))
        if rule.limit is not None:
            parts.append((limit_sql or {})[rule.limit](subject))
        if not parts:
            return true()
        clauses.append(parts[0] if len(parts) == 1 else parts[0] & parts[1])
    return or_(*clauses) if clauses else false()
