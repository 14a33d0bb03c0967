"""Webhook delivery throughput and latency against plain httpx posting the same bodies.

Builds an app on a SQLite file (or ``--postgres URL``, an empty database), ``--webhooks``
projects each with a webhook on ``update:project``, and a real receiver on 127.0.0.1 in a
process of its own (``_webhook_receiver.py``; arrivals are timed there, on the machine-wide
monotonic clock). Then:

* cvatcore: a producer in this process (standing for ``cvatcore serve`` handling requests)
  makes ``--changes`` project renames, one transaction each (round robin over the projects),
  one every 1/``--rate`` s (50/s by default: latency is measured at an offered load below
  the process's capacity, as latency benchmarks do; ``--rate 0`` makes them as fast as it
  can, which saturates the process and measures queueing; throughput is ``--backlog``'s),
  while ``--workers`` job threads deliver them; each change's latency is from its commit to
  its arrival at the receiver. ``--deliverer`` says where those threads run:

  - ``threads`` (the default on SQLite): in the producer's process, as the embedded workers
    of ``cvatcore serve`` (``[jobs] in_process_workers``), the way to run on SQLite: its
    writers then queue first-come first-served (``core/db/writers.py``); a worker process
    would win the write lock only by polling against the producer's back-to-back writes
    (measured: p50 0.4-1.5 s).
  - ``worker`` (the default on PostgreSQL): a real ``cvatcore worker --threads <--workers>``
    process, as operators deploy delivery next to the servers; it hears the server's
    commits through ``NOTIFY`` (``core/jobs/watch.py``) and shares no interpreter lock
    with the producer.

  Before the timed changes, one change per webhook is delivered untimed (warm-up: claiming
  the first drains, connections, first-use imports), and so is one body per webhook below.
  ``--backlog`` queues every change first and then starts job threads of this process
  (nothing else runs then): sending alone.
* plain httpx (the baseline of the ratios): the same producer makes the same renames on
  projects without webhooks, one transaction each, at the moments cvatcore's producer
  committed (so both run at the same pace and load), and after each commit hands that change's
  body (the very bytes cvatcore sent) to ``--workers`` threads POSTing with pooled
  ``httpx.Client``s (each webhook's bodies by one thread, in order, as cvatcore keeps them):
  what an application does that posts its own webhooks, with no outbox, no retries and
  nothing kept across a crash. Latency from the commit to arrival.
* plain httpx, replayed (shown, not the baseline): the same bodies made available at the
  moments of cvatcore's commits, with no producer running, so the posting threads have the
  process to themselves: the floor of posting alone.

Prints deliveries/s, p50 and p99 for each and the ratios (cvatcore / httpx for deliveries/s,
httpx / cvatcore for p99: 1.0 means as good as plain posting) for each of ``--rounds`` rounds
(3), then the ratios' medians (the figures: a p99 of 400 changes is their 4th slowest, which
one hiccup of the machine moves either way), and the load average. On PostgreSQL each round
runs on a new database made next to ``--postgres`` on the same server.

Usage: ``.venv/bin/python bench/webhooks.py [--changes 400] [--webhooks 4] [--workers 2]
[--rate 50] [--rounds 3] [--backlog] [--deliverer threads|worker] [--postgres URL]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _venv import reexec_in_venv

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent


class Receiver:
    """The receiver process: ``url``, then ``arrivals()`` (change number: arrival time)."""

    def __init__(self, expected: int, warmup: int) -> None:
        self.proc = subprocess.Popen([sys.executable, str(HERE / "_webhook_receiver.py"),
                                      str(expected), str(warmup)], stdout=subprocess.PIPE,
                                     text=True)
        self.url = self.proc.stdout.readline().strip()  # type: ignore[union-attr]

    def wait_warm(self) -> None:
        if self.proc.stdout.readline().strip() != "warm":  # type: ignore[union-attr]
            sys.exit("the warm-up deliveries did not arrive")

    def arrivals(self) -> dict[int, float]:
        out, _ = self.proc.communicate(timeout=330)
        return {int(k): v for k, v in json.loads(out.strip().splitlines()[-1]).items()}


class Worker:
    """A ``cvatcore worker`` process on the bench's database and data directory."""

    def __init__(self, args, data_dir: Path) -> None:
        database = f'[database]\nurl = "{args.postgres}"\n\n' if args.postgres else ""
        config = data_dir / "worker.toml"
        config.write_text(
            f'[server]\ndata_dir = "{data_dir}"\n\n{database}[outbound]\n'
            'allow = ["127.0.0.1"]\n\n[analytics]\nsinks = []\n\n'
            '[jobs]\nin_process_workers = 0\npoll_seconds = 0.05\n')
        self.log = data_dir / "worker.log"
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "cvatcore"), "worker", "--threads", str(args.workers)],
                env={**os.environ, "CVATCORE_CONFIG": str(config)}, stdout=out,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while "worker running" not in self.log.read_text(errors="replace"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"cvatcore worker did not start:\n{self.log.read_text()}")
            time.sleep(0.05)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def stats(name: str, made: dict[int, float], arrivals: dict[int, float]
          ) -> tuple[float, float, float]:
    missing = len(set(made) - set(arrivals))
    if missing:
        sys.exit(f"{name}: {missing} of {len(made)} changes did not arrive")
    latencies = sorted((arrivals[n] - made[n]) * 1000 for n in made)
    span = max(arrivals[n] for n in made) - min(made.values())
    rate = len(made) / span
    p50 = statistics.median(latencies)
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    print(f"  {name:<10} {rate:10.1f} {p50:10.1f} {p99:10.1f}")
    return rate, p50, p99


