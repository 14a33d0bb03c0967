"""The domain-event bus: one event per change, inside the change's transaction."""

from __future__ import annotations

import types

import pytest
from sqlalchemy import func, select

from cvatcore.core.api.context import endpoint
from cvatcore.core.errors import ValidationFailed
from cvatcore.core.jobs.queue import enqueue
from cvatcore.core.models import BackgroundJob, Organization
from cvatcore.core.services import changes
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import hookimpl
from cvatcore.hooks.testing.harness import ApiClient


def _recorder():
    """A plugin that records events in both phases; the in-transaction phase also writes a row
    (as the analytics outbox and webhook deliveries do)."""
    seen: dict[str, list] = {"in_tx": [], "committed": []}

    def in_tx(connection, event):
        seen["in_tx"].append(event)
        from sqlalchemy.orm import Session

        with Session(bind=connection) as session:
            enqueue(session, job_id=f"outbox-{len(seen['in_tx'])}", kind="noop")

    def fail_after_change(ctx):
        org = ctx.caller.session.get(Organization, int(ctx.path_params["id"]))
        before_name = org.name
        org.name = "renamed"
        changes.updated(ctx.caller, "organization", org, {"name": before_name})
        raise ValidationFailed({"detail": "refused after the change"})

    plugin = types.SimpleNamespace(
        register_domain_subscribers=hookimpl(
            lambda register: (register("in-tx", in_tx),
                              register("committed", seen["committed"].append, committed=True))
        ),
        register_routes=hookimpl(
            lambda register: register("/api/test/fail/{id:int}", endpoint(fail_after_change),
                                      methods=["POST"])
        ),
    )
    return plugin, seen


@pytest.fixture
def recorded(register_plugin, cvatcore_settings, make_user):
    plugin, seen = _recorder()
    with register_plugin(plugin, "recorder", settings=cvatcore_settings) as app:
        from cvatcore.core.services.accounts import create_user

        with app.state.cvatcore.db.unit_of_work() as session:
            caller = Caller.system(app.state.cvatcore, session)
            create_user(caller, "ann", "ann-pass", email="ann@example.com")
        with ApiClient(app) as client:
            client.login("ann", "ann-pass")
            yield app, client, seen


def _count_outbox(app):
    with app.state.cvatcore.db.unit_of_work(write=False) as session:
        return session.scalar(select(func.count()).select_from(BackgroundJob)
                              .where(BackgroundJob.kind == "noop"))  # not the events drains


def test_a_change_publishes_one_event_with_before_after_actor_org_and_request_id(recorded):
    app, client, seen = recorded
    org = client.post("/api/organizations", json={"slug": "acme"}).json()
    response = client.patch(f"/api/organizations/{org['id']}", json={"name": "Acme Inc"},
                            headers={"X-Request-Id": "req-42"})
    assert response.status_code == 200
    assert response.headers["x-request-id"] == "req-42"
    scopes = [e.scope for e in seen["committed"]]
    # ann's account, made outside any request (a system caller), published its event too
    assert scopes == ["create:user", "create:organization", "update:organization"]
    assert seen["committed"][0].actor_id is None
    update = seen["committed"][2]
    assert update.before["name"] == "acme" and update.after["name"] == "Acme Inc"
    assert update.org_id == org["id"] and update.obj_id == org["id"]
    assert update.request_id == "req-42"
    assert update.actor_id == client.get("/api/users/self").json()["id"]
    assert [e.scope for e in seen["in_tx"]] == scopes
    assert _count_outbox(app) == 3


def test_request_id_is_generated_when_absent_and_carried_by_the_event(recorded):
    _, client, seen = recorded
    response = client.post("/api/organizations", json={"slug": "gen"})
    generated = response.headers["x-request-id"]
    assert len(generated) == 36
    assert seen["committed"][-1].request_id == generated


def test_hook_register_domain_subscribers_rolled_back_change_publishes_nothing(recorded):
    app, client, seen = recorded
    org = client.post("/api/organizations", json={"slug": "keep"}).json()
    committed_before, outbox_before = len(seen["committed"]), _count_outbox(app)
    response = client.post(f"/api/test/fail/{org['id']}")
    assert response.status_code == 400
    # The in-transaction subscriber ran, but its row went with the rollback...
    assert seen["in_tx"][-1].scope == "update:organization"
    assert _count_outbox(app) == outbox_before
    # ...and nothing reached the after-commit subscribers; the change itself is gone too.
    assert len(seen["committed"]) == committed_before
    assert client.get(f"/api/organizations/{org['id']}").json()["name"] == "keep"


def test_deletes_carry_the_last_state(recorded):
    _, client, seen = recorded
    org = client.post("/api/organizations", json={"slug": "gone", "name": "Gone"}).json()
    assert client.delete(f"/api/organizations/{org['id']}").status_code == 204
    event = seen["committed"][-1]
    assert event.scope == "delete:organization"
    assert event.before["name"] == "Gone" and event.after is None
