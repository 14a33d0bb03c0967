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
The address rules themselves live in ``cvatcore.hooks.outbound`` so that cloud-storage plugins
apply the very same check inside their clients' connections (``GuardedResolver``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from cvatcore.hooks.outbound import OutboundRefused, checked_addresses

__all__ = ["OutboundRefused", "Target", "check_url", "resolve"]


@dataclass(frozen=True)
class Target:
    """A checked URL: connect to ``address`` (``host`` goes in ``Host`` and TLS SNI)."""

    url: str
    scheme: str
    host: str
    port: int
    address: str


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
    addresses = checked_addresses(host, port, allow)
    return Target(url, parts.scheme, host, port, addresses[0])


def check_url(url: str, allow: Iterable[str] = (), schemes: tuple[str, ...] = ("http", "https")
              ) -> str:
    """Return ``url`` when the server may connect to it, else raise ``OutboundRefused``."""
    resolve(url, allow, schemes)
    return url
