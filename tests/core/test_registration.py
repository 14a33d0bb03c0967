"""One registration path: every ``register_*`` hook is called once, through pluggy's own hook
call, and every one receives the same ``Register`` callback."""

from __future__ import annotations

import importlib
import inspect
import time
import types

import pytest
from sqlalchemy import create_engine
from starlette.responses import JSONResponse

from cvatcore.core.plugins import PluginError, make_plugin_manager
from cvatcore.core.registration import REGISTER_HOOKS, registrations_of
from cvatcore.hooks import SPEC_MODULES, Register, enqueue, hookimpl
from cvatcore.hooks.testing.harness import ApiClient, build_test_app, test_settings


async def _ok(request):
    return JSONResponse({"route": request.url.path})


class RouteCounter:
    """A plugin whose ``register_routes`` counts how often it is called."""

    def __init__(self) -> None:
        self.calls = 0

    @hookimpl
    def register_routes(self, register):
        self.calls += 1
        register("/api/tests/counted", _ok, methods=["GET"], name="tests_counted")


def test_hook_register_routes_are_collected_once_for_the_app_and_the_schema(tmp_path):
    counter = RouteCounter()
    app = build_test_app(test_settings(tmp_path), plugins=[(counter, "tests-counter")])
    try:
        with ApiClient(app) as client:
            for _ in range(2):
                schema = client.get("/api/schema", params={"format": "json"}).json()
                assert schema["paths"]["/api/tests/counted"]["get"]["operationId"] == (
                    "tests_counted")
            assert client.get("/api/tests/counted").json() == {"route": "/api/tests/counted"}
        assert counter.calls == 1
        # ... and no other registration hook was called twice either.
        assert app.state.cvatcore.registrations.calls == dict.fromkeys(REGISTER_HOOKS, 1)
    finally:
        app.state.cvatcore.db.dispose()


def test_every_register_hook_takes_the_one_register_callback():
    specs = {}
    for module_name in SPEC_MODULES:
        for name, value in vars(importlib.import_module(module_name)).items():
            if hasattr(value, "cvatcore_spec") and name.startswith("register_"):
                specs[name] = value
    assert set(specs) - {"register_commands"} == set(REGISTER_HOOKS)
    for name, spec in specs.items():
        if name != "register_commands":
            (param,) = inspect.signature(spec).parameters.values()
            assert (param.name, param.annotation) in {("register", "Register"),
                                                       ("register", Register)}, name


class First:
    @hookimpl(tryfirst=True)
    def register_routes(self, register):
        register("/api/tests/order/{name}", _ok, methods=["GET"])


class Second:
    @hookimpl
    def register_routes(self, register):
        register("/api/tests/order/special", _ok_special, methods=["GET"])


async def _ok_special(request):
    return JSONResponse({"route": "special"})


def test_hook_register_routes_follow_pluggys_tryfirst(tmp_path):
    # Registered after First, Second would be called first (pluggy's LIFO), but tryfirst
    # puts First ahead: its route is tried first and so answers the path both match.
    plugins = [(First(), "first"), (Second(), "second")]
    app = build_test_app(test_settings(tmp_path), plugins=plugins)
    try:
        with ApiClient(app) as client:
            assert client.get("/api/tests/order/special").json() == {
                "route": "/api/tests/order/special"}
    finally:
        app.state.cvatcore.db.dispose()


def test_an_unknown_option_names_the_plugin_and_the_options_the_hook_takes():
    bad = types.SimpleNamespace(register_job_kinds=hookimpl(
        lambda register: register("tests:x", print, retries=3)))
    pm = make_plugin_manager(extra_plugins=[(bad, "tests-bad")])
    with pytest.raises(PluginError) as exc:
        registrations_of(pm).of("register_job_kinds")
    assert str(exc.value) == ("plugin tests-bad: register_job_kinds does not take the "
                              "option(s) retries (it takes: description)")


def test_register_kept_for_later_is_refused():
    kept = []
    plugin = types.SimpleNamespace(
        register_job_kinds=hookimpl(lambda register: kept.append(register)))
    pm = make_plugin_manager(extra_plugins=[(plugin, "tests-keeper")])
    assert registrations_of(pm).of("register_job_kinds")
    with pytest.raises(PluginError, match="called after the hook returned"):
        kept[0]("tests:late", print)


