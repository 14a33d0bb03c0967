"""The one guard for outbound connections to addresses users choose (cloud ``endpoint_url``s,
webhook targets, model servers): a user must not make the server reach its own private
network (SSRF). Loopback, private, link-local, multicast and reserved addresses are refused
unless the operator lists them in ``[outbound] allow`` (host names, IP addresses or CIDR
networks, e.g. ``["minio.internal", "10.1.0.0/16"]``).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit


class OutboundRefused(ValueError):
    """The URL points somewhere the server may not connect to for a user."""


def _networks(allow: Iterable[str]) -> tuple[set[str], list[ipaddress._BaseNetwork]]:
    hosts, nets = set(), []
    for item in allow:
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            hosts.add(item.lower())
    return hosts, nets


def check_url(url: str, allow: Iterable[str] = (), schemes: tuple[str, ...] = ("http", "https")
              ) -> str:
    """Return ``url`` when the server may connect to it, else raise ``OutboundRefused``."""
    try:  # "http://[::1/" and ports like ":abc" or ":99999" are ValueErrors of urllib
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise OutboundRefused(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in schemes or not parts.hostname:
        raise OutboundRefused(f"{url!r} is not an {' or '.join(schemes)} URL")
    if parts.username or parts.password:
        raise OutboundRefused("URLs with credentials in them are not accepted")
    host = parts.hostname.lower()
    hosts, nets = _networks(allow)
    if host in hosts:
        return url
    try:
        infos = socket.getaddrinfo(host, port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise OutboundRefused(f"the host {host!r} cannot be resolved") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if any(address in net for net in nets):
            continue
        if not address.is_global or address.is_multicast:
            raise OutboundRefused(
                f"{host!r} resolves to {address}, an internal address; an administrator can "
                "allow it in [outbound] allow")
    return url
