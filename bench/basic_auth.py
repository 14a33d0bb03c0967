"""What one HTTP Basic request costs, with the real argon2id parameters.

Builds an app on a SQLite file in a temporary directory, creates one user, and times
sequential ``GET /api/users/self`` requests in-process (Starlette's TestClient): signed in
with HTTP Basic, and for reference with the session cookie. Prints wall-clock and CPU ms per
request (medians of the rounds).

Usage: ``.venv/bin/python bench/basic_auth.py [--requests 50] [--rounds 3]``
"""

from __future__ import annotations

import argparse
import base64
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _venv import reexec_in_venv


def _time(client, headers: dict[str, str], requests: int) -> tuple[float, float]:
    """(wall, CPU) ms per request; the CPU time (every thread of this process) is the
    figure to compare on a busy machine."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(requests):
        response = client.get("/api/users/self", headers=headers)
        assert response.status_code == 200, response.text
    return ((time.perf_counter() - wall) * 1000 / requests,
            (time.process_time() - cpu) * 1000 / requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from cvatcore.core.services.accounts import create_user
    from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings

    with tempfile.TemporaryDirectory() as tmp:
        app = build_test_app(test_settings(Path(tmp), jobs={"in_process_workers": 0}))
        with app.state.cvatcore.db.unit_of_work() as session:
            create_user(session, "bench", "bench-password-1")
        basic = {"Authorization": "Basic " + base64.b64encode(b"bench:bench-password-1").decode()}
        with ApiClient(app) as client:
            client.login("bench", "bench-password-1")
            session_cookie = {"Cookie": f"sessionid={client.cookies['sessionid']}"}
            client.cookies.clear()
            rows = []
            for name, headers in (("Basic", basic), ("session", session_cookie)):
                _time(client, headers, 3)  # warm-up
                runs = [_time(client, headers, args.requests) for _ in range(args.rounds)]
                rows.append((name, statistics.median(r[0] for r in runs),
                             statistics.median(r[1] for r in runs)))
    print(f"{args.requests} sequential GET /api/users/self, median of {args.rounds} rounds")
    print(f"  {'':<8} {'wall ms/request':>16} {'CPU ms/request':>16}")
    for name, wall, cpu in rows:
        print(f"  {name:<8} {wall:16.2f} {cpu:16.2f}")


if __name__ == "__main__":
    reexec_in_venv("cvatcore.core")
    sys.exit(main())
