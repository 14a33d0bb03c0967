"""From group DNs to CVAT system roles, as CVAT's ``iam/signals.py`` maps LDAP groups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ldap3.core.exceptions import LDAPInvalidDnError
from ldap3.utils.dn import parse_dn

from cvatcore_ldap.config import ROLES, LdapConfig


def normalize_dn(dn: str) -> str:
    """A DN in one spelling: attribute names and values lower-cased, no spaces around ``,``/``=``.

    ``CN=CVAT Admins, OU=Groups,DC=corp`` and ``cn=cvat admins,ou=groups,dc=corp`` are equal.
    """
    try:
        parts = parse_dn(dn.strip(), escape=False, strip=True)
    except LDAPInvalidDnError:
        return dn.strip().lower()
    return ",".join(f"{attr.strip().lower()}={value.strip().lower()}" for attr, value, _ in parts)


@dataclass(frozen=True)
class RoleDecision:
    """What a user's groups mean in cvatcore."""

    roles: list[str]  # most privileged first; never empty
    superuser: bool
    allowed: bool  # False when the required group is missing
    default: bool = False  # True when no group matched and ``default_role`` applies

    @property
    def privilege(self) -> str:
        return self.roles[0]


class RoleMapper:
    """Maps group DNs to roles; ``admin`` wins over ``business`` over ``user`` over ``worker``."""

    def __init__(self, config: LdapConfig) -> None:
        self.by_role = {
            role: {normalize_dn(dn) for dn in config.role_groups.get(role, [])} for role in ROLES
        }
        self.default_role = config.default_role
        self.required = normalize_dn(config.required_group) if config.required_group else None

    def decide(self, group_dns: Iterable[str]) -> RoleDecision:
        groups = {normalize_dn(dn) for dn in group_dns}
        matched = [role for role in ROLES if self.by_role[role] & groups]
        allowed = self.required is None or self.required in groups
        # Only membership of an admin group makes a superuser, never the default role.
        return RoleDecision(matched or [self.default_role], superuser="admin" in matched,
                            allowed=allowed, default=not matched)