def test_trace_plugins_shows_pluggys_own_call_of_register_hooks(monkeypatch, capsys):
    monkeypatch.setenv("CVATCORE_TRACE_PLUGINS", "1")
    pm = make_plugin_manager()
    registrations_of(pm).of("register_job_kinds")
    trace = capsys.readouterr().err
    assert "register_job_kinds [hook]" in trace
    assert "register_job_kinds [cvatcore.core.builtin.job_kinds] registered" in trace


# -- routes the core runs, and queueing work ------------------------------------------------


def _whoami(request):
    user = request.user
    data = request.data if request.method == "POST" else None
    return {"user": None if user is None else user.username, "id": request.path_params["id"],
            "q": request.query_list("q"), "data": data}


def _queue_from_subscriber(connection, event):
    enqueue(connection, "tests:org-created", {"org": event.obj_id}, owner_id=event.actor_id,
            job_id=f"action=welcome&target=organization&id={event.obj_id}")


SURFACE = types.SimpleNamespace(
    register_routes=hookimpl(lambda register: (
        register("/api/tests/open/{id:int}", _whoami, methods=["GET", "POST"], auth=False),
        register("/api/tests/closed/{id:int}", _whoami, methods=["GET"], auth=True),
    )),
    register_job_kinds=hookimpl(
        lambda register: register("tests:org-created", lambda job: {"result_id": job.args["org"]})),
    register_domain_subscribers=hookimpl(
        lambda register: register("welcome", _queue_from_subscriber,
                                  scopes={"create:organization"})),
)


@pytest.fixture
def surface(register_plugin, tmp_path, cvatcore_database_url):
    # Workers poll every 30 s: a job that runs sooner was woken by its transaction's commit.
    settings = test_settings(tmp_path, cvatcore_database_url, jobs={"poll_seconds": 30})
    with register_plugin(SURFACE, "tests-surface", settings=settings) as app, \
            ApiClient(app) as client:
        body = {"username": "ann", "email": "ann@example.com", "password1": "long-enough-1",
                "password2": "long-enough-1"}
        assert client.post("/api/auth/register", json=body).status_code == 201
        yield app, client


def test_hook_register_routes_auth_runs_a_handler_with_the_public_request(surface):
    _, client = surface
    assert client.get("/api/tests/closed/3").status_code == 401
    assert client.get("/api/tests/open/3", params=[("q", "a"), ("q", "b")]).json() == {
        "user": None, "id": 3, "q": ["a", "b"], "data": None}
    client.login("ann", "long-enough-1")
    assert client.get("/api/tests/closed/4").json()["user"] == "ann"
    posted = client.post("/api/tests/open/5", json={"x": 1})
    assert posted.json() == {"user": "ann", "id": 5, "q": [], "data": {"x": 1}}
    assert client.post("/api/tests/open/5", content=b"{nope",
                       headers={"Content-Type": "application/json"}).status_code == 400


def test_hook_register_domain_subscribers_can_queue_work_in_the_change_transaction(surface):
    _, client = surface
    client.login("ann", "long-enough-1")
    org = client.post("/api/organizations", json={"slug": "acme"}).json()
    rq_id = f"action=welcome&target=organization&id={org['id']}"
    deadline = time.monotonic() + 10  # well before the workers' next poll
    while time.monotonic() < deadline:
        request = client.get(f"/api/requests/{rq_id}").json()
        if request.get("status") == "finished":
            break
        time.sleep(0.02)
    assert request["status"] == "finished" and request["result_id"] == org["id"]
    assert request["owner"]["username"] == "ann"


def test_enqueue_refuses_an_unknown_kind_and_a_foreign_connection(surface):
    app, _ = surface
    with app.state.cvatcore.db.work() as work, pytest.raises(ValueError) as exc:
        enqueue(work.connection, "tests:nope")
    assert "no plugin registered the job kind 'tests:nope'" in str(exc.value)
    engine = create_engine("sqlite://")
    with engine.connect() as foreign, pytest.raises(RuntimeError, match="a connection cvatcore"):
        enqueue(foreign, "tests:org-created")
