"""A real moto S3 server for cvatcore-s3's tests and benchmarks (not used in production).

``start_moto()`` runs moto's server in a child process (``python -m cvatcore_s3.testing``) on
a free loopback port and returns a ``MotoServer``; ``stop()`` ends that one process by its
PID. A child keeps moto's process-wide switches (IAM enforcement) and its memory out of the
test process, so memory measured there is the provider's own. Options:

* ``strict=True``: moto checks every signature against IAM. The child creates a user with
  full S3 access and a role it may assume, and reports them in ``MotoServer.iam``; any other
  key is refused with ``InvalidAccessKeyId``, a wrong secret with ``SignatureDoesNotMatch``.
  Unsigned (anonymous) requests need a non-strict server.
* ``seed={"bucket": n}``: the child fills ``bucket`` with ``n`` one-byte objects
  ``img/000000.jpg`` ... straight through moto's backend (100,000 take a few seconds, where
  as many PUTs over HTTP would take minutes).

Needs ``moto[server]`` and ``boto3`` (the ``test`` extra). Never skips: ``MotoError`` says
what is missing, and the tests fail with it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cvatcore.hooks.testing import faults
from cvatcore.hooks.testing.faults import FaultyEndpoint, http_answer

#: Credentials moto accepts when it does not enforce IAM (any would do).
DUMMY_KEY = ("testing-key", "testing-secret")
SEED_KEY = "img/{:06d}.jpg"


def unique_bucket_name() -> str:
    """A bucket name no other test uses (tests share one server and never reset it)."""
    return f"cvat-{uuid.uuid4().hex[:16]}"


class MotoError(RuntimeError):
    """moto is not installed or its server did not start; the message says why."""


@dataclass
class MotoServer:
    """A running moto server: its URL, the IAM identities of a strict one, its process."""

    endpoint_url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    iam: dict[str, str] = field(default_factory=dict)
    _session: Any = field(default=None, repr=False)
    _clients: dict[tuple[Any, ...], Any] = field(default_factory=dict, repr=False)

    def client(self, key: str = DUMMY_KEY[0], secret: str = DUMMY_KEY[1],
               token: str | None = None) -> Any:
        """A boto3 S3 client for setting up buckets (dummy keys unless given; cached)."""
        return self.service("s3", key, secret, token)

    def service(self, name: str, key: str = DUMMY_KEY[0], secret: str = DUMMY_KEY[1],
                token: str | None = None) -> Any:
        """A boto3 client for any service moto serves (``s3``, ``sts``, ``iam``; cached)."""
        import boto3  # test extra only

        cache_key = (name, key, secret, token)
        if cache_key not in self._clients:
            if self._session is None:
                self._session = boto3.session.Session()
            self._clients[cache_key] = self._session.client(
                name, endpoint_url=self.endpoint_url, region_name="us-east-1",
                aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token)
        return self._clients[cache_key]

    def stop(self) -> None:
        """End this server (SIGTERM to its PID, then SIGKILL after 10 s)."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def start_moto(*, strict: bool = False, seed: dict[str, int] | None = None,
               timeout: float = 120.0) -> MotoServer:
    """Start a moto server in a child process and wait until it answers."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise MotoError("moto[server] is not installed: pip install 'cvatcore-s3[test]'"
                        ) from exc
    info_file = Path(tempfile.mkstemp(prefix="moto-", suffix=".json")[1])
    log_path = info_file.with_suffix(".log")
    args = [sys.executable, "-m", "cvatcore_s3.testing", "--info-file", str(info_file)]
    args += ["--strict"] if strict else []
    for bucket, count in (seed or {}).items():
        args += ["--seed", f"{bucket}={count}"]
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    with open(log_path, "wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise MotoError(f"moto exited with {process.returncode}: "
                            f"{log_path.read_text(errors='replace')[-2000:]}")
        text = info_file.read_text()
        if text.endswith("\n"):
            info = json.loads(text)
            info_file.unlink()
            return MotoServer(info["endpoint_url"], process, log_path, info.get("iam", {}))
        time.sleep(0.05)
    process.kill()
    process.wait(timeout=10)
    raise MotoError(f"moto did not start within {timeout:.0f} s; log: {log_path}")


# -- servers that misbehave ----------------------------------------------------------------


SLOW_DOWN = http_answer(
    "503 Slow Down", "application/xml",
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
    b"<Message>Please reduce your request rate.</Message></Error>")


@contextmanager
def faulty_endpoint(mode: str) -> Iterator[FaultyEndpoint]:
    """The kit's faulty endpoint; ``throttle`` answers with S3's ``503 SlowDown``."""
    with faults.faulty_endpoint(mode, SLOW_DOWN) as endpoint:
        yield endpoint


# -- the child process --------------------------------------------------------------------


def _seed(bucket: str, count: int) -> None:
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.s3.models import s3_backends

    backend = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    backend.create_bucket(bucket, "us-east-1")
    for i in range(count):
        backend.put_object(bucket, SEED_KEY.format(i), b"x")


def _make_strict(endpoint_url: str) -> dict[str, str]:
    """Create a user with full S3 access and an assumable role, then enforce IAM."""
    import boto3
    from moto import settings
    from moto.core.authorization import ActionAuthenticatorMixin

    def client(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint_url, region_name="us-east-1",
                            aws_access_key_id=DUMMY_KEY[0], aws_secret_access_key=DUMMY_KEY[1])

    iam = client("iam")
    allow_all = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "sts:*"], "Resource": "*"}]})
    iam.create_user(UserName="cvat")
    iam.put_user_policy(UserName="cvat", PolicyName="all", PolicyDocument=allow_all)
    key = iam.create_access_key(UserName="cvat")["AccessKey"]
    trust = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})
    role = iam.create_role(RoleName="cvat-reader", AssumeRolePolicyDocument=trust)["Role"]
    iam.put_role_policy(RoleName="cvat-reader", PolicyName="all", PolicyDocument=allow_all)
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
    ActionAuthenticatorMixin.request_count = 0
    return {"key": key["AccessKeyId"], "secret": key["SecretAccessKey"],
            "role_arn": role["Arn"]}


def _serve(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="python -m cvatcore_s3.testing")
    parser.add_argument("--info-file", required=True)
    parser.add_argument("--strict", action="store_true")
    parser.add_argument("--seed", action="append", default=[])
    args = parser.parse_args(argv)
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint_url = f"http://{host}:{port}"
    urllib.request.urlopen(f"{endpoint_url}/moto-api/", timeout=10).read()
    for item in args.seed:
        bucket, _, count = item.partition("=")
        _seed(bucket, int(count))
    info: dict[str, Any] = {"endpoint_url": endpoint_url}
    if args.strict:
        info["iam"] = _make_strict(endpoint_url)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    Path(args.info_file).write_text(json.dumps(info) + "\n")
    while not done.wait(timeout=1.0):
        pass
    server.stop()
    sys.stdout.flush()
    os._exit(0)  # skip freeing every seeded object one by one (seconds for 100,000)


if __name__ == "__main__":
    _serve(sys.argv[1:])
