"""A hostile DNS server for tests of the outbound guard (``cvatcore.hooks.outbound``).

``rebinding_dns(monkeypatch)`` makes every name under ``rebind.test`` answer a public address
the first time it is looked up and ``127.0.0.1`` after that: the DNS-rebinding answer a client
gets when it looks a host up again after the server checked it. Other names go to the real
resolver. It stands in for ``socket.getaddrinfo``, through which the guard and the clients'
resolvers (aiohttp's, urllib3's) all read names, as they would read a real server's answers.
"""

from __future__ import annotations

import socket
from typing import Any

DOMAIN = "rebind.test"
PUBLIC = "93.184.215.14"  # a global address: the first answer, the one the guard passes


def rebinding_dns(monkeypatch: Any) -> list[str]:
    """Install the stand-in for this test; returns the list of names it was asked for."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if not name.rstrip(".").endswith(DOMAIN):
            return real(host, port, *args, **kwargs)
        address = PUBLIC if not asked else "127.0.0.1"
        asked.append(name)
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "",
                 (address, int(port or 0)))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked
