"""One ``test_hook_<name>`` per hook: a small in-process plugin implements it, and the test
checks what an operator or API client would notice."""

from __future__ import annotations

import re
import textwrap
from typing import Any

import click
import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import JSONResponse

from cvatcore.core.plugins import PluginError
from cvatcore.core.state import AppState
from cvatcore.hooks import DeliveryResult, Identity, ProviderConfig, hookimpl
from cvatcore.hooks.testing import ApiClient, invoke_cli, test_settings


class Recorder:
    """A provider that keeps the config it was built with and what it was asked to do."""

    def __init__(self, config: Any) -> None:
        self.config = config
        self.calls: list[Any] = []


class LabelConfig(ProviderConfig):
    label: str


def plugin_names(client: ApiClient) -> dict[str, dict[str, Any]]:
    return {row["name"]: row for row in client.get("/api/plugins").json()}


def test_hook_register_storage_providers(register_plugin, tmp_path):
    class DictStoragePlugin:
        @hookimpl
        def register_storage_providers(self, register):
            register("tests-dict", Recorder, config_model=LabelConfig, description="A dict")

    settings = test_settings(
        tmp_path, storage={"default": "tests-dict", "options": {"tests-dict": {"label": "a"}}}
    )
    with pytest.raises(PluginError, match="unknown storage provider 'tests-dict'"):
        AppState.build(settings)  # without the plugin these settings cannot start
    with register_plugin(DictStoragePlugin(), "tests-storage", settings=settings) as app:
        with ApiClient(app) as client:
            row = plugin_names(client)["tests-storage"]
        provider = app.state.cvatcore.provider("storage", "tests-dict", {"label": "a"})
    assert row["hooks"] == ["register_storage_providers"]
    assert row["providers"] == {"storage": ["tests-dict"]}
    assert isinstance(provider, Recorder) and provider.config == LabelConfig(label="a")


def test_hook_register_auth_backends(register_plugin, tmp_path):
    class RobotBackend(Recorder):
        name = "tests-robots"

        def authenticate(self, username, password, accounts):
            if (username, password) == ("robot", "beep-boop-42"):
                return Identity(username="robot", backend=self.name, email="robot@example.com",
                                groups=["worker"])
            return None

    class RobotPlugin:
        @hookimpl
        def register_auth_backends(self, register):
            register("tests-robots", RobotBackend)

    settings = test_settings(tmp_path, auth={"backends": ["tests-robots", "local"]})
    with (
        register_plugin(RobotPlugin(), "tests-auth", settings=settings) as app,
        ApiClient(app) as client,
    ):
        refused = client.post("/api/auth/login",
                              json={"username": "robot", "password": "wrong-one-42"})
        client.login("robot", "beep-boop-42")
        me = client.get("/api/users/self").json()
    assert refused.status_code == 401
    assert (me["username"], me["email"], me["groups"]) == ("robot", "robot@example.com", ["worker"])


class SinkPlugin:
    @hookimpl
    def register_event_sinks(self, register):
        register("tests-memory", Recorder)


def test_hook_register_event_sinks(register_plugin, tmp_path):
    with register_plugin(SinkPlugin(), "tests-events") as app, ApiClient(app) as client:
        assert client.get("/api/server/plugins").json()["analytics"] is False  # only "sql"
    settings = test_settings(tmp_path, analytics={"sinks": ["tests-memory"]})
    with (
        register_plugin(SinkPlugin(), "tests-events", settings=settings) as app,
        ApiClient(app) as client,
    ):
        features = client.get("/api/server/plugins").json()
        row = plugin_names(client)["tests-events"]
    assert features["analytics"] is True
    assert row["providers"] == {"events": ["tests-memory"]}


def test_hook_register_webhook_transports(register_plugin, tmp_path):
    class RecordingTransport(Recorder):
        def send(self, request):
            self.calls.append(request)
            return DeliveryResult(202, "queued")

    class TransportPlugin:
        @hookimpl
        def register_webhook_transports(self, register):
            register("tests-recording", RecordingTransport, config_model=LabelConfig)

    typo = test_settings(tmp_path, webhooks={"transport": "tests-recordin"})
    with (
        pytest.raises(PluginError, match=r"registered: http, tests-recording\)"),
        register_plugin(TransportPlugin(), "tests-webhooks", settings=typo),
    ):
        pass
    settings = test_settings(
        tmp_path, webhooks={"transport": "tests-recording",
                            "options": {"tests-recording": {"label": "q"}}},
    )
    with register_plugin(TransportPlugin(), "tests-webhooks", settings=settings) as app:
        state = app.state.cvatcore
        transport = state.provider("webhooks", state.settings.webhooks.transport,
                                   state.settings.webhooks.options["tests-recording"])
    assert isinstance(transport, RecordingTransport) and transport.config.label == "q"


def test_hook_register_inference_backends(register_plugin, tmp_path):
    class FakeModels(Recorder):
        def list_functions(self):
            return [{"id": "tests-detector", "kind": "detector", "labels_v2": []}]

    class InferencePlugin:
        @hookimpl
        def register_inference_backends(self, register):
            register("tests-fake", FakeModels)

    settings = test_settings(tmp_path, inference={"backends": ["tests-fake"]})
    with register_plugin(InferencePlugin(), "tests-inference", settings=settings) as app:
        with ApiClient(app) as client:
            features = client.get("/api/server/plugins").json()
            row = plugin_names(client)["tests-inference"]
        backend = app.state.cvatcore.provider("inference", "tests-fake")
    assert features["models"] is True
    assert row["providers"] == {"inference": ["tests-fake"]}
    assert backend.list_functions()[0]["id"] == "tests-detector"


