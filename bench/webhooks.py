"""Webhook delivery throughput and latency against plain httpx posting the same bodies.

Builds an app on a SQLite file (or ``--postgres URL``, an empty database), ``--webhooks``
projects each with a webhook on ``update:project``, and a real receiver on 127.0.0.1. Then:

* cvatcore: a producer makes ``--changes`` project renames, one transaction each (round
  robin over the projects), while ``--workers`` job threads deliver; each change's latency
  is from its commit to its arrival at the receiver.
* plain httpx: the same bodies, made available at the same moments as the commits above,
  POSTed by ``--workers`` threads with pooled ``httpx.Client``s (each webhook's bodies by one
  thread, in order, as cvatcore keeps them); latency from availability to arrival.

Prints deliveries/s, p50 and p99 for both and the ratios (cvatcore / httpx for deliveries/s,
httpx / cvatcore for p99: 1.0 means as good as plain posting).

Usage: ``.venv/bin/python bench/webhooks.py [--changes 400] [--webhooks 4] [--workers 2]``
"""

from __future__ import annotations

import argparse
import json
import queue
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _venv import reexec_in_venv


class Arrivals:
    """Arrival time per change number, from the receiver's handler."""

    def __init__(self) -> None:
        self.at: dict[int, float] = {}
        self.done = threading.Event()
        self.expected = 0

    def record(self, body: bytes) -> None:
        number = int(json.loads(body)["project"]["name"][1:])
        self.at.setdefault(number, time.perf_counter())
        if len(self.at) >= self.expected:
            self.done.set()


def receiver(arrivals: Arrivals):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real receivers

        def setup(self) -> None:
            super().setup()
            # One answer is one write; without this, Nagle's algorithm and delayed ACKs add
            # 40 ms to every keep-alive request.
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            arrivals.record(body)
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def stats(name: str, made: dict[int, float], arrivals: Arrivals) -> tuple[float, float, float]:
    latencies = sorted((arrivals.at[n] - made[n]) * 1000 for n in made)
    span = max(arrivals.at.values()) - min(made.values())
    rate = len(made) / span
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"  {name:<10} {rate:10.1f} {p50:10.1f} {p99:10.1f}")
    return rate, p50, p99


def run_cvatcore(args, tmp: Path) -> tuple[dict[int, float], Arrivals, list[tuple[int, bytes]]]:
    from cvatcore.core.app import tune_gc
    from cvatcore.core.jobs.runner import InProcessWorkers
    from cvatcore.core.models import WebhookDelivery
    from cvatcore.core.services import projects, webhooks
    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller
    from cvatcore.core.services.webhooks_delivery import body_of
    from cvatcore.hooks.testing import build_test_app, test_settings

    settings = test_settings(tmp, args.postgres, jobs={"in_process_workers": 0,
                                                       "poll_seconds": 0.05})
    app = build_test_app(settings)
    state = app.state.cvatcore
    arrivals = Arrivals()
    arrivals.expected = args.changes
    server, url = receiver(arrivals)
    with state.db.unit_of_work() as session:
        user = create_user(Caller.system(state, session), "bench", "bench-password-1",
                           is_superuser=True)
        user_id = user.id
    project_ids = []
    for i in range(args.webhooks):
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(type(user), user_id))
            project = projects.create(caller, {"name": f"p{i}"})
            webhooks.create(caller, {"target_url": url + f"/{i}", "type": "project",
                                     "project_id": project.id, "events": ["update:project"]})
            project_ids.append(project.id)
    tune_gc()  # as ``cvatcore serve`` and ``cvatcore worker`` do once started
    workers = InProcessWorkers(state, args.workers)
    if not args.backlog:
        workers.start()
    made: dict[int, float] = {}
    for n in range(args.changes):
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(type(user), user_id))
            projects.update(caller, project_ids[n % args.webhooks], {"name": f"c{n}"})
        made[n] = time.perf_counter()  # committed
    if args.backlog:  # measure sending alone: everything is queued before workers start
        now = time.perf_counter()
        made = dict.fromkeys(made, now)
        workers.start()
    arrivals.done.wait(300)
    workers.stop()
    with state.db.unit_of_work() as session:
        bodies = [(d.webhook_id, body_of(d.request)) for d in session.query(WebhookDelivery)
                  .order_by(WebhookDelivery.id)]
    server.shutdown()
    state.db.dispose()
    return made, arrivals, bodies


def run_httpx(args, offsets: list[float], bodies: list[tuple[int, bytes]]
              ) -> tuple[dict[int, float], Arrivals]:
    import httpx

    arrivals = Arrivals()
    arrivals.expected = len(bodies)
    server, url = receiver(arrivals)
    queues: list[queue.Queue] = [queue.Queue() for _ in range(args.workers)]
    made: dict[int, float] = {}

    def sender(q: queue.Queue) -> None:
        with httpx.Client() as client:
            while (item := q.get()) is not None:
                hook, body = item
                client.post(f"{url}/{hook}", content=body,
                            headers={"Content-Type": "application/json"})

    threads = [threading.Thread(target=sender, args=(q,)) for q in queues]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    for n, ((hook, body), offset) in enumerate(zip(bodies, offsets, strict=True)):
        delay = start + offset - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        made[n] = time.perf_counter()
        queues[hook % args.workers].put((hook, body))
    arrivals.done.wait(300)
    for q in queues:
        q.put(None)
    for thread in threads:
        thread.join()
    server.shutdown()
    return made, arrivals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--webhooks", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--backlog", action="store_true",
                        help="queue every change first, then deliver (throughput alone)")
    parser.add_argument("--postgres", default=None, help="URL of an empty PostgreSQL database")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        made, arrivals, bodies = run_cvatcore(args, Path(tmp))
    first = min(made.values())
    offsets = [made[n] - first for n in sorted(made)]
    plain_made, plain_arrivals = run_httpx(args, offsets, bodies)
    print(f"{args.changes} changes over {args.webhooks} webhooks, {args.workers} delivery "
          f"threads, {'PostgreSQL' if args.postgres else 'SQLite'}")
    print(f"  {'':<10} {'deliv/s':>10} {'p50 ms':>10} {'p99 ms':>10}")
    rate, _, p99 = stats("cvatcore", made, arrivals)
    plain_rate, _, plain_p99 = stats("httpx", plain_made, plain_arrivals)
    print(f"  ratio: deliveries/s {rate / plain_rate:.2f}, p99 {plain_p99 / p99:.2f} "
          "(1.0 = as fast as plain httpx)")


if __name__ == "__main__":
    reexec_in_venv("cvatcore.core")
    sys.exit(main())
