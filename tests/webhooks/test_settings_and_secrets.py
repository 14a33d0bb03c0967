"""One list of internal targets (``[outbound] allow``, the deprecated
``[webhooks] allowed_targets`` folded into it) and webhook secrets encrypted at rest."""

from __future__ import annotations

import logging

from sqlalchemy import text

from cvatcore.core.config import load_settings
from cvatcore.core.secrets import Secrets, new_key, rotate_all


def test_allowed_targets_are_folded_into_outbound_allow(caplog):
    with caplog.at_level(logging.WARNING, logger="cvatcore"):
        settings = load_settings(None, outbound={"allow": ["minio.internal"]},
                                 webhooks={"allowed_targets": ["10.0.0.0/8"]})
    assert settings.outbound.allow == ["minio.internal", "10.0.0.0/8"]
    assert "allowed_targets is deprecated" in caplog.text


def test_the_secret_is_encrypted_at_rest_and_survives_rotation(people, receiver, cvatcore_app):
    _, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    hook = ann.post("/api/webhooks", json={
        "target_url": receiver.url, "type": "project", "project_id": project["id"],
        "events": ["create:task"], "secret": "plain-secret-value"}).json()
    state = cvatcore_app.state.cvatcore
    with state.db.unit_of_work() as session:
        stored = session.execute(text("SELECT secret FROM webhooks WHERE id = :id"),
                                 {"id": hook["id"]}).scalar_one()
    assert "plain-secret-value" not in stored
    assert state.secrets.decrypt(stored) == "plain-secret-value"
    old_key = (state.settings.server.data_dir / "secret.key").read_bytes().strip()
    rotated = Secrets([new_key().encode(), old_key])  # a new first key, the old one after
    assert rotate_all(state.db, rotated) >= 1
    with state.db.unit_of_work() as session:
        again = session.execute(text("SELECT secret FROM webhooks WHERE id = :id"),
                                {"id": hook["id"]}).scalar_one()
    assert rotated.decrypt(again) == "plain-secret-value"
