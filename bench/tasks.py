"""Task creation from many small images, and listing 500 jobs, against a real server.

    python bench/tasks.py [--images 10000] [--small 2000] [--segment 20] [--rounds 3]
                          [--requests 15]

1. Starts ``cvatcore serve`` (SQLite, local media: the embedded defaults) in a temp directory.
2. Creates a task from N small JPEGs with cvat-sdk (its upload protocol, then polling
   /api/requests), once with ``--small`` images and once with ``--images``, and prints the
   time and the server's peak memory (VmHWM) for each: memory should not grow with N.
3. Lists the task's jobs (N / segment = 500 by default) with ``GET /api/jobs?task_id=..&
   page_size=500`` and times it against a raw SQL query of the same rows on the same
   database file (sqlite3, no ORM, no HTTP), in the same run: ``--rounds`` rounds, each the
   median of ``--requests`` API requests and then of as many raw queries, so that a noisy
   neighbour on the machine weighs on both sides of a round's ratio; prints each round's
   ratio raw/API and their median (target >= 0.3). CVAT needs about 17 s to list 500 jobs.
   ``--small 0`` skips the first (small) task.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import reexec_in_venv  # noqa: E402

reexec_in_venv("cvat_sdk")

import urllib.request  # noqa: E402

from PIL import Image  # noqa: E402

from cvatcore.hooks.testing.live import sdk_client, serve_with_admin  # noqa: E402

#: Requests (and raw queries) run before each measured series, not counted: both sides are
#: measured warm, as bench/api.py does with its warm-up.
WARMUP = 5

RAW_JOBS_SQL = """
SELECT j.id, j.task_id, j.assignee_id, j.status, j.stage, j.state, j.type, j.created_date,
       j.updated_date, s.start_frame, s.stop_frame, t.name, t.project_id, t.mode, t.dimension,
       t.organization_id, d.chunk_size, d.compressed_chunk_type, d.original_chunk_type
FROM jobs j JOIN segments s ON s.id = j.segment_id JOIN tasks t ON t.id = j.task_id
LEFT JOIN task_data d ON d.id = t.data_id
WHERE j.task_id = ? ORDER BY j.id LIMIT 500
"""


def make_images(root: Path, count: int) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", (32, 24), (120, 60, 200))
    paths = []
    for i in range(count):
        path = root / f"img_{i:05d}.jpg"
        image.save(path, "JPEG", quality=80)
        paths.append(str(path))
    return paths


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def create_task(client, name: str, paths: list[str], segment: int) -> tuple[int, float]:
    from cvat_sdk import models
    from cvat_sdk.core.proxies.tasks import ResourceType

    start = time.perf_counter()
    task = client.tasks.create_from_data(
        spec=models.TaskWriteRequest(name=name, segment_size=segment,
                                     labels=[models.PatchedLabelRequest(name="object")]),
        resource_type=ResourceType.LOCAL, resources=paths, data_params={"image_quality": 70},
    )
    return task.id, time.perf_counter() - start


def time_api_list(url: str, cookie: str, task_id: int, rounds: int) -> tuple[float, int]:
    request = urllib.request.Request(f"{url}/api/jobs?task_id={task_id}&page_size=500",
                                     headers={"Cookie": cookie})
    times, count = [], 0
    for n in range(WARMUP + rounds):  # the first requests after a task creation (its last
        start = time.perf_counter()  # writes, a cold page cache) are not counted
        with urllib.request.urlopen(request) as response:
            body = response.read()
        if n >= WARMUP:
            times.append(time.perf_counter() - start)
        count = body.count(b'"start_frame"')
    return statistics.median(times), count


def time_raw_sql(db: Path, task_id: int, rounds: int) -> tuple[float, int]:
    times, count = [], 0
    conn = sqlite3.connect(db)
    try:
        for n in range(WARMUP + rounds):
            start = time.perf_counter()
            rows = conn.execute(RAW_JOBS_SQL, (task_id,)).fetchall()
            if n >= WARMUP:
                times.append(time.perf_counter() - start)
            count = len(rows)
    finally:
        conn.close()
    return statistics.median(times), count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=2_000)
    parser.add_argument("--segment", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds of the list measurement; the median ratio counts")
    parser.add_argument("--requests", type=int, default=15,
                        help="API requests (and raw queries) per round; their median counts")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        images = make_images(root / "images", args.images)
        with serve_with_admin(root, password="bench-pass-123") as live:
            url, pid = live.url, live.pids[0]
            # The SDK's default polls every 5 s.
            with sdk_client(live, status_check_period=0.2) as client:
                rows = []
                for count in (c for c in (args.small, args.images) if c > 0):
                    task_id, seconds = create_task(client, f"bench {count}", images[:count],
                                                   args.segment)
                    rows.append((count, seconds, peak_rss_mib(pid), task_id))
                cookie = "; ".join(f"{k}={v.value}" for k, v in
                                   client.api_client.cookies.items())
                rounds = []
                for _ in range(args.rounds):
                    api_s, api_n = time_api_list(url, cookie, rows[-1][3], args.requests)
                    raw_s, raw_n = time_raw_sql(root / "data" / "cvatcore.db", rows[-1][3],
                                                args.requests)
                    rounds.append((api_s, raw_s))
        print(f"{'images':>8} {'create s':>9} {'images/s':>9} {'server peak MiB':>16}")
        for count, seconds, peak, _ in rows:
            print(f"{count:>8} {seconds:>9.1f} {count / seconds:>9.0f} {peak:>16.0f}")
        for number, (api_s, raw_s) in enumerate(rounds, 1):
            print(f"list {api_n} jobs, round {number}: API {api_s * 1000:.1f} ms (median of "
                  f"{args.requests}), raw SQL {raw_s * 1000:.2f} ms for {raw_n} rows; "
                  f"ratio raw/API {raw_s / api_s:.2f}")
        ratio = statistics.median(raw_s / api_s for api_s, raw_s in rounds)
        print(f"list {api_n} jobs: median ratio raw/API of {len(rounds)} rounds {ratio:.2f} "
              f"(target >= 0.3; CVAT ~17 s)")


if __name__ == "__main__":
    main()
