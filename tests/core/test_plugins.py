"""Loading plugins: discovery, allow- and block-lists, collisions, provider names, introspection."""

from __future__ import annotations

import importlib.metadata as md
import json

import cvatcore_example
import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from cvatcore.core import __version__
from cvatcore.core.app import create_app
from cvatcore.core.plugins import PluginError, collect_providers, make_plugin_manager
from cvatcore.core.state import AppState
from cvatcore.hooks import EmptyConfig, ProviderConfig, hookimpl
from cvatcore.hooks.testing import build_test_app, invoke_cli, test_settings

EVENTS_SQL = "cvatcore.core.builtin.events_sql"
EXAMPLE_VERSION = md.version("cvatcore-example")


class SharedNameStorage:
    """A tiny plugin that claims the storage provider name ``shared``."""

    def __init__(self, name: str = "shared") -> None:
        self.name = name

    @hookimpl
    def register_storage_providers(self, register):
        register(self.name, dict)


class TypoPlugin:
    @hookimpl
    def register_storage_provider(self, register):  # missing "s": no such hook
        register("typo", dict)


# -- discovery -----------------------------------------------------------------------------


def test_installed_example_plugin_is_listed_without_configuration(run_cvatcore, config_file):
    result = run_cvatcore("plugins", env={"CVATCORE_CONFIG": str(config_file())})
    assert result.returncode == 0, result.stderr
    assert f"example (cvatcore-example {EXAMPLE_VERSION})" in result.stdout
    assert "providers: storage: example-memory" in result.stdout
    assert "job kinds: example:greet" in result.stdout  # attributed to the plugin
    assert "cvatcore.core.builtin" not in result.stdout  # built-ins only with --all


def test_installed_example_plugin_adds_its_command(run_cvatcore, config_file):
    result = run_cvatcore("example-hello", "--name", "CI",
                          env={"CVATCORE_CONFIG": str(config_file())})
    assert (result.returncode, result.stdout) == (0, "Hello, CI!\n"), result.stderr


@pytest.mark.parametrize(
    ("allow", "loaded"),
    [("cvatcore-example", True), ("cvatcore_example", True), ("some-other-dist", False),
     ("", False)],
)
def test_load_plugins_allowlist(monkeypatch, allow, loaded):
    monkeypatch.setenv("CVATCORE_LOAD_PLUGINS", allow)
    pm = make_plugin_manager()
    assert pm.has_plugin("example") is loaded
    assert pm.has_plugin("cvatcore.core.builtin.storage_local")  # built-ins are not affected


def test_allowlisted_plugin_reports_its_own_distribution(monkeypatch, config_file):
    monkeypatch.setenv("CVATCORE_LOAD_PLUGINS", "cvatcore-example")
    result = invoke_cli(["plugins", "--json"], autoload=True,
                        env={"CVATCORE_CONFIG": str(config_file())})
    assert result.exit_code == 0, result.stderr
    (row,) = json.loads(result.stdout)
    assert (row["name"], row["distribution"], row["version"]) == (
        "example", "cvatcore-example", EXAMPLE_VERSION
    )


def test_disable_plugin_autoload(monkeypatch):
    monkeypatch.setenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    monkeypatch.setenv("CVATCORE_LOAD_PLUGINS", "cvatcore-example")  # the switch wins
    pm = make_plugin_manager()
    assert not pm.has_plugin("example")
    assert "local" in collect_providers(pm).storage


# -- collisions ----------------------------------------------------------------------------


def test_two_plugins_with_one_provider_name_fail_naming_both(monkeypatch):
    monkeypatch.setenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = make_plugin_manager(
        extra_plugins=[(SharedNameStorage(), "tests-first"), (SharedNameStorage(), "tests-second")]
    )
    with pytest.raises(PluginError) as exc:
        collect_providers(pm)
    message = str(exc.value)
    assert "storage provider 'shared' is registered by two plugins" in message
    assert "tests-first" in message and "tests-second" in message


def test_provider_name_collision_with_an_installed_plugin_stops_the_cli(config_file):
    result = invoke_cli(
        ["plugins"], plugins=[(SharedNameStorage("example-memory"), "tests-dup")], autoload=True,
        env={"CVATCORE_CONFIG": str(config_file())},
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)  # a clean exit, not a crash
    assert "storage provider 'example-memory' is registered by two plugins" in result.stderr
    assert "example (cvatcore-example)" in result.stderr and "tests-dup" in result.stderr
    assert result.stdout == ""


