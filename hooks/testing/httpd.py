"""A real HTTP server on 127.0.0.1 for the length of a ``with`` block: the one way the kit's
stand-ins (the webhook receiver, the plugins' fake services) run their request handler."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler], *,
               daemon_threads: bool = False) -> Iterator[str]:
    """Serve ``handler`` (a thread a request) on a free port of 127.0.0.1 from a background
    thread; yield the base URL, ``http://127.0.0.1:PORT``, and stop the server when the block
    ends. The end waits for requests still being answered unless ``daemon_threads`` is set
    (for a handler that may hang, e.g. one that stands in for a slow service)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = daemon_threads
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
