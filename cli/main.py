"""``cvatcore``: serve, db upgrade, createsuperuser, plugins, config check, plus plugin commands."""

from __future__ import annotations

import copy
import json
import os
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import click

from cvatcore.cli.state import state_or_exit as _state
from cvatcore.core.config import CONFIG_ENV, ConfigError, load_settings
from cvatcore.core.plugins import PluginError, make_plugin_manager


def _upgrade(state: Any) -> None:
    """Migrate, waiting up to ``[database] connect_retry_seconds`` for a database that does
    not answer yet; each failed attempt, and the final error, is one line naming the setting
    and the address (never the password), not a traceback."""
    import time

    from sqlalchemy.exc import DBAPIError

    from cvatcore.core.db.migrate import upgrade

    deadline = time.monotonic() + state.settings.database.connect_retry_seconds
    while True:
        try:
            upgrade(state.db.engine, state.pm)
            return
        except PluginError as exc:
            raise click.ClickException(str(exc)) from None
        except (DBAPIError, OSError) as exc:
            if isinstance(exc, DBAPIError) and not exc.connection_invalidated and \
                    type(exc.orig).__name__ not in ("OperationalError", "InterfaceError"):
                raise
            line = _unreachable(state.settings, exc)
            if time.monotonic() >= deadline:
                raise click.ClickException(line) from None
            click.echo(f"cvatcore: {line}; retrying", err=True)
            time.sleep(1.0)


def _unreachable(settings: Any, exc: BaseException) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(settings.database_url())
    where = url.render_as_string(hide_password=True)
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines() or [type(exc).__name__]
    # psycopg: 'connection failed: connection to server at "h", port p failed: <why>'
    why = reason[0].rsplit("failed:", 1)[-1].strip() or reason[0]
    if url.password:
        why = why.replace(url.password, "***")
    return f"cannot connect to the database ([database] url = {where}): {why}"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), envvar=CONFIG_ENV,
    help="TOML settings file (default: $CVATCORE_CONFIG, else built-in defaults).",
)
@click.version_option(package_name="cvatcore")
def cli(config_path: str | None) -> None:
    """cvatcore: a CVAT-compatible annotation server built from plugins."""
    if config_path:
        os.environ[CONFIG_ENV] = config_path
    # What plugin commands read their settings through (cvatcore.hooks.settings), on first use.
    from cvatcore.core.plugin_settings import SettingsAccess
    from cvatcore.hooks.settings import CONTEXT_KEY

    context = click.get_current_context()
    context.meta[CONTEXT_KEY] = SettingsAccess(context.obj or ())


@cli.command()
@click.option("--host", help="Interface to bind (default: [server] host).")
@click.option("--port", type=int, help="Port (default: [server] port).")
@click.option("--workers", type=int, help="Worker processes (default: [server] workers).")
def serve(host: str | None, port: int | None, workers: int | None) -> None:
    """Run the HTTP server (migrations run first)."""
    import uvicorn

    from cvatcore.core.logs import log_config

    state = _state()
    settings = state.settings
    _upgrade(state)
    state.db.dispose()
    uvicorn.run(
        "cvatcore.core.app:create_server_app",
        factory=True,
        host=host or settings.server.host,
        port=port or settings.server.port,
        workers=workers or settings.server.workers,
        log_config=log_config(settings.server.log_format, settings.server.log_level,
                              settings.server.access_log),
        access_log=False,
    )


@cli.command()
@click.option("--threads", type=int, default=1, show_default=True,
              help="Jobs run at once by this process.")
@click.option("--once", is_flag=True, help="Run what is runnable now, then exit.")
def worker(threads: int, once: bool) -> None:
    """Run background jobs (task data, exports, deliveries) next to or instead of the
    in-process workers of ``serve``; start any number, on any machine sharing the database."""
    import signal
    import threading
    from logging.config import dictConfig

    from cvatcore.core.app import tune_gc
    from cvatcore.core.jobs.runner import InProcessWorkers, JobRunner
    from cvatcore.core.logs import log_config

    state = _state()
    server = state.settings.server
    dictConfig(log_config(server.log_format, server.log_level))
    _upgrade(state)
    tune_gc()  # as ``serve``: a full collection would stop the deliveries for ~100 ms
    if once:
        count = JobRunner(state).run_until_idle()
        click.echo(f"ran {count} job(s)")
        state.db.dispose()
        return
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    workers = InProcessWorkers(state, threads)
    workers.start()
    click.echo(f"worker running {threads} thread(s); Ctrl-C stops after the current jobs")
    while not stop.wait(0.5):
        pass
    workers.stop(timeout=None)
    state.db.dispose()


@cli.group()
def secrets() -> None:
    """Keys that encrypt stored credentials ([secrets] keys)."""


@secrets.command("new-key")
def secrets_new_key() -> None:
    """Print a new key; put it first in [secrets] keys, then run ``secrets rotate``."""
    from cvatcore.core.secrets import new_key

    click.echo(new_key())


@secrets.command("rotate")
def secrets_rotate() -> None:
    """Re-encrypt every stored secret with the first key (then older keys can be removed)."""
    from cvatcore.core.secrets import SecretsError, rotate_all

    state = _state()
    _upgrade(state)
    try:
        count = rotate_all(state.db, state.secrets)
    except SecretsError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        state.db.dispose()
    click.echo(f"re-encrypted {count} secret(s) with the first key")