def run_cvatcore(args, tmp: Path
                 ) -> tuple[dict[int, float], dict[int, float], list[tuple[int, bytes]]]:
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
    receiver = Receiver(args.changes, 0 if args.backlog else args.webhooks)
    with state.db.unit_of_work() as session:
        user = create_user(Caller.system(state, session), "bench", "bench-password-1",
                           is_superuser=True)
        user_id = user.id
    project_ids = []
    for i in range(args.webhooks):
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(type(user), user_id))
            project = projects.create(caller, {"name": f"p{i}"})
            webhooks.create(caller, {"target_url": f"{receiver.url}/{i}", "type": "project",
                                     "project_id": project.id, "events": ["update:project"]})
            project_ids.append(project.id)
    tune_gc()  # as ``cvatcore serve`` and ``cvatcore worker`` do once started
    threads = InProcessWorkers(state, args.workers)
    worker = None
    if args.backlog:
        pass  # the job threads start once every change is queued
    elif args.deliverer == "threads":
        threads.start()
    else:
        worker = Worker(args, tmp)
    def change(project_id: int, number: int) -> None:
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(type(user), user_id))
            projects.update(caller, project_id, {"name": f"c{number}"})

    if not args.backlog:  # warm-up, not timed: one change per webhook, delivered
        for i, project_id in enumerate(project_ids):
            change(project_id, -1 - i)
        receiver.wait_warm()
    made: dict[int, float] = {}
    start = time.perf_counter()
    for n in range(args.changes):
        if args.rate and not args.backlog:  # the offered load: a change every 1/rate s
            delay = start + n / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(type(user), user_id))
            projects.update(caller, project_ids[n % args.webhooks], {"name": f"c{n}"})
        made[n] = time.perf_counter()  # committed
    if args.backlog:  # measure sending alone: everything is queued before workers start
        now = time.perf_counter()
        made = dict.fromkeys(made, now)
        threads.start()
    arrivals = receiver.arrivals()
    threads.stop()
    if worker is not None:
        worker.stop()
    with state.db.unit_of_work() as session:
        bodies = [(d.webhook_id, body_of(d.request)) for d in session.query(WebhookDelivery)
                  .order_by(WebhookDelivery.id)]
    state.db.dispose()
    return made, arrivals, bodies


