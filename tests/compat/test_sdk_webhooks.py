"""cvat-sdk 2.80's ``webhooks_api``, unchanged, against a real ``cvatcore serve`` that
delivers to a real receiver on 127.0.0.1 (allowed in ``[outbound] allow``): every answer
passes the SDK's own checks of CVAT's schema."""

from __future__ import annotations

import json
import time

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.api_client import exceptions

from cvatcore.hooks.testing.live import ADMIN, serve_with_admin
from cvatcore.hooks.testing.receiver import http_receiver


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with serve_with_admin(tmp_path_factory.mktemp("webhooks-server"),
                          '\n[outbound]\nallow = ["127.0.0.1"]\n\n[jobs]\npoll_seconds = 0.1\n'
                          ) as live:
        yield live.url


@pytest.fixture
def client(server):
    host, port = server.rsplit(":", 1)
    with make_client(host, port=int(port), credentials=ADMIN) as found:
        yield found


def _wait(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_webhooks_api_end_to_end(client):
    api = client.api_client.webhooks_api
    events, _ = api.retrieve_events(type="project")
    assert "create:task" in [str(e.key) for e in events.events]
    project = client.projects.create(models.ProjectWriteRequest(name="hooked"))
    with http_receiver() as receiver:
        hook, response = api.create(models.WebhookWriteRequest(
            target_url=receiver.url + "/in", type=models.WebhookType("project"),
            events=[models.EventsEnum("create:task"), models.EventsEnum("update:task")],
            project_id=project.id, secret="sdk-secret", description="from the SDK"))
        assert response.status == 201 and hook.project_id == project.id
        assert "secret" not in json.loads(response.data)

        pinged, _ = api.create_ping(hook.id)
        assert pinged.event == "ping" and pinged.status_code == 200
        ping_body = json.loads(receiver.requests[0].body)
        assert ping_body["webhook"]["id"] == hook.id and "webhook_id" not in ping_body

        task = client.tasks.create(models.TaskWriteRequest(name="t", project_id=project.id))
        _wait(lambda: len(receiver.requests) >= 2)
        created = json.loads(receiver.requests[1].body)
        assert created["event"] == "create:task" and created["task"]["id"] == task.id
        assert created["task"]["jobs"]["completed"] is None or \
            created["task"]["jobs"]["completed"] == 0

        page, _ = api.list_deliveries(hook.id)
        assert page.count == 2
        newest = page.results[0]
        one, _ = api.retrieve_deliveries(str(newest.id), hook.id)
        assert one.event == newest.event and one.status_code == 200
        api.create_deliveries_redelivery(str(newest.id), hook.id)
        _wait(lambda: len(receiver.requests) >= 3)
        assert receiver.requests[2].body == receiver.requests[1].body or \
            receiver.requests[2].body == receiver.requests[0].body
        _wait(lambda: api.list_deliveries(hook.id)[0].count == 3)
        assert api.list_deliveries(hook.id)[0].results[0].redelivery is True

        changed, _ = api.partial_update(hook.id, patched_webhook_write_request=models.
                                        PatchedWebhookWriteRequest(description="changed"))
        assert changed.description == "changed" and changed.last_status == 200
        listed, _ = api.list(project_id=project.id)
        assert [h.id for h in listed.results] == [hook.id]
        again, _ = api.retrieve(hook.id)
        assert again.last_delivery_date is not None
        api.destroy(hook.id)
        with pytest.raises(exceptions.NotFoundException):
            api.retrieve(hook.id)
