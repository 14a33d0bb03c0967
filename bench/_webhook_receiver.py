"""A webhook receiver for bench/webhooks.py, in a process of its own (as a real receiver is):
the bench's producer then cannot delay when arrivals are timed (one interpreter lock).

``python bench/_webhook_receiver.py EXPECTED WARMUP`` prints its URL, then answers every POST
with 200 and notes ``time.perf_counter()`` (CLOCK_MONOTONIC: the same clock in every process
of the machine) per change number (the body's ``project.name`` is ``c<number>``; warm-up
changes have negative numbers). It prints ``warm`` once ``WARMUP`` of those arrived, and
once ``EXPECTED`` others did (or after 300 s) ``{number: time}`` as JSON, and exits.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def main() -> None:
    expected, warmup = int(sys.argv[1]), int(sys.argv[2])
    arrivals: dict[int, float] = {}
    warm, done = threading.Event(), threading.Event()
    if not warmup:
        warm.set()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers

        def setup(self) -> None:
            super().setup()
            # One answer is one write; without this, Nagle's algorithm and delayed ACKs add
            # 40 ms to every keep-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            now = time.perf_counter()
            number = int(json.loads(body)["project"]["name"][1:])
            with lock:
                arrivals.setdefault(number, now)
                if sum(1 for n in arrivals if n < 0) >= warmup:
                    warm.set()
                if sum(1 for n in arrivals if n >= 0) >= expected:
                    done.set()
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    if warm.wait(120):
        print("warm", flush=True)
    done.wait(300)
    with lock:
        print(json.dumps(arrivals), flush=True)


if __name__ == "__main__":
    main()