class Posters:
    """``--workers`` threads POSTing with pooled ``httpx.Client``s, each webhook's bodies by
    one thread, in order; ``put`` hands one over."""

    def __init__(self, args, receiver: Receiver) -> None:
        import httpx

        self.workers = args.workers
        self.queues: list[queue.Queue] = [queue.Queue() for _ in range(args.workers)]

        def sender(q: queue.Queue) -> None:
            with httpx.Client() as client:
                while (item := q.get()) is not None:
                    hook, body = item
                    client.post(f"{receiver.url}/{hook}", content=body,
                                headers={"Content-Type": "application/json"})

        self.threads = [threading.Thread(target=sender, args=(q,)) for q in self.queues]
        for thread in self.threads:
            thread.start()

    def put(self, hook: int, body: bytes) -> None:
        self.queues[hook % self.workers].put((hook, body))

    def stop(self) -> None:
        for q in self.queues:
            q.put(None)
        for thread in self.threads:
            thread.join()


def run_httpx_replayed(args, offsets: list[float], bodies: list[tuple[int, bytes]]
                       ) -> tuple[dict[int, float], dict[int, float]]:
    warmup = args.webhooks if not args.backlog else 0
    receiver = Receiver(len(bodies) - warmup, warmup)
    posters = Posters(args, receiver)
    made: dict[int, float] = {}
    for hook, body in bodies[:warmup]:  # as cvatcore's warm-up
        posters.put(hook, body)
    if warmup:
        receiver.wait_warm()
    start = time.perf_counter()
    for n, ((hook, body), offset) in enumerate(zip(bodies[warmup:], offsets, strict=True)):
        delay = start + offset - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        made[n] = time.perf_counter()
        posters.put(hook, body)
    arrivals = receiver.arrivals()
    posters.stop()
    return made, arrivals


def run_httpx_after_commits(args, tmp: Path, offsets: list[float],
                            bodies: list[tuple[int, bytes]]
                            ) -> tuple[dict[int, float], dict[int, float]]:
    """The same producer and commits as ``run_cvatcore`` on the same database, each no
    earlier than its counterpart's offset there, posting each change's body itself once the
    change is committed."""
    from cvatcore.core.app import tune_gc
    from cvatcore.core.models import User
    from cvatcore.core.services import projects
    from cvatcore.core.services.caller import Caller
    from cvatcore.hooks.testing import build_test_app, test_settings

    # With a worker process (autoloading the installed plugins, as deployed) the database
    # carries their migrations too: this app loads the same plugins.
    state = build_test_app(test_settings(tmp, args.postgres, jobs={"in_process_workers": 0}),
                           autoload=args.deliverer == "worker").state.cvatcore
    warmup = args.webhooks
    receiver = Receiver(len(bodies) - warmup, warmup)
    posters = Posters(args, receiver)
    with state.db.unit_of_work() as session:
        user_id = session.query(User.id).filter_by(username="bench").scalar()
    project_ids = []
    for i in range(args.webhooks):
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(User, user_id))
            project_ids.append(projects.create(caller, {"name": f"plain{i}"}).id)
    tune_gc()

    def change(n: int, name: str) -> None:
        with state.db.unit_of_work() as session:
            caller = Caller(state, session, session.get(User, user_id))
            projects.update(caller, project_ids[n % args.webhooks], {"name": name})

    for i, (hook, body) in enumerate(bodies[:warmup]):  # as cvatcore's warm-up
        change(i, f"w{i}")
        posters.put(hook, body)
    receiver.wait_warm()
    made: dict[int, float] = {}
    start = time.perf_counter()
    for n, ((hook, body), offset) in enumerate(zip(bodies[warmup:], offsets, strict=True)):
        delay = start + offset - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        change(n, f"c{n}")
        made[n] = time.perf_counter()  # committed
        posters.put(hook, body)
    arrivals = receiver.arrivals()
    posters.stop()
    state.db.dispose()
    return made, arrivals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=400)
    parser.add_argument("--webhooks", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate", type=float, default=50.0,
                        help="changes per second the producer offers (0: as fast as it can, "
                        "which saturates the process and measures queueing, not delivery)")
    parser.add_argument("--backlog", action="store_true",
                        help="queue every change first, then deliver (throughput alone)")
    parser.add_argument("--deliverer", choices=("threads", "worker"), default=None,
                        help="job threads of the producer's process, or a cvatcore worker "
                        "process (default: threads on SQLite, worker on PostgreSQL)")
    parser.add_argument("--postgres", default=None, help="URL of an empty PostgreSQL database")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the whole comparison; the ratios' median is the figure "
                        "(a p99 of a few hundred changes rests on a few of them)")
    args = parser.parse_args()
    args.deliverer = args.deliverer or ("worker" if args.postgres else "threads")
    load = os.getloadavg()
    where = ("job threads of this process, after the changes" if args.backlog else
             "job threads of the producer's process" if args.deliverer == "threads" else
             "a cvatcore worker process")
    pace = "as fast as possible" if args.backlog or not args.rate else f"{args.rate:g}/s"
    print(f"{args.changes} changes ({pace}) over {args.webhooks} webhooks, {args.workers} "
          f"delivery threads ({where}), {'PostgreSQL' if args.postgres else 'SQLite'}")
    rate_ratios, p99_ratios = [], []
    for number in range(1, args.rounds + 1):
        print(f"round {number}:\n  {'':<10} {'deliv/s':>10} {'p50 ms':>10} {'p99 ms':>10}")
        rate_ratio, p99_ratio = one_round(args)
        rate_ratios.append(rate_ratio)
        p99_ratios.append(p99_ratio)
    print(f"median of {args.rounds} rounds: deliveries/s ratio "
          f"{statistics.median(rate_ratios):.2f}, p99 ratio {statistics.median(p99_ratios):.2f}"
          " (1.0 = as fast as plain httpx after the same commits)")
    print("load average before / after: " + " ".join(f"{x:.2f}" for x in load) + " / " +
          " ".join(f"{x:.2f}" for x in os.getloadavg()))


