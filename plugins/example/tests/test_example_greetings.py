"""The greetings route (sign-in required) and the background job it queues.

Only ``cvatcore.hooks`` (through the plugin), the plugin and cvatcore's testing kit are used:
the user signs up and follows the job through the public API, as a CVAT client would.
"""

from __future__ import annotations

import time

import cvatcore_example
import pytest

from cvatcore.hooks.testing import ApiClient

PLUGIN = (cvatcore_example, "example")
PASSWORD = "long-enough-1"


@pytest.fixture
def client(register_plugin):
    with register_plugin(*PLUGIN) as app, ApiClient(app) as client:  # starts a job worker
        yield client


def _sign_up(client: ApiClient, username: str) -> None:
    body = {"username": username, "email": f"{username}@example.com",
            "password1": PASSWORD, "password2": PASSWORD}
    assert client.post("/api/auth/register", json=body).status_code == 201
    client.login(username, PASSWORD)


def _wait(client: ApiClient, rq_id: str, timeout: float = 15.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/requests/{rq_id}").json()
        if body["status"] in ("finished", "failed") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def test_greetings_need_sign_in(client):
    response = client.post("/api/example/greetings", json={"name": "Ann"})
    assert response.status_code == 401
    assert "detail" in response.json()
    assert client.get("/api/example/greetings").status_code == 401


def test_a_greeting_is_stored_and_its_job_runs_for_the_signed_in_user(client):
    _sign_up(client, "ann")
    response = client.post("/api/example/greetings", json={"name": "Bob"})
    assert response.status_code == 202
    created = response.json()
    assert created["rq_id"] == f"action=greet&target=example_greeting&id={created['id']}"
    request = _wait(client, created["rq_id"])
    assert request["status"] == "finished"
    assert request["result_id"] == created["id"]
    assert request["owner"]["username"] == "ann"
    assert request["operation"]["type"] == "example:greet"
    assert client.get("/api/example/greetings").json() == [{"id": created["id"], "name": "Bob"}]


def test_a_refused_greeting_stores_nothing_and_queues_nothing(client):
    _sign_up(client, "ann")
    response = client.post("/api/example/greetings", json={"name": ""})
    assert response.status_code == 400
    assert response.json() == {"detail": "name: give a text of 1 to 150 characters"}
    assert client.get("/api/example/greetings").json() == []
    assert client.get("/api/requests").json()["count"] == 0


def test_greetings_are_private_to_their_author(client):
    _sign_up(client, "ann")
    client.post("/api/example/greetings", json={"name": "Bob"})
    client.logout()
    _sign_up(client, "carl")
    assert client.get("/api/example/greetings").json() == []


def test_the_routes_are_in_the_api_schema(client):
    paths = client.get("/api/schema", params={"format": "json"}).json()["paths"]
    operations = paths["/api/example/greetings"]
    assert operations["post"]["operationId"] == "example_create_greeting"
    assert operations["get"]["operationId"] == "example_list_greetings"
