"""The outbound guard's address check, for plugins whose clients connect to addresses users
choose (a cloud storage's ``endpoint_url``, say).

The core checks a user's URL when it is saved and again when a provider is built, but a
client library that looks the host name up again later may get another answer (DNS
rebinding: a public address first, ``127.0.0.1`` or the cloud metadata address next). A
provider whose config model has an ``outbound_allow`` field gets that field set by the core
for every cloud storage a user created; its client must then connect only to addresses
``checked_addresses`` returned, for example through ``GuardedResolver`` for aiohttp-based
clients (s3fs, adlfs, gcsfs). ``outbound_allow`` stays ``None`` for storages the operator
configured: those are trusted.

The rules: loopback, private, link-local (cloud metadata at 169.254.169.254 and
fd00:ec2::254), multicast, unspecified, IPv4-mapped and other reserved addresses are refused
unless ``allow`` lists the host name, the address or a CIDR network holding it.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from typing import Any


class OutboundRefused(ValueError):
    """The URL or host points somewhere the server may not connect to for a user."""


class OutboundConnectRefused(ConnectionRefusedError):
    """Raised inside a client's connection attempt (an ``OSError``, as client libraries expect
    of a failed connect), with the guard's reason."""


# A host made only of digits, dots and hex letters with an x: some numeric form of an IP.
_NUMERIC_ISH = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.I)


def _networks(allow: Iterable[str]) -> tuple[set[str], list[Any]]:
    hosts, nets = set(), []
    for item in allow:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower())
    return hosts, nets


def ip_literal(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address of a canonical IP literal, None for a name; refuses other numeric forms
    (``2130706433``, ``0177.0.0.1``, ``0x7f.1``: they exist to slip past string checks)."""
    try:
        return ipaddress.ip_address(host)  # dotted quads without leading zeros, IPv6
    except ValueError:
        pass
    if _NUMERIC_ISH.match(host):
        raise OutboundRefused(
            f"{host!r} is not a host name or a dotted IPv4 address (decimal, octal and "
            "hexadecimal forms are refused)")
    return None


def _is_internal(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and (
            address.ipv4_mapped is not None or address.sixtofour is not None
            or address.teredo is not None):
        return True  # another way to spell an IPv4 address: refused whatever it maps to
    return not address.is_global or address.is_multicast or address.is_unspecified


def checked_addresses(host: str, port: int, allow: Iterable[str] = ()) -> list[str]:
    """The addresses ``host`` resolves to, each one allowed, else ``OutboundRefused``.

    Every answer must pass (one bad answer refuses the host: a client might pick it); connect
    only to the addresses returned. The host is looked up once, here."""
    host = host.lower().rstrip(".") if host else host
    hosts, nets = _networks(allow)
    literal = ip_literal(host)
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
        except (socket.gaierror, UnicodeError):
            raise OutboundRefused(f"the host {host!r} cannot be resolved") from None
        addresses = list(dict.fromkeys(ipaddress.ip_address(i[4][0].split("%")[0])
                                       for i in infos))
    if host not in hosts:
        for address in addresses:
            if any(address in net for net in nets):
                continue
            if _is_internal(address):
                raise OutboundRefused(
                    f"{host!r} resolves to {address}, an internal address; an administrator "
                    "can allow it in [outbound] allow")
    return [str(a) for a in addresses]


def guarded_resolver(allow: Iterable[str]) -> Any:
    """An aiohttp resolver that answers only with addresses the guard allows (aiohttp is
    imported here, not at module level: only aiohttp-based plugins need it)."""
    from aiohttp.abc import AbstractResolver

    allowed = tuple(allow)

    class GuardedResolver(AbstractResolver):
        """Looks the host up once through ``checked_addresses`` and hands aiohttp exactly
        those addresses; a refusal is a failed connection naming the reason."""

        async def resolve(self, host: str, port: int = 0,
                          family: socket.AddressFamily = socket.AF_INET) -> list[Any]:
            loop = asyncio.get_running_loop()
            try:
                addresses = await loop.run_in_executor(
                    None, checked_addresses, host, port, allowed)
            except OutboundRefused as exc:
                raise OutboundConnectRefused(f"{REFUSED}: {exc}") from None
            return [{"hostname": host, "host": a, "port": port,
                     "family": socket.AF_INET6 if ":" in a else socket.AF_INET,
                     "proto": 0, "flags": socket.AI_NUMERICHOST} for a in addresses]

        async def close(self) -> None:
            return None

    return GuardedResolver()


def guarded_requests_session(allow: Iterable[str]) -> Any:
    """A ``requests.Session`` whose connections go only to addresses the guard allows (for
    SDKs built on requests, such as azure-core's sync transport); the host name stays in
    ``Host`` and TLS SNI, so certificates are checked against it as usual."""
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
    from urllib3.exceptions import NewConnectionError

    allowed = tuple(allow)

    def pin(conn: Any) -> None:
        try:  # ``host`` is the name; ``_dns_host`` is where urllib3 connects
            conn._dns_host = checked_addresses(conn.host, conn.port, allowed)[0]
        except OutboundRefused as exc:
            raise NewConnectionError(conn, f"{REFUSED}: {exc}") from None

    class GuardedHTTP(HTTPConnection):
        def _new_conn(self) -> Any:
            pin(self)
            return super()._new_conn()

    class GuardedHTTPS(HTTPSConnection):
        def _new_conn(self) -> Any:
            pin(self)
            return super()._new_conn()

    pools = {"http": type("GuardedHTTPPool", (HTTPConnectionPool,), {"ConnectionCls": GuardedHTTP}),
             "https": type("GuardedHTTPSPool", (HTTPSConnectionPool,),
                           {"ConnectionCls": GuardedHTTPS})}

    class GuardedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

    session = requests.Session()
    session.trust_env = False  # an environment proxy would be connected to unchecked
    for scheme in ("http://", "https://"):
        session.mount(scheme, GuardedAdapter())
    return session


REFUSED = "refused by the outbound guard"


def refusal_in(exc: BaseException | None) -> str | None:
    """The guard's reason when it refused a connection somewhere in the chain of exceptions
    a client library wrapped it in (aiohttp, urllib3, requests, botocore, azure-core), so a
    provider can tell the user why instead of "cannot connect"."""
    queue, seen = [exc], set()
    while queue and len(seen) < 32:
        current = queue.pop(0)
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        text = str(current)
        if REFUSED in text:
            return text[text.index(REFUSED):]
        queue += [current.__cause__, current.__context__,
                  *(getattr(current, a, None) for a in ("os_error", "reason", "inner_exception")),
                  *(a for a in current.args if isinstance(a, BaseException))]
    return None
