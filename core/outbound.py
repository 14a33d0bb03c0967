"""The one guard for outbound connections to addresses users choose (cloud ``endpoint_url``s,
webhook targets, model servers): a user must not make the server reach its own private
network (SSRF). Loopback, private, link-local (cloud metadata at 169.254.169.254 and
fd00:ec2::254), multicast, unspecified (``0.0.0.0``), IPv4-mapped IPv6 and other reserved
addresses are refused unless the operator lists them in ``[outbound] allow`` (host names, IP
addresses or CIDR networks, e.g. ``["minio.internal", "10.1.0.0/16"]``).

Host names are resolved once, here, and ``resolve`` returns the address it checked, so that
the caller connects to that address and not to whatever a second lookup answers (DNS
rebinding). Numeric hosts in the forms only some resolvers read (``2130706433``,
``0177.0.0.1``, ``0x7f.1``) are refused outright: they exist to slip past string checks.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit


class OutboundRefused(ValueError):
    """The URL points somewhere the server may not connect to for a user."""


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (``host`` goes in ``Host`` and TLS SNI)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


# A host made only of digits, dots and hex letters with an x: some numeric form of an IP.
_NUMERIC_ISH = re.compile(r"^(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+))*\.?$", re.I)


def _networks(allow: Iterable[str]) -> tuple[set[str], list[ipaddress._BaseNetwork]]:
    hosts, nets = set(), []
    for item in allow:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower())
    return hosts, nets


def _literal(host: str) -> ipaddress._BaseAddress | None:
    """The address of a canonical IP literal, None for a name; refuses other numeric forms."""
    try:
        return ipaddress.ip_address(host)  # dotted quads without leading zeros, IPv6
    except ValueError:
        pass
    if _NUMERIC_ISH.match(host):
        raise OutboundRefused(
            f"{host!r} is not a host name or a dotted IPv4 address (decimal, octal and "
            "hexadecimal forms are refused)")
    return None


def _refusal(host: str, address: ipaddress._BaseAddress) -> OutboundRefused:
    return OutboundRefused(
        f"{host!r} resolves to {address}, an internal address; an administrator can allow it "
        "in [outbound] allow")


def _is_internal(address: ipaddress._BaseAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and (
            address.ipv4_mapped is not None or address.sixtofour is not None
            or address.teredo is not None):
        return True  # another way to spell an IPv4 address: refused whatever it maps to
    return not address.is_global or address.is_multicast or address.is_unspecified


def resolve(url: str, allow: Iterable[str] = (), schemes: tuple[str, ...] = ("http", "https")
            ) -> Target:
    """Check ``url`` and return the ``Target`` to connect to, else raise ``OutboundRefused``.

    Every address the host resolves to must be allowed (one bad answer refuses the URL: the
    client library might have picked it); the first is the one to connect to."""
    try:  # "http://[::1/" is a ValueError of urllib
        parts = urlsplit(url)
    except ValueError as exc:
        raise OutboundRefused(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise OutboundRefused(f"{url!r} is not an {' or '.join(schemes)} URL")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with credentials in them are not accepted")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise OutboundRefused(f"{url!r} has an invalid port") from None
    host = parts.hostname.lower()
    hosts, nets = _networks(allow)
    literal = _literal(host)
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
                raise _refusal(host, address)
    return Target(url, parts.scheme, host, port, str(addresses[0]))


def check_url(url: str, allow: Iterable[str] = (), schemes: tuple[str, ...] = ("http", "https")
              ) -> str:
    """Return ``url`` when the server may connect to it, else raise ``OutboundRefused``."""
    resolve(url, allow, schemes)
    return url
