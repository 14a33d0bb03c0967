"""Talking to the directory: fail-over between servers, TLS, the service bind and the searches.

Every network problem (refused, timed out, TLS handshake or certificate check failed, the
service account refused) becomes ``AuthUnavailableError``, which cvatcore answers with 503
while the other backends of the chain keep working. Messages name servers and DNs, never a
password.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

from ldap3 import BASE, NO_ATTRIBUTES, NONE, SUBTREE, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from cvatcore.hooks import AuthUnavailableError
from cvatcore_ldap.config import LdapConfig
from cvatcore_ldap.roles import normalize_dn

logger = logging.getLogger("cvatcore.ldap")

#: Microsoft's LDAP_MATCHING_RULE_IN_CHAIN: "member, directly or through nested groups".
IN_CHAIN = "1.2.840.113556.1.4.1941"
#: LDAP_CAP_ACTIVE_DIRECTORY_OID, in an Active Directory root DSE's supportedCapabilities.
AD_CAPABILITY = "1.2.840.113556.1.4.800"
ACCOUNTDISABLE = 0x2  # userAccountControl bit of a disabled AD account
FILTER_CHUNK = 50  # member clauses per search when nested groups are expanded by hand


class StdlibTls(Tls):  # type: ignore[misc]
    """ldap3's ``Tls`` with the handshake done by one ``ssl.SSLContext`` built up front.

    The standard library checks the chain and the host name (DNS or IP address) in the
    handshake. ldap3 2.9.1 would call the deprecated ``ssl.match_hostname`` instead, rebuild
    the context on every connection, and leak the socket when the handshake fails.
    """

    def __init__(self, validate: bool, ca_file: str | None) -> None:
        super().__init__(validate=ssl.CERT_REQUIRED if validate else ssl.CERT_NONE,
                         ca_certs_file=ca_file)
        self.context = ssl.create_default_context(cafile=ca_file)
        if not validate:
            self.context.check_hostname = False
            self.context.verify_mode = ssl.CERT_NONE

    def wrap_socket(self, connection: Connection, do_handshake: bool = False) -> None:
        connection.socket = self.context.wrap_socket(
            connection.socket, server_side=False, do_handshake_on_connect=False,
            server_hostname=connection.server.host,
        )
        if do_handshake:
            try:
                connection.socket.do_handshake()
            except BaseException:
                connection.socket.close()
                raise


@dataclass(frozen=True)
class DirectoryUser:
    """One person's entry, as the user search found it."""

    dn: str
    username: str
    first_name: str
    last_name: str
    email: str
    locked: bool
    member_of: tuple[str, ...]


