"""Building a test application and talking to it in-process.

The core is imported inside each helper, and ``ApiClient`` (Starlette's ``TestClient``, which
needs the ``httpx2`` test extra) only when it is first used: importing the kit, as pytest does
for every run in an environment where cvatcore is installed, loads no optional package.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cvatcore.hooks.testing.env import environ, no_plugin_autoload

if TYPE_CHECKING:
    from click.testing import Result
    from starlette.applications import Starlette

    from cvatcore.core.config import Settings
    from cvatcore.hooks.testing.client import ApiClient


def __getattr__(name: str) -> Any:
    if name == "ApiClient":  # see the module docstring
        from cvatcore.hooks.testing.client import ApiClient

        return ApiClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def test_settings(data_dir: Path, database_url: str | None = None, **sections: Any) -> Settings:
    """Settings for a test: data under ``data_dir``, no config file, no autoloaded plugins,
    no analytics sinks (pass ``analytics={"sinks": [...]}`` to record events)."""
    from cvatcore.core.config import load_settings

    server = {"data_dir": str(data_dir), **sections.pop("server", {})}
    database = dict(sections.pop("database", {}))
    # Many test apps (and several test processes) share one PostgreSQL server: keep pools small.
    database.setdefault("pool_size", 4)
    if database_url:
        database["url"] = database_url
    storage = sections.pop("storage", {"options": {"local": {"root": str(data_dir / "share")}}})
    # No analytics events unless a test asks for sinks: background drains would mix with
    # the jobs a test runs itself.
    sections.setdefault("analytics", {"sinks": []})
    # Emulators (moto, Azurite, fake-gcs-server, webhook receivers) listen on loopback.
    sections.setdefault("outbound", {"allow": ["127.0.0.1", "localhost", "::1"]})
    return load_settings(None, server=server, database=database, storage=storage, **sections)


test_settings.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test to collect


def build_test_app(
    settings: Settings, plugins: Iterable[tuple[object, str]] = (), autoload: bool = False
) -> Starlette:
    """An application with ``plugins`` registered on top of the built-ins."""
    from cvatcore.core.app import create_app
    from cvatcore.core.plugins import make_plugin_manager
    from cvatcore.core.state import AppState

    with nullcontext() if autoload else no_plugin_autoload():
        pm = make_plugin_manager(
            settings.plugins.disabled, settings.plugins.required, extra_plugins=plugins
        )
    return create_app(state=AppState.build(settings, pm))


def invoke_cli(
    args: Sequence[str],
    plugins: Iterable[tuple[object, str]] = (),
    env: Mapping[str, str | None] | None = None,
    autoload: bool = False,
) -> Result:
    """Run ``cvatcore <args>`` in-process with ``plugins`` registered as if installed.

    ``env`` is applied while the command line is built and run (``None`` unsets a variable);
    point ``CVATCORE_CONFIG`` at a settings file so that nothing lands in the working
    directory. ``result.exit_code``, ``result.stdout`` and ``result.stderr`` tell the outcome.
    """
    from click.testing import CliRunner

    from cvatcore.cli.main import build_cli

    with nullcontext() if autoload else no_plugin_autoload(), environ(env or {}):
        root = build_cli(list(plugins))
        return CliRunner().invoke(root, list(args), prog_name="cvatcore")


def add_user(app: Starlette, username: str, password: str, *, email: str = "",
             groups: list[str] | None = None) -> None:
    """A local account on ``app``, made by the accounts service as ``cvatcore createsuperuser``
    makes one (``groups``: system roles, default ``["user"]``)."""
    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller

    state = app.state.cvatcore
    with state.db.unit_of_work() as session:
        create_user(Caller.system(state, session), username, password, email=email,
                    groups=groups)


@contextmanager
def signed_in(app: Starlette, username: str = "ann", password: str = "ann-pass",
              **account: Any) -> Iterator[ApiClient]:
    """An in-process client signed in as a new local user of ``app`` (``account``: as for
    :func:`add_user`); the app's database connections are closed on the way out."""
    from cvatcore.hooks.testing.client import ApiClient

    add_user(app, username, password, **account)
    try:
        with ApiClient(app) as client:
            client.login(username, password)
            yield client
    finally:
        app.state.cvatcore.db.dispose()
