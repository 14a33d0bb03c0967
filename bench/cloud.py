"""``content-v2`` on a bucket of 100,000 objects: first-page time and memory.

    python bench/cloud.py [--objects 100000] [--rounds 9]

Starts a moto S3 server seeded with a 100,000-object bucket and a 1,000-object bucket,
attaches both through ``POST /api/cloudstorages`` (cvatcore in-process, SQLite), and times
``GET /api/cloudstorages/{id}/content-v2?prefix=img/&page_size=100`` against the baseline of
the same first page asked straight from the server with botocore (``ListObjectsV2``,
``MaxKeys=100``), in the same run. Prints medians, the ratio baseline/API, and the peak
Python memory of one API call for each bucket (it must not grow with the bucket).

moto answers a page in O(objects in the bucket) (it sorts every key on each call); S3 answers
from its index, so the baseline column is what the bucket server itself costs here.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _venv import reexec_in_venv  # noqa: E402

reexec_in_venv("cvatcore_s3")

import boto3  # noqa: E402
from cvatcore_s3.testing import DUMMY_KEY, start_moto  # noqa: E402

from cvatcore.core.services.accounts import create_user  # noqa: E402
from cvatcore.core.services.caller import Caller  # noqa: E402
from cvatcore.hooks.testing.env import no_plugin_autoload  # noqa: E402
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings  # noqa: E402


def median_time(call, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def peak_kib(call) -> float:
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1] / 1024
    finally:
        tracemalloc.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    import cvatcore_s3

    print(f"seeding moto with {args.objects} objects ...", file=sys.stderr)
    moto = start_moto(seed={"big": args.objects, "small": 1000}, timeout=600)
    try:
        with tempfile.TemporaryDirectory() as tmp, no_plugin_autoload():
            app = build_test_app(test_settings(Path(tmp)), plugins=[(cvatcore_s3, "s3")])
            with app.state.cvatcore.db.unit_of_work() as session:
                caller = Caller.system(app.state.cvatcore, session)
                create_user(caller, "bench", "bench-pass", email="b@example.com")
            s3 = boto3.client("s3", endpoint_url=moto.endpoint_url, region_name="us-east-1",
                              aws_access_key_id=DUMMY_KEY[0], aws_secret_access_key=DUMMY_KEY[1])
            with ApiClient(app) as client:
                client.login("bench", "bench-pass")
                rows = []
                for bucket, count in (("small", 1000), ("big", args.objects)):
                    sid = client.post("/api/cloudstorages", json={
                        "provider_type": "AWS_S3_BUCKET", "resource": bucket,
                        "display_name": bucket, "credentials_type": "KEY_SECRET_KEY_PAIR",
                        "key": DUMMY_KEY[0], "secret_key": DUMMY_KEY[1],
                        "specific_attributes": f"endpoint_url={moto.endpoint_url}",
                    }).json()["id"]
                    url = f"/api/cloudstorages/{sid}/content-v2"
                    params = {"prefix": "img/", "page_size": 100}

                    def api(url=url, params=params):
                        body = client.get(url, params=params).json()
                        assert len(body["content"]) == 100, body

                    def raw(bucket=bucket):
                        s3.list_objects_v2(Bucket=bucket, Prefix="img/", Delimiter="/",
                                           MaxKeys=100)

                    api()  # warm: client built and cached
                    rows.append((count, median_time(raw, args.rounds),
                                 median_time(api, args.rounds), peak_kib(api)))
            app.state.cvatcore.db.dispose()
    finally:
        moto.stop()
    print(f"{'objects':>8} {'ListObjectsV2 ms':>17} {'content-v2 ms':>14} {'ratio':>6} "
          f"{'peak KiB/call':>14}")
    for count, raw_s, api_s, peak in rows:
        print(f"{count:>8} {raw_s * 1000:>17.1f} {api_s * 1000:>14.1f} {raw_s / api_s:>6.2f} "
              f"{peak:>14.0f}")
    print("ratio = bucket server alone / through cvatcore (1.0 = no overhead); target: first "
          "page < 200 ms where the bucket server answers from an index")


if __name__ == "__main__":
    main()