# -- [plugins] disabled and required ---------------------------------------------------------


def test_disabled_blocks_a_builtin(tmp_path, monkeypatch):
    monkeypatch.setenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = make_plugin_manager(disabled=[EVENTS_SQL])
    assert not pm.has_plugin(EVENTS_SQL)
    assert "sql" not in collect_providers(pm).events
    # ...so the default analytics sink is gone too, and start-up says so.
    settings = test_settings(tmp_path, plugins={"disabled": [EVENTS_SQL]},
                             analytics={"sinks": ["sql"]})
    with pytest.raises(PluginError, match=r"\[analytics\] sinks: unknown events provider 'sql'"):
        AppState.build(settings, pm)


@pytest.mark.parametrize(
    "essential", ["cvatcore.core.builtin.auth_local", "cvatcore.core.builtin.rest_api"]
)
def test_disabled_refuses_an_essential_builtin(essential):
    with pytest.raises(PluginError, match=f"plugin {essential} is essential"):
        make_plugin_manager(disabled=[essential])


def test_disabled_blocks_an_installed_plugin(monkeypatch):
    monkeypatch.delenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    pm = make_plugin_manager(disabled=["example"])
    assert not pm.has_plugin("example")
    assert "example-memory" not in collect_providers(pm).storage


def test_required_plugin_missing_fails(monkeypatch):
    monkeypatch.setenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    with pytest.raises(PluginError, match="required plugins are not installed: cvatcore-s3"):
        make_plugin_manager(required=["cvatcore-s3"])


@pytest.mark.parametrize("name", ["example", "cvatcore-example"])
def test_required_plugin_present_by_name_or_distribution(name):
    assert make_plugin_manager(required=[name]).has_plugin("example")


def test_implementing_a_hook_that_does_not_exist_fails(monkeypatch):
    monkeypatch.setenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    with pytest.raises(PluginError) as exc:
        make_plugin_manager(extra_plugins=[(TypoPlugin(), "tests-typo")])
    message = str(exc.value)
    assert "plugin tests-typo implements register_storage_provider, which is no hook" in message
    assert "did you mean register_storage_providers?" in message


# -- provider names and options in the settings --------------------------------------------


def test_unknown_provider_name_stops_startup_with_an_install_hint(config_file):
    config = config_file('[storage]\ndefault = "s3"\n')
    result = invoke_cli(["config", "check"], env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 1
    assert result.stderr.strip() == (
        "Error: [storage] default: unknown storage provider 's3' (registered: local); "
        "install it with: pip install cvatcore-s3"
    )


def test_unknown_provider_name_lists_installed_providers(tmp_path, monkeypatch):
    monkeypatch.delenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    # Installed plugins load, except cvatcore-clickhouse (installed in this suite's venv).
    monkeypatch.setenv("CVATCORE_LOAD_PLUGINS", "cvatcore-example")
    settings = test_settings(tmp_path, analytics={"sinks": ["clickhouse"]})
    with pytest.raises(PluginError, match=r"registered: log, sql\); .*cvatcore-clickhouse"):
        AppState.build(settings)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"local": {"roots": "/srv"}}, "roots: Extra inputs are not permitted"),
        ({"example-memory": {"root": "relative"}}, "root: Value error, must be an absolute path"),
    ],
)
def test_provider_options_are_checked_against_its_config_model(tmp_path, options, problem):
    settings = test_settings(tmp_path, storage={"options": options})
    pm = make_plugin_manager(extra_plugins=[(cvatcore_example, "example")])
    with pytest.raises(PluginError) as exc:
        AppState.build(settings, pm)
    (name,) = options
    assert str(exc.value).startswith(
        f"[storage.options.{name}]: invalid options for storage provider {name!r}"
    )
    assert problem in str(exc.value)


class SecretOptions(ProviderConfig):
    token: str


class SecretOptionsSink:
    @hookimpl
    def register_event_sinks(self, register):
        register("tests-sink", lambda config: config, config_model=SecretOptions)


