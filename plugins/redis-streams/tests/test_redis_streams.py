"""The ``redis-streams`` transport against the Redis on 127.0.0.1:6379: directly, and as the
transport of a real ``cvatcore serve`` whose webhook deliveries land in the stream."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

import httpx
import pytest
import redis
from cvatcore_redis_streams import RedisStreamsConfig, RedisStreamsTransport
from pydantic import SecretStr

from cvatcore.hooks import OutboundRequest
from cvatcore.hooks.testing.live import free_port, serve_with_admin

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def stream():
    name = f"cvatcore-test:{uuid.uuid4().hex[:12]}"
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:  # never skip: a missing Redis fails the run
        pytest.fail(f"Redis is not reachable at {REDIS_URL}: {exc}", pytrace=False)
    yield name, client
    client.delete(name)
    client.close()


def test_send_appends_one_entry(stream):
    name, client = stream
    transport = RedisStreamsTransport(RedisStreamsConfig(stream=name, maxlen=10))
    result = transport.send(OutboundRequest("https://hooks.example.com/in", b'{"event":"ping"}',
                                            {"X-Signature-256": "sha256=1"}))
    assert result.status_code == 200
    (entry_id, fields), = client.xrange(name)
    assert json.loads(result.body) == {"stream": name, "id": entry_id.decode()}
    assert fields[b"body"] == b'{"event":"ping"}'
    assert fields[b"url"] == b"https://hooks.example.com/in"
    assert json.loads(fields[b"headers"]) == {"X-Signature-256": "sha256=1"}


def test_unreachable_redis_is_a_502():
    port = free_port()  # nothing listens there
    transport = RedisStreamsTransport(RedisStreamsConfig(
        url=SecretStr(f"redis://127.0.0.1:{port}/0"), timeout_seconds=1))
    assert transport.send(OutboundRequest("http://x/", b"{}", {})).status_code == 502


def test_a_running_server_delivers_into_the_stream(stream, tmp_path):
    name, client = stream
    settings = ('\n[outbound]\nallow = ["127.0.0.1"]\n\n'
                '[jobs]\npoll_seconds = 0.1\n\n[webhooks]\ntransport = "redis-streams"\n\n'
                f'[webhooks.options.redis-streams]\nurl = "{REDIS_URL}"\nstream = "{name}"\n')
    with serve_with_admin(tmp_path, settings) as live, \
            httpx.Client(base_url=live.url, auth=live.credentials, timeout=30) as api:
        project = api.post("/api/projects", json={"name": "p"}).json()
        hook = api.post("/api/webhooks", json={
            "target_url": "http://127.0.0.1:9/relay", "type": "project", "secret": "k3y",
            "project_id": project["id"], "events": ["create:task", "update:task"]}).json()
        task = api.post("/api/tasks", json={"name": "a", "project_id": project["id"]}).json()
        api.patch(f"/api/tasks/{task['id']}", json={"name": "b"})
        deadline = time.monotonic() + 20
        while client.xlen(name) < 2:
            assert time.monotonic() < deadline, "nothing reached the stream"
            time.sleep(0.05)
        entries = client.xrange(name)
        bodies = [json.loads(fields[b"body"]) for _, fields in entries]
        assert [b["event"] for b in bodies] == ["create:task", "update:task"]
        assert bodies[1]["before_update"]["name"] == "a"
        for _, fields in entries:
            headers = json.loads(fields[b"headers"])
            digest = hmac.new(b"k3y", fields[b"body"], hashlib.sha256).hexdigest()
            assert headers["X-Signature-256"] == f"sha256={digest}"
        # The attempt is recorded after the entry is written (by the drain's recorder).
        deadline = time.monotonic() + 10
        while True:
            deliveries = api.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"]
            if None not in {d["status_code"] for d in deliveries} or \
                    time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert {d["status_code"] for d in deliveries} == {200}