def one_round(args) -> tuple[float, float]:
    """cvatcore, then plain httpx after the same commits, then the replay: prints their rows
    and returns the ratios (deliveries/s, p99)."""
    with tempfile.TemporaryDirectory() as tmp, fresh_database(args):
        made, arrivals, bodies = run_cvatcore(args, Path(tmp))
        first = min(made.values())
        offsets = [made[n] - first for n in sorted(made)]
        if not args.backlog:
            plain_made, plain_arrivals = run_httpx_after_commits(args, Path(tmp), offsets,
                                                                 bodies)
    replay_made, replay_arrivals = run_httpx_replayed(args, offsets, bodies)
    if args.backlog:  # no producer runs while sending: the replay is the baseline
        plain_made, plain_arrivals = replay_made, replay_arrivals
    rate, _, p99 = stats("cvatcore", made, arrivals)
    plain_rate, _, plain_p99 = stats("httpx", plain_made, plain_arrivals)
    if not args.backlog:
        _, _, replay_p99 = stats("replayed", replay_made, replay_arrivals)
    print(f"  ratio: deliveries/s {rate / plain_rate:.2f}, p99 {plain_p99 / p99:.2f}")
    if not args.backlog:
        print(f"  p99 against posting alone (replayed, no producer): {replay_p99 / p99:.2f}")
    return rate / plain_rate, plain_p99 / p99


@contextlib.contextmanager
def fresh_database(args):
    """On PostgreSQL, every round on a new database next to ``--postgres`` (made from its
    server's ``postgres`` database, dropped afterwards): the rounds must not share rows."""
    if not args.postgres:
        yield
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    given = args.postgres
    url = make_url(given.replace("postgresql://", "postgresql+psycopg://", 1))
    name = f"{url.database}_round_{os.getpid()}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    args.postgres = given.rsplit("/", 1)[0] + "/" + name
    try:
        yield
    finally:
        args.postgres = given
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    reexec_in_venv("cvatcore.core")
    sys.exit(main())
