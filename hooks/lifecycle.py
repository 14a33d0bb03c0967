"""Hook specs for routes, CLI commands, migrations and the application's life cycle."""

from collections.abc import Callable
from typing import Any

import click

from cvatcore.hooks.markers import hookspec


@hookspec
def register_routes(register: Callable[..., None]) -> None:
    """Add HTTP routes to the server.

    Called: once, synchronously, while the Starlette application is built.

    Arguments:
        register: ``register(path, endpoint, methods=[...], name=...)``. ``path`` is a
            Starlette path (``"/api/example/{id:int}"``) and ``endpoint`` an async Starlette
            endpoint taking a ``Request``. A path and method registered twice stops start-up.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_routes(register):
            register("/api/example/hello", hello, methods=["GET"])
    """


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``cvatcore`` command line.

    Called: once, when the click group is built (every ``cvatcore`` invocation).

    Arguments:
        cli: the root ``click.Group``; add commands with ``@cli.command()`` or
            ``cli.add_command(...)``.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_commands(cli):
            @cli.command()
            def hello():
                click.echo("hello")
    """


@hookspec
def register_settings(register: Callable[..., None]) -> None:
    """Declare the plugin's own settings section, ``[plugins.<name>]`` in the settings file.

    Called: once, while the settings are checked (server start-up, ``cvatcore config check``,
    and the first time a command asks for them).

    Arguments:
        register: ``register(name, model, /)``. ``name`` is the section's name (usually the
            plugin's: ``[plugins.example]``); ``model`` a pydantic model, best a subclass of
            ``cvatcore.hooks.ProviderConfig`` (unknown keys rejected, ``SecretStr`` masked).
            The section is validated against it at start-up; a section with no defaults may
            be left out of the file only if every field has a default. A name registered
            twice, or a ``[plugins.<name>]`` table that no installed plugin declares, stops
            start-up (tables of plugins in ``[plugins] disabled`` are ignored).

    Returns:
        Nothing. Read the validated value with ``cvatcore.hooks.settings.plugin_settings``:
        ``plugin_settings("example")`` inside a command, ``plugin_settings("example",
        request)`` in a route, ``plugin_settings("example", app)`` in ``startup``.

    Example::

        class ExampleSettings(ProviderConfig):
            greeting: str = "Hello"

        @hookimpl
        def register_settings(register):
            register("example", ExampleSettings)
    """


@hookspec
def register_migrations(register: Callable[..., None]) -> None:
    """Add an Alembic versions directory for the plugin's own tables.

    Called: whenever migrations run (``cvatcore db upgrade`` and server start-up).

    Arguments:
        register: ``register(branch_label, versions_path)``. ``versions_path`` is the
            directory of revision files; the first revision sets ``branch_labels`` to
            ``(branch_label,)`` and ``depends_on`` the core revision it needs. All branches
            are upgraded with ``upgrade heads``.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_migrations(register):
            register("cvatcore_example", Path(__file__).parent / "migrations")
    """


@hookspec
def startup(app: Any) -> None:
    """Run code when the server starts, before it accepts requests.

    Called: once per server process, from the Starlette lifespan, after migrations.

    Arguments:
        app: the ``starlette.applications.Starlette`` application; ``app.state.cvatcore``
            holds the settings and provider registries.

    Returns:
        Nothing. An exception stops the server with that message.
    """


@hookspec
def shutdown(app: Any) -> None:
    """Run code when the server stops.

    Called: once per server process, from the Starlette lifespan, after the last request.

    Arguments:
        app: the same application object ``startup`` received.

    Returns:
        Nothing. Exceptions are logged and do not stop other plugins' ``shutdown``.
    """


@hookspec
def register_job_kinds(register: Callable[..., None]) -> None:
    """Add kinds of background work (exports, imports, batch inference, deliveries).

    Called: once, synchronously, while the application is built (server, worker and CLI).

    Arguments:
        register: ``register(kind, handler)``. ``kind`` is a name such as
            ``"export:backup"``; ``handler(job)`` runs the work in a worker thread or a
            ``cvatcore worker`` process, with ``job.args`` (the JSON arguments given when it
            was queued), ``job.progress(fraction, message)`` to report progress,
            ``job.state`` (the application state) and ``job.id``. Return a dict with
            ``result_id`` and/or ``result_url`` (shown by ``/api/requests/{id}``), or None.
            Raise ``cvatcore.hooks.JobFailed(message)`` for a failure the user should read
            (no retry); any other exception is retried with back-off up to the job's
            attempts, then reported as failed. A job may run twice (a worker died mid-way):
            make handlers idempotent. A kind registered twice stops start-up.

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_job_kinds(register):
            register("export:my-format", export_my_format)
    """
