"""Sign-ins per second through LDAP against local accounts, and what the group-lookup cache saves.

Starts a private slapd on 127.0.0.1 (``cvatcore_ldap.testing.start_slapd``, the helper the
plug-in's tests use: its own slapd.conf, TLS certificate, AD-like and FreeIPA-like trees),
builds in-process cvatcore applications (SQLite in a temporary folder) with
``[auth] backends = ["ldap", "local"]`` and the ``active_directory`` preset, and signs in
through ``POST /api/auth/login`` one request after another:

* ``carol`` from the directory: a service bind, a user search, the nested groups expanded
  by hand (slapd has no LDAP_MATCHING_RULE_IN_CHAIN: three group searches for her two
  levels of nesting) and a bind as carol; once with ``group_cache_seconds = 0`` and once with
  the cache on (the group searches are skipped while the entry is fresh);
* ``lena``, a local account, in the same chain (the directory answers "no such user" first)
  and with ``[auth] backends = ["local"]``. Local passwords are checked with argon2id at
  argon2-cffi's default cost, which is deliberately slow.

The two LDAP measurements are repeated on the backend alone (``authenticate()``: no HTTP, no
database), where the cache's share is easier to see. Each measurement gets a warm-up, then
``--rounds`` rounds, interleaved with the others so that a busy machine slows them all alike;
a round is at most ``--logins`` (local: ``--local-logins``) sign-ins or ``--max-seconds``,
whichever ends first. The table shows the median rate and the spread. slapd is stopped by
its PID at the end, also on errors or Ctrl-C.

Usage: ``.venv/bin/python bench/ldap.py [--logins 150] [--local-logins 20] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from _venv import reexec_in_venv

from cvatcore.core.services.caller import Caller

ROOT = Path(__file__).resolve().parent.parent
LOCAL_USER = ("lena", "lena-local-password")


@contextmanager
def cvatcore_app(data_dir: Path, options: dict[str, Any] | None) -> Iterator[Any]:
    """An in-process app; ``options`` None means local accounts only."""
    import cvatcore_ldap

    from cvatcore.core.services.accounts import create_user
    from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings

    auth: dict[str, Any] = {"backends": ["local"]}
    if options is not None:
        auth = {"backends": ["ldap", "local"], "options": {"ldap": options}}
    data_dir.mkdir(parents=True)
    app = build_test_app(test_settings(data_dir, auth=auth), plugins=[(cvatcore_ldap, "ldap")])
    try:
        with app.state.cvatcore.db.unit_of_work() as session:
            caller = Caller.system(app.state.cvatcore, session)
            create_user(caller, *LOCAL_USER, email="lena@local.test")
        with ApiClient(app) as client:
            yield client
    finally:
        app.state.cvatcore.db.dispose()


def via_api(client: Any, username: str, password: str) -> Callable[[], None]:
    """One sign-in through ``POST /api/auth/login``."""

    def login() -> None:
        response = client.post("/api/auth/login",
                               json={"username": username, "password": password})
        if response.status_code != 200:
            raise SystemExit(f"sign-in as {username} failed: {response.status_code} "
                             f"{response.text}")
        client.cookies.clear()

    return login


def via_backend(options: dict[str, Any], username: str, password: str) -> Callable[[], None]:
    """One call of the backend's ``authenticate`` alone: no HTTP, no database."""
    from cvatcore_ldap import LdapBackend, LdapConfig

    backend = LdapBackend(LdapConfig(**options))

    def login() -> None:
        if backend.authenticate(username, password, None) is None:  # type: ignore[arg-type]
            raise SystemExit(f"LDAP refused {username}")

    return login


def timed(login: Callable[[], None], limit: int, max_seconds: float) -> float:
    """Sign-ins per second over at most ``limit`` sign-ins or ``max_seconds``."""
    count, started = 0, time.perf_counter()
    while count < limit and time.perf_counter() - started < max_seconds:
        login()
        count += 1
    return count / (time.perf_counter() - started)


def main() -> None:
    reexec_in_venv("cvatcore_ldap")
    from cvatcore_ldap.testing import start_slapd

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--logins", type=int, default=150, help="LDAP sign-ins per round")
    parser.add_argument("--local-logins", type=int, default=20,
                        help="local sign-ins per round (argon2 makes each one slow)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median)")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--max-seconds", type=float, default=10.0, help="cap per round")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="cvatcore-bench-ldap-") as tmp:
        work = Path(tmp)
        slapd = start_slapd(work / "slapd")
        try:
            samples = run_all(slapd, work, args)
        finally:
            slapd.stop()
    report(slapd.ldap_uri, samples, args)


def run_all(slapd: Any, work: Path, args: argparse.Namespace) -> dict[str, list[float]]:
    """Every measurement once per round, in turn, so that drift hits them all alike."""
    from cvatcore_ldap.testing import password_of

    carol = ("carol", password_of("carol"))
    off, on = (slapd.ad_options(group_cache_seconds=s) for s in (0, 30))
    with ExitStack() as stack:
        app_off = stack.enter_context(cvatcore_app(work / "app-cache-0", off))
        app_on = stack.enter_context(cvatcore_app(work / "app-cache-30", on))
        app_local = stack.enter_context(cvatcore_app(work / "app-local", None))
        plan = [
            ("app: LDAP carol, cache 0 s", via_api(app_off, *carol), args.logins),
            ("app: LDAP carol, cache 30 s", via_api(app_on, *carol), args.logins),
            ("app: local lena, chain ldap,local", via_api(app_off, *LOCAL_USER),
             args.local_logins),
            ("app: local lena, chain local", via_api(app_local, *LOCAL_USER), args.local_logins),
            ("backend: LDAP carol, cache 0 s", via_backend(off, *carol), args.logins),
            ("backend: LDAP carol, cache 30 s", via_backend(on, *carol), args.logins),
        ]
        for _, login, _ in plan:
            for _ in range(args.warmup):
                login()
        samples: dict[str, list[float]] = {label: [] for label, _, _ in plan}
        for _ in range(args.rounds):
            for label, login, limit in plan:
                samples[label].append(timed(login, limit, args.max_seconds))
    return samples


def report(uri: str, samples: dict[str, list[float]], args: argparse.Namespace) -> None:
    rate = {label: statistics.median(values) for label, values in samples.items()}
    print(f"slapd at {uri} (now stopped); SQLite; in-process app; one sign-in at a time; "
          f"{args.rounds} interleaved rounds, median")
    print(f"{'measurement':<36} {'sign-ins/s':>10} {'min':>8} {'max':>8}")
    for label, values in samples.items():
        print(f"{label:<36} {rate[label]:>10.1f} {min(values):>8.1f} {max(values):>8.1f}")
    ratios = [
        ("app: LDAP (cache off) / local, same chain", "app: LDAP carol, cache 0 s",
         "app: local lena, chain ldap,local"),
        ("app: LDAP (cache off) / local-only chain", "app: LDAP carol, cache 0 s",
         "app: local lena, chain local"),
        ("app: LDAP cache on / cache off", "app: LDAP carol, cache 30 s",
         "app: LDAP carol, cache 0 s"),
        ("backend: LDAP cache on / cache off", "backend: LDAP carol, cache 30 s",
         "backend: LDAP carol, cache 0 s"),
    ]
    print("ratios (medians, same run)")
    for name, top, bottom in ratios:
        print(f"  {name:<44} {rate[top] / rate[bottom]:7.2f}x")


if __name__ == "__main__":
    main()
