"""SSRF attempts a webhook target might make, each refused by the outbound guard when the
webhook is created (and again before every delivery), and a redirect to cloud metadata that
is not followed."""

from __future__ import annotations

import json

import pytest

from cvatcore.core.outbound import OutboundRefused, resolve
from cvatcore.core.services import webhooks_delivery

ATTEMPTS = [
    ("decimal IPv4", "http://2130706433/"),
    ("octal IPv4", "http://0177.0.0.1/"),
    ("hexadecimal IPv4", "http://0x7f.0.0.1/"),
    ("short IPv4", "http://127.1/"),
    ("unspecified", "http://0.0.0.0:8080/"),
    ("IPv4-mapped IPv6", "http://[::ffff:127.0.0.1]/"),
    ("a name resolving to loopback", "http://localhost/"),
    ("loopback", "http://127.0.0.1/"),
    ("private network", "http://10.1.2.3/"),
    ("cloud metadata", "http://169.254.169.254/latest/meta-data/"),
    ("cloud metadata over IPv6", "http://[fd00:ec2::254]/"),
    ("credentials in the URL", "http://user:pass@203.0.113.7/"),
    ("not HTTP", "file:///etc/passwd"),
]


@pytest.mark.parametrize(("what", "url"), ATTEMPTS, ids=[a[0] for a in ATTEMPTS])
def test_the_guard_refuses(what, url):
    with pytest.raises(OutboundRefused):
        resolve(url, allow=[])


@pytest.mark.parametrize("url", ["http://2130706433/", "http://0177.0.0.1/",
                                 "http://[::ffff:127.0.0.1]/", "http://0.0.0.0/"])
def test_other_spellings_of_an_allowed_address_stay_refused(url):
    with pytest.raises(OutboundRefused):
        resolve(url, allow=["127.0.0.1"])


def test_create_is_refused_with_a_400(people, cvatcore_app):
    _, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    allow = cvatcore_app.state.cvatcore.settings.outbound.allow
    saved = list(allow)
    allow.clear()  # the default: nothing internal allowed
    try:
        for _what, url in ATTEMPTS:
            response = ann.post("/api/webhooks", json={
                "target_url": url, "type": "project", "project_id": project["id"],
                "events": ["create:task"]})
            assert response.status_code == 400, (url, response.text)
            assert "target_url" in response.json()
    finally:
        allow.extend(saved)
    assert ann.get("/api/webhooks").json()["count"] == 0


def test_delivery_checks_again_and_follows_no_redirect(people, receiver, deliver, cvatcore_app):
    _, ann = people.user()
    project = ann.post("/api/projects", json={"name": "p"}).json()
    receiver.status, receiver.headers = 302, {"Location": "http://169.254.169.254/latest/"}
    hook = ann.post("/api/webhooks", json={
        "target_url": receiver.url, "type": "project", "project_id": project["id"],
        "events": ["create:task", "update:task"]}).json()
    task = ann.post("/api/tasks", json={"name": "t", "project_id": project["id"]}).json()
    deliver(until=lambda: len(receiver.requests) >= 1)
    first = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"][0]
    assert first["status_code"] == 302 and first["state"] == "delivered"  # not followed
    assert len(receiver.requests) == 1
    # The operator closes the address after the webhook was made: the next delivery is
    # refused before any connection and not retried.
    allow = cvatcore_app.state.cvatcore.settings.outbound.allow
    saved = list(allow)
    allow.clear()
    try:
        ann.patch(f"/api/tasks/{task['id']}", json={"name": "t2"})
        deliver(until=lambda: _states(ann, hook) == ["failed", "delivered"])
    finally:
        allow.extend(saved)
    refused = ann.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"][0]
    assert "refused by the outbound guard" in refused["response"]
    assert len(receiver.requests) == 1
    assert ann.get(f"/api/webhooks/{hook['id']}").json()["is_active"] is True


def _states(client, hook):
    results = client.get(f"/api/webhooks/{hook['id']}/deliveries").json()["results"]
    return [d["state"] for d in results]


def test_the_transport_connects_to_the_checked_address(receiver, cvatcore_app):
    """The URL names a host that does not resolve; the transport still reaches the receiver
    at the address the guard checked, with the original name in ``Host``."""
    from cvatcore.hooks import OutboundRequest

    transport = webhooks_delivery.transport_of(cvatcore_app.state.cvatcore)
    port = receiver.url.rsplit(":", 1)[1]
    result = transport.send(OutboundRequest(f"http://hooks.invalid:{port}/x", b"{}", {},
                                            connect_to="127.0.0.1"))
    assert result.status_code == 200
    assert receiver.requests[0].headers["Host"] == f"hooks.invalid:{port}"
    assert json.loads(receiver.requests[0].body) == {}