async def ping(request: Request) -> JSONResponse:
    return JSONResponse({"pong": request.path_params["n"] + 1})


def test_hook_register_routes(register_plugin):
    class RoutesPlugin:
        @hookimpl
        def register_routes(self, register):
            register("/api/tests/ping/{n:int}", ping, methods=["POST"])

    with register_plugin(RoutesPlugin(), "tests-routes") as app, ApiClient(app) as client:
        assert client.post("/api/tests/ping/41").json() == {"pong": 42}
        assert client.get("/api/tests/ping/41").status_code == 405
        assert client.get("/api/server/about").status_code == 200  # the core's routes remain


def test_hook_register_routes_refuses_a_taken_path(register_plugin):
    class Squatter:
        @hookimpl
        def register_routes(self, register):
            register("/api/server/about", ping, methods=["GET"])

    with pytest.raises(PluginError) as exc, register_plugin(Squatter(), "tests-squatter"):
        pass
    assert str(exc.value) == (
        "route GET /api/server/about is registered by two plugins: "
        "cvatcore.core.builtin.rest_api and tests-squatter"
    )


def test_hook_register_commands(config_file):
    class CommandPlugin:
        @hookimpl
        def register_commands(self, cli):
            @cli.command("tests-greet")
            @click.argument("who")
            def greet(who):
                """Greet someone."""
                click.echo(f"greetings, {who}")

    env = {"CVATCORE_CONFIG": str(config_file())}
    plugins = [(CommandPlugin(), "tests-commands")]
    result = invoke_cli(["tests-greet", "Ann"], plugins=plugins, env=env)
    assert (result.exit_code, result.stdout) == (0, "greetings, Ann\n")
    help_text = invoke_cli(["--help"], plugins=plugins, env=env).stdout
    assert re.search(r"^  tests-greet +Greet someone\.$", help_text, flags=re.M)


REVISION = '''
import sqlalchemy as sa
from alembic import op

revision = "tests_widgets_0001"
down_revision = None
branch_labels = ("tests_widgets",)
depends_on = "0001_core"


def upgrade():
    op.create_table("tests_widgets", sa.Column("id", sa.Integer(), primary_key=True))


def downgrade():
    op.drop_table("tests_widgets")
'''


def test_hook_register_migrations(register_plugin, tmp_path):
    versions = tmp_path / "widgets_migrations"
    versions.mkdir()
    (versions / "tests_widgets_0001.py").write_text(textwrap.dedent(REVISION))

    class MigrationsPlugin:
        @hookimpl
        def register_migrations(self, register):
            register("tests_widgets", versions)

    with register_plugin(MigrationsPlugin(), "tests-migrations") as app:
        engine = app.state.cvatcore.db.engine
        assert "tests_widgets" in sa.inspect(engine).get_table_names()
        with engine.connect() as conn:
            heads = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    assert "tests_widgets_0001" in heads  # the plugin's branch beside the core's head


def test_hook_register_migrations_checks_the_folder(register_plugin, tmp_path):
    class BrokenPlugin:
        @hookimpl
        def register_migrations(self, register):
            register("tests_broken", tmp_path / "no-such-folder")

    with (
        pytest.raises(PluginError, match="plugin tests-broken: migrations directory .* does not"),
        register_plugin(BrokenPlugin(), "tests-broken"),
    ):
        pass


class LifecyclePlugin:
    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []

    @hookimpl
    def startup(self, app):
        self.calls.append(("startup", app))

    @hookimpl
    def shutdown(self, app):
        self.calls.append(("shutdown", app))


def test_hook_startup(register_plugin):
    plugin = LifecyclePlugin()
    with register_plugin(plugin, "tests-lifecycle") as app:
        assert plugin.calls == []  # building the app does not start it
        with ApiClient(app) as client:
            assert plugin.calls == [("startup", app)]
            assert client.get("/api/server/about").status_code == 200


def test_hook_startup_failure_stops_the_server(register_plugin):
    class Failing:
        @hookimpl
        def startup(self, app):
            raise RuntimeError("the licence server is unreachable")

    with (
        register_plugin(Failing(), "tests-failing") as app,
        pytest.raises(RuntimeError, match="licence server"),
        ApiClient(app),
    ):
        pass


def test_hook_shutdown(register_plugin):
    plugin = LifecyclePlugin()
    with register_plugin(plugin, "tests-lifecycle") as app:
        with ApiClient(app):
            assert [name for name, _ in plugin.calls] == ["startup"]
        assert plugin.calls == [("startup", app), ("shutdown", app)]


def test_hook_shutdown_failure_does_not_stop_other_plugins(register_plugin, caplog):
    class Failing:
        @hookimpl
        def shutdown(self, app):
            raise RuntimeError("flush failed")

    plugin = LifecyclePlugin()
    with register_plugin(plugin, "tests-lifecycle") as app:
        app.state.cvatcore.pm.register(Failing(), name="tests-failing")  # called first (LIFO)
        with ApiClient(app):
            pass
    assert [name for name, _ in plugin.calls] == ["startup", "shutdown"]
    assert "shutdown hook of plugin tests-failing failed" in caplog.text
