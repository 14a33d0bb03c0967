"""The ``ldap`` auth backend: one sign-in is a service bind, a user search, a group lookup and
a bind as the user.

Unknown user, wrong password, locked account and a missing required group all return
``None``, so the API answers the same 401 for each; only the log says which (at INFO, without
the password). A directory that cannot be reached raises ``AuthUnavailableError`` (503).
"""

from __future__ import annotations

import ipaddress
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from ldap3 import Connection

from cvatcore.hooks import AccountStore, Identity
from cvatcore_ldap.config import LdapConfig
from cvatcore_ldap.directory import Directory, DirectoryUser
from cvatcore_ldap.roles import RoleDecision, RoleMapper, normalize_dn

logger = logging.getLogger("cvatcore.ldap")
MAX_USERNAME_LENGTH = 256


def acceptable_username(username: str) -> bool:
    """Not empty, not over-long, and free of NUL and other control characters."""
    return (
        0 < len(username) <= MAX_USERNAME_LENGTH
        and username.strip() != ""
        and not any(ord(c) < 32 or ord(c) == 127 for c in username)
    )


class GroupCache:
    """Group DNs per user DN for ``lifetime`` seconds (0 turns the cache off)."""

    def __init__(self, lifetime: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime, self.clock = lifetime, clock
        self._entries: dict[str, tuple[float, list[str]]] = {}
        self._lock = threading.Lock()

    def get(self, dn: str) -> list[str] | None:
        if self.lifetime <= 0:
            return None
        with self._lock:
            entry = self._entries.get(normalize_dn(dn))
        if entry is None or entry[0] <= self.clock():
            return None
        return list(entry[1])

    def put(self, dn: str, groups: list[str]) -> None:
        if self.lifetime <= 0:
            return
        now = self.clock()
        with self._lock:
            if len(self._entries) > 10_000:  # keep memory bounded: drop what has expired
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            self._entries[normalize_dn(dn)] = (now + self.lifetime, list(groups))


@dataclass(frozen=True)
class Inspection:
    """What ``cvatcore ldap test`` reports for one user (no password involved)."""

    server: str
    user: DirectoryUser | None
    groups: list[str]
    decision: RoleDecision | None
    nested: str


class LdapBackend:
    """An ``AuthBackend`` over one directory (Active Directory, FreeIPA or any LDAP server)."""

    name = "ldap"

    def __init__(self, config: LdapConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.directory = Directory(config, clock)
        self.mapper = RoleMapper(config)
        self.cache = GroupCache(config.group_cache_seconds, clock)
        if not config.uses_tls() and not all(_is_loopback(u) for u in config.server_uris):
            logger.warning("LDAP: passwords go to %s unencrypted; use ldaps:// or start_tls",
                           ", ".join(config.server_uris))

    def __repr__(self) -> str:
        return f"LdapBackend(preset={self.config.preset!r}, servers={self.config.server_uris!r})"

    def authenticate(
        self, username: str, password: str, accounts: AccountStore
    ) -> Identity | None:
        # An empty password is an "unauthenticated bind" that LDAP servers accept as success.
        if not password or not acceptable_username(username):
            return None
        with self.directory.session() as (conn, _):
            user = self.directory.find_user(conn, username)
            if user is None:
                logger.info("LDAP sign-in refused for %r: no such user", username)
                return None
            if user.locked:
                logger.info("LDAP sign-in refused for %s: account locked", user.dn)
                return None
            decision = self.mapper.decide(self._groups(conn, user))
            if not decision.allowed:
                logger.info("LDAP sign-in refused for %s: not in the required group", user.dn)
                return None
            if not self.directory.check_password(conn, user.dn, password):
                logger.info("LDAP sign-in refused for %s: wrong password", user.dn)
                return None
        logger.info("LDAP sign-in: %s as %s (roles %s)", user.dn, user.username,
                    ", ".join(decision.roles))
        return Identity(
            username=user.username, backend=self.name, email=user.email,
            first_name=user.first_name, last_name=user.last_name,
            groups=list(decision.roles), is_superuser=decision.superuser,
            extra={"dn": user.dn},
        )

    def inspect(self, username: str) -> Inspection:
        """Look a user up with the service account only, bypassing the group cache."""
        if not acceptable_username(username):
            raise ValueError("not a valid user name (empty, too long or control characters)")
        with self.directory.session() as (conn, uri):
            user = self.directory.find_user(conn, username)
            groups = self.directory.group_dns(conn, user) if user is not None else []
        decision = self.mapper.decide(groups) if user is not None else None
        return Inspection(uri, user, groups, decision, self.directory.nested_method())

    def _groups(self, conn: Connection, user: DirectoryUser) -> list[str]:
        cached = self.cache.get(user.dn)
        if cached is not None:
            return cached
        groups = self.directory.group_dns(conn, user)
        self.cache.put(user.dn, groups)
        return groups


def _is_loopback(uri: str) -> bool:
    host = urlsplit(uri).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
