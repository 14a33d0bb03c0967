"""Loopback endpoints that fail the way real networks do, for error-mapping tests of any
provider, transport or backend that talks HTTP (storage plugins, webhooks, model servers)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass


@dataclass
class FaultyEndpoint:
    url: str
    hits: int = 0  # connections (or requests) it saw


def http_answer(status: str, content_type: str, body: bytes) -> bytes:
    """A complete HTTP/1.1 answer that closes the connection, for ``throttle_answer``."""
    return (b"HTTP/1.1 %s\r\nContent-Type: %s\r\nConnection: close\r\nContent-Length: %d\r\n"
            b"\r\n%s" % (status.encode(), content_type.encode(), len(body), body))


@contextmanager
def faulty_endpoint(mode: str, throttle_answer: bytes | None = None
                    ) -> Iterator[FaultyEndpoint]:
    """``refuse``: nothing listens (connection refused). ``drop``: reads the request and hangs
    up. ``hang``: accepts and never answers. ``throttle``: answers every request with
    ``throttle_answer`` (the service's own "slow down" reply; see ``http_answer``)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    endpoint = FaultyEndpoint(f"http://127.0.0.1:{sock.getsockname()[1]}")
    if mode == "refuse":
        sock.close()
        yield endpoint
        return
    if mode == "throttle" and throttle_answer is None:
        raise ValueError("throttle needs the answer to send")
    sock.listen(64)
    sock.settimeout(0.1)
    stop = threading.Event()
    held: list[socket.socket] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
            except OSError:
                continue
            endpoint.hits += 1
            if mode == "hang":
                held.append(conn)
                continue
            with conn, suppress(OSError):
                conn.settimeout(5)
                request = conn.recv(65536)
                if mode == "throttle" and throttle_answer is not None:
                    head, _, _ = throttle_answer.partition(b"\r\n\r\n")
                    conn.sendall(head + b"\r\n\r\n" if request.startswith(b"HEAD ")
                                 else throttle_answer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield endpoint
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        sock.close()
