"""A real HTTP server on 127.0.0.1 that records what it receives (for webhook tests).

``status``/``reply`` answer every request; ``script`` (a list of ``(status, headers)``)
answers the next requests first, one entry each, e.g. ``[(503, {"Retry-After": "1"})]``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from cvatcore.hooks.testing.httpd import serve_http


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float = 0.0  # time.time() when it arrived


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    status: int = 200
    reply: bytes = b'{"ok": true}'
    headers: dict[str, str] = field(default_factory=dict)
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    delay: float = 0.0  # seconds to wait before answering (a slow receiver)

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        """The requests once at least ``count`` have arrived (AssertionError on timeout)."""
        deadline = time.monotonic() + timeout
        while len(self.requests) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.requests)} of {count} requests arrived")
            time.sleep(0.02)
        return self.requests


@contextmanager
def http_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (the stdlib's naming)
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length)
            with lock:
                receiver.requests.append(
                    Received(self.path, dict(self.headers.items()), body, time.time()))
                status, headers = (receiver.script.pop(0) if receiver.script
                                   else (receiver.status, receiver.headers))
            if receiver.delay:
                time.sleep(receiver.delay)
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("content-length", str(len(receiver.reply)))
            self.end_headers()
            self.wfile.write(receiver.reply)

        def log_message(self, *args: object) -> None:
            pass

        def handle(self) -> None:
            # The sender may go away mid-answer (a killed worker).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                super().handle()

    with serve_http(Handler) as url:
        receiver.url = url
        yield receiver