@cli.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration of the core and of installed plugins."""
    from cvatcore.core.db.migrate import current_heads

    state = _state()
    _upgrade(state)
    click.echo("database is at " + ", ".join(sorted(current_heads(state.db.engine, state.pm))))
    state.db.dispose()


@db.command("downgrade")
@click.argument("target")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def db_downgrade(target: str, yes: bool) -> None:
    """Take the schema back to TARGET: a revision id, BRANCH@base or base.

    Tables and columns added after TARGET are dropped with their rows: make a backup first
    (`cvatcore backup create`), and stop the servers and workers of the newer version.
    """
    from cvatcore.core.db.migrate import current_heads, downgrade, revisions

    state = _state()
    known = revisions(state.db.engine, state.pm)
    if target not in {*known, "base"} and not target.endswith("@base"):
        state.db.dispose()
        raise click.ClickException(
            f"unknown revision {target!r}; the known ones are: {', '.join(known)}")
    if not yes:
        click.confirm(f"Downgrade the database to {target}? Newer tables and columns are "
                      "dropped with their data", abort=True)
    try:
        downgrade(state.db.engine, state.pm, target)
    except PluginError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        heads = current_heads(state.db.engine, state.pm)
        state.db.dispose()
    click.echo("database is at " + (", ".join(sorted(heads)) or "base (empty)"))


@cli.command()
@click.option("--username", required=True)
@click.option("--email", default="")
@click.option("--password", envvar="CVATCORE_SUPERUSER_PASSWORD",
              help="Password (or $CVATCORE_SUPERUSER_PASSWORD); prompted for when absent.")
@click.option("--no-input", is_flag=True, help="Fail instead of prompting.")
def createsuperuser(username: str, email: str, password: str | None, no_input: bool) -> None:
    """Create an administrator account."""
    from cvatcore.core.errors import ApiError
    from cvatcore.core.services.accounts import create_user
    from cvatcore.core.services.caller import Caller

    if not password:
        if no_input:
            raise click.ClickException("--password (or CVATCORE_SUPERUSER_PASSWORD) is required")
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    state = _state()
    _upgrade(state)
    try:
        with state.db.unit_of_work() as session:
            create_user(Caller.system(state, session), username, password, email=email,
                        is_superuser=True)
    except ApiError as exc:
        raise click.ClickException(json.dumps(exc.body())) from None
    finally:
        state.db.dispose()
    click.echo(f"superuser {username} created")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--all", "show_all", is_flag=True, help="Include built-in plugins.")
def plugins(as_json: bool, show_all: bool) -> None:
    """List installed plugins, their versions, hooks and providers."""
    from cvatcore.core.plugins import describe_plugins

    state = _state()
    rows = [p for p in describe_plugins(state.pm, state.registries) if show_all or not p["builtin"]]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no plugins installed (use --all to see the built-in ones)")
    for row in rows:
        providers = "; ".join(f"{k}: {', '.join(v)}" for k, v in row["providers"].items())
        click.echo(f"{row['name']} ({row['distribution']} {row['version']})")
        click.echo(f"  hooks: {', '.join(row['hooks'])}")
        if providers:
            click.echo(f"  providers: {providers}")
        for what, names in row["registered"].items():
            click.echo(f"  {what.replace('_', ' ')}: {', '.join(names)}")


@cli.group()
def config() -> None:
    """Configuration commands."""


@config.command("check")
def config_check() -> None:
    """Validate the configuration and print it with secrets masked (exit 1 when invalid)."""
    state = _state()
    click.echo(json.dumps(state.settings.masked(), indent=2, default=str))
    click.echo("configuration OK", err=True)


def build_cli(
    extra_plugins: Iterable[tuple[object, str]] = (), config_path: str | None = None
) -> click.Group:
    """A fresh root group with every plugin's ``register_commands`` applied.

    ``extra_plugins`` are ``(plugin, name)`` pairs loaded as if installed (tests use them);
    ``config_path`` is the ``--config`` value, read here because it decides which plugins are
    disabled before click parses the command line. Raises ``PluginError``.
    """
    extra = list(extra_plugins)
    try:
        disabled = load_settings(config_path).plugins.disabled
    except ConfigError:
        disabled = []  # the command that needs the settings reports the problem
    pm = make_plugin_manager(disabled, extra_plugins=extra)
    root = copy.copy(cli)
    root.commands = dict(cli.commands)
    root.context_settings = {**cli.context_settings, "obj": extra}
    from cvatcore.cli.backup import backup
    from cvatcore.cli.events import events
    from cvatcore.cli.manifest import manifest
    from cvatcore.cli.mount import mount

    root.add_command(backup)
    root.add_command(events)
    root.add_command(manifest)
    root.add_command(mount)
    pm.hook.register_commands(cli=root)
    return root


def _config_option(args: Sequence[str]) -> str | None:
    """The ``--config`` value among the options before the command name, if any."""
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-"):
            break
    return None


def main() -> None:
    args = sys.argv[1:]
    try:
        root = build_cli(config_path=_config_option(args))
    except PluginError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    root(args, prog_name="cvatcore")