def test_invalid_option_error_does_not_echo_the_value(tmp_path):
    settings = test_settings(
        tmp_path, analytics={"sinks": ["tests-sink"],
                             "options": {"tests-sink": {"token": ["hunter2-secret"]}}},
    )
    pm = make_plugin_manager(extra_plugins=[(SecretOptionsSink(), "tests-sink-plugin")])
    with pytest.raises(PluginError, match="token: Input should be a valid string") as exc:
        AppState.build(settings, pm)
    assert "hunter2" not in str(exc.value)


def test_config_model_must_subclass_provider_config(monkeypatch):
    class NotAModel:
        @hookimpl
        def register_storage_providers(self, register):
            register("bad", dict, config_model=dict)

    pm = make_plugin_manager(extra_plugins=[(NotAModel(), "tests-bad")])
    with pytest.raises(PluginError, match="config_model must subclass cvatcore.hooks.Provider"):
        collect_providers(pm)


# -- introspection -------------------------------------------------------------------------


def test_api_plugins_lists_plugins_with_versions_hooks_and_providers(tmp_path, monkeypatch):
    monkeypatch.delenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", raising=False)
    app = build_test_app(test_settings(tmp_path), autoload=True)
    with TestClient(app) as client:
        response = client.get("/api/plugins")
    assert response.status_code == 200
    rows = {row["name"]: row for row in response.json()}
    assert rows["example"] == {
        "name": "example",
        "distribution": "cvatcore-example",
        "version": EXAMPLE_VERSION,
        "builtin": False,
        "hooks": ["register_commands", "register_job_kinds", "register_migrations",
                  "register_routes", "register_settings", "register_storage_providers"],
        "providers": {"storage": ["example-memory"]},
        "registered": {
            "job_kinds": ["example:greet"],
            "migrations": ["cvatcore_example"],
            "routes": ["GET /api/example/greetings", "GET /api/example/hello",
                       "POST /api/example/greetings"],
            "settings": ["example"],
        },
    }
    local = rows["cvatcore.core.builtin.storage_local"]
    assert (local["distribution"], local["version"], local["builtin"]) == (
        "cvatcore", __version__, True
    )
    assert local["providers"] == {"storage": ["local"]}
    assert rows["cvatcore.core.builtin.auth_local"]["providers"] == {"auth": ["local"]}


# -- migrations ----------------------------------------------------------------------------


def _tables_and_versions(engine: sa.Engine) -> tuple[set[str], set[str]]:
    with engine.connect() as conn:
        versions = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    return set(sa.inspect(engine).get_table_names()), versions


def test_plugin_migrations_create_the_plugins_table(cvatcore_settings):
    app = build_test_app(cvatcore_settings, plugins=[(cvatcore_example, "example")])
    db = app.state.cvatcore.db
    try:
        tables, versions = _tables_and_versions(db.engine)
        assert {"users", "example_greetings"} <= tables
        assert "example_0001" in versions
        # depends_on="0001_core" orders the branch after the core's, so it can reference users.
        (fk,) = sa.inspect(db.engine).get_foreign_keys("example_greetings")
        assert fk["referred_table"] == "users"
    finally:
        db.dispose()


def test_database_migrated_by_a_plugin_that_is_now_missing_names_the_revision(tmp_path):
    settings = test_settings(tmp_path)
    build_test_app(settings, plugins=[(cvatcore_example, "example")]).state.cvatcore.db.dispose()
    state = AppState.build(settings, make_plugin_manager(disabled=["example"]))
    try:
        with pytest.raises(PluginError, match="the database is at migration 'example_0001'"):
            create_app(state=state)
    finally:
        state.db.dispose()


def test_no_registered_provider_is_missing_a_description_or_config_model():
    registries = collect_providers(make_plugin_manager())
    for kind, registry in registries.kinds.items():
        for entry in registry.values():
            assert entry.description, f"{kind} provider {entry.name} has no description"
            assert issubclass(entry.config_model, ProviderConfig)
    assert registries.webhooks["http"].config_model is EmptyConfig


def test_trace_plugins_prints_hook_calls(monkeypatch, capsys):
    monkeypatch.setenv("CVATCORE_TRACE_PLUGINS", "1")
    monkeypatch.setenv("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", "1")
    pm = make_plugin_manager(extra_plugins=[(SharedNameStorage(), "tests-traced")])
    collect_providers(pm)
    pm.hook.startup(app=None)
    trace = capsys.readouterr().err
    assert "register_storage_providers [tests-traced] registered ['shared']" in trace
    assert "startup [hook]" in trace