class Directory:
    """The servers of one configuration, tried in order; remembers which ones were down."""

    def __init__(self, config: LdapConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.clock = clock
        tls = StdlibTls(config.validate_certificate,
                        str(config.ca_file) if config.ca_file else None)
        self.tls = tls
        self._down_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self._in_chain: bool | None = {"in_chain": True, "iterative": False}.get(
            config.nested_groups
        )

    # ------------------------------------------------------------------ connections

    @contextmanager
    def session(self) -> Iterator[tuple[Connection, str]]:
        """A connection bound as the service account, and the URI of the server it reached."""
        conn, uri = self._connect()
        try:
            with self._unavailable_on_error(uri):
                yield conn, uri
        finally:
            _close(conn)

    def _connect(self) -> tuple[Connection, str]:
        failures = []
        secret = self.config.bind_password
        for uri in self._in_order():
            # A Server per connection: ldap3 keeps per-connection state (the address in use)
            # on the Server object, which concurrent sign-ins must not share.
            server = Server(uri, use_ssl=uri.lower().startswith("ldaps://"), tls=self.tls,
                            connect_timeout=self.config.connect_timeout, get_info=NONE)
            conn = Connection(
                server, user=self.config.bind_dn,
                password=secret.get_secret_value() if secret else None,
                receive_timeout=self.config.receive_timeout, read_only=True,
                auto_referrals=False, raise_exceptions=False,
            )
            try:
                conn.open(read_server_info=False)
                if self.config.start_tls:
                    conn.start_tls(read_server_info=False)
                bound = conn.bind(read_server_info=False)
            except (LDAPException, OSError) as exc:
                _close(conn)
                self._mark(uri, up=False)
                problem = self._describe(exc)
                failures.append(f"{uri}: {problem}")
                logger.warning("LDAP server %s did not answer: %s", uri, problem)
                continue
            self._mark(uri, up=True)
            if not bound:
                result = conn.result.get("description", "refused")
                _close(conn)
                who = self.config.bind_dn or "anonymous"
                raise AuthUnavailableError(
                    f"LDAP server {uri} refused the service account {who} ({result}); "
                    "check bind_dn and bind_password"
                )
            return conn, uri
        raise AuthUnavailableError("no LDAP server answered: " + "; ".join(failures))

    def _in_order(self) -> list[str]:
        """The configured order, except that servers down recently are tried last."""
        now = self.clock()
        with self._lock:
            down = {uri for uri, until in self._down_until.items() if until > now}
        return sorted(self.config.server_uris, key=lambda uri: uri in down)

    def _mark(self, uri: str, up: bool) -> None:
        with self._lock:
            if up:
                self._down_until.pop(uri, None)
            else:
                self._down_until[uri] = self.clock() + self.config.failover_retry_seconds

    @contextmanager
    def _unavailable_on_error(self, uri: str) -> Iterator[None]:
        try:
            yield
        except (LDAPException, OSError) as exc:
            raise AuthUnavailableError(f"LDAP server {uri}: {self._describe(exc)}") from None

    def _describe(self, exc: Exception) -> str:
        text = f"{type(exc).__name__}: {exc}"
        secret = self.config.bind_password
        if secret and secret.get_secret_value():
            text = text.replace(secret.get_secret_value(), "********")
        return text

    # ------------------------------------------------------------------ searches

    def find_user(self, conn: Connection, username: str) -> DirectoryUser | None:
        """The one entry ``user_filter`` matches for ``username`` (escaped), else ``None``."""
        cfg, names = self.config, self.config.attributes
        wanted = [names.username, names.first_name, names.last_name, names.email,
                  "userAccountControl", "nsAccountLock"]
        if cfg.group_source == "member_of":
            wanted.append(cfg.member_of_attribute)
        search_filter = cfg.user_filter.replace("{username}", escape_filter_chars(username))
        entries = self._search(conn, cfg.user_search_base, search_filter, wanted, size_limit=2)
        if len(entries) != 1:
            if entries:
                logger.warning("LDAP: %d entries match %r; refusing an ambiguous sign-in",
                               len(entries), username)
            return None
        dn, attrs = entries[0]
        login = _first(attrs, names.username)
        if not login:
            logger.warning("LDAP: %s has no %s attribute; cannot sign in", dn, names.username)
            return None
        return DirectoryUser(
            dn=dn, username=login, first_name=_first(attrs, names.first_name),
            last_name=_first(attrs, names.last_name), email=_first(attrs, names.email),
            locked=_is_locked(attrs), member_of=tuple(_values(attrs, cfg.member_of_attribute)),
        )

    def group_dns(self, conn: Connection, user: DirectoryUser) -> list[str]:
        """DNs of the user's groups, including nested ones when ``nested_groups`` asks."""
        cfg = self.config
        if cfg.group_source == "member_of":
            direct = list(user.member_of)
        else:
            direct = self._groups_where(conn, [f"({cfg.group_member_attribute}="
                                               f"{escape_filter_chars(user.dn)})"])
        if cfg.nested_groups == "off":
            return _unique(direct)
        if self._uses_in_chain(conn):
            clause = f"({cfg.group_member_attribute}:{IN_CHAIN}:={escape_filter_chars(user.dn)})"
            return _unique(direct + self._groups_where(conn, [clause]))
        return self._expand(conn, direct)

    def nested_method(self) -> str:
        """How nested groups are found: ``off``, ``in_chain``, ``iterative`` or ``auto``."""
        if self.config.nested_groups == "off":
            return "off"
        return {True: "in_chain", False: "iterative", None: "auto"}[self._in_chain]

    def _uses_in_chain(self, conn: Connection) -> bool:
        if self._in_chain is None:
            root = self._search(conn, "", "(objectClass=*)", ["supportedCapabilities"],
                                scope=BASE)
            capabilities = _values(root[0][1], "supportedCapabilities") if root else []
            self._in_chain = AD_CAPABILITY in capabilities
            logger.info("LDAP: nested groups through %s", "LDAP_MATCHING_RULE_IN_CHAIN"
                        if self._in_chain else "iterative expansion (no in-chain rule here)")
        return self._in_chain

    def _expand(self, conn: Connection, direct: list[str]) -> list[str]:
        """Breadth-first: the groups whose members include the groups found so far."""
        found = {normalize_dn(dn): dn for dn in direct}
        frontier = list(found.values())
        for _ in range(self.config.max_nesting_depth):
            if not frontier:
                break
            attr = self.config.group_member_attribute
            parents = self._groups_where(
                conn, [f"({attr}={escape_filter_chars(dn)})" for dn in frontier]
            )
            frontier = [dn for dn in parents if normalize_dn(dn) not in found]
            found.update((normalize_dn(dn), dn) for dn in frontier)
        return list(found.values())

    def _groups_where(self, conn: Connection, clauses: list[str]) -> list[str]:
        dns: list[str] = []
        for start in range(0, len(clauses), FILTER_CHUNK):
            chunk = clauses[start : start + FILTER_CHUNK]
            member = chunk[0] if len(chunk) == 1 else "(|" + "".join(chunk) + ")"
            search_filter = f"(&{self.config.group_object_filter}{member})"
            entries = self._search(conn, self.config.group_search_base, search_filter,
                                   [NO_ATTRIBUTES])
            dns.extend(dn for dn, _ in entries)
        return dns

    def _search(self, conn: Connection, base: str, search_filter: str, attributes: list[str],
                scope: str = SUBTREE, size_limit: int = 0) -> list[tuple[str, Any]]:
        conn.search(base, search_filter, scope, attributes=attributes, size_limit=size_limit,
                    time_limit=self.config.receive_timeout)
        result = conn.result or {}
        # sizeLimitExceeded still returns the entries up to the limit (two users: ambiguous).
        if result.get("result") not in (0, 4):
            raise AuthUnavailableError(
                f"LDAP search under {base!r} failed: {result.get('description')} "
                f"{result.get('message') or ''}".strip()
            )
        return [(r["dn"], r.get("attributes") or {}) for r in conn.response or []
                if r.get("type") == "searchResEntry"]

    def check_password(self, conn: Connection, dn: str, password: str) -> bool:
        """Whether ``password`` binds as ``dn`` (the connection is left bound as that user)."""
        return bool(conn.rebind(user=dn, password=password, read_server_info=False))


def _values(attrs: Any, name: str) -> list[str]:
    value = attrs.get(name) if hasattr(attrs, "get") else None
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    return [v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in items]


def _first(attrs: Any, name: str) -> str:
    values = _values(attrs, name)
    return values[0] if values else ""


def _is_locked(attrs: Any) -> bool:
    """AD: the ACCOUNTDISABLE bit of userAccountControl; FreeIPA: nsAccountLock=TRUE."""
    for value in _values(attrs, "userAccountControl"):
        try:
            if int(value) & ACCOUNTDISABLE:
                return True
        except ValueError:
            return True  # an unreadable flag word: do not guess in the user's favour
    return any(v.strip().lower() == "true" for v in _values(attrs, "nsAccountLock"))


def _unique(dns: list[str]) -> list[str]:
    return list({normalize_dn(dn): dn for dn in dns}.values())


def _close(conn: Connection) -> None:
    with suppress(LDAPException, OSError):
        conn.unbind()
    # After a failed connect ldap3 keeps the socket it opened; close it ourselves.
    sock = getattr(conn, "socket", None)
    if sock is not None:
        with suppress(OSError):
            sock.close()
