"""Hook specs for routes, CLI commands, migrations and the application's life cycle."""

from typing import Any

import click

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_routes(register: Register) -> None:
    """Add HTTP routes to the server.

    Called: once, synchronously, while the application is built; ``GET /api/schema`` lists
    the same routes (method, path, ``name``) without calling the hook again.

    Arguments:
        register: ``register(path, handler, methods=["GET"], name=None, auth=...)``
            (``cvatcore.hooks.Register``). ``path`` is a Starlette path
            (``"/api/example/{id:int}"``), ``methods`` its HTTP methods and ``name`` the
            route's name (its ``operationId`` in the schema). ``auth`` says who runs
            ``handler``:

            * ``auth=True``: the core does, for signed-in callers only (anyone else gets
              CVAT's 401). ``handler(request)`` is a plain synchronous function of a
              ``cvatcore.hooks.RouteRequest`` (the user, path parameters, query, JSON body,
              the transaction's ``connection``, ``enqueue`` for background jobs). It runs
              in a worker thread inside one database transaction, committed when it
              returns and rolled back when it raises. Return something JSON-safe (sent with
              status 200) or a Starlette ``Response``; raise
              ``starlette.exceptions.HTTPException(status, detail)`` for an error, sent as
              ``{"detail": ...}``.
            * ``auth=False``: the same, open to anonymous callers (``request.user`` is
              ``None`` for them; credentials that are sent are still checked).
            * no ``auth``: ``handler`` is an async Starlette endpoint taking a Starlette
              ``Request``, run as it is: no sign-in check, no transaction. For streaming
              responses and anything else the wrapper does not fit.

            A path and method registered twice stops start-up.

    Returns:
        Nothing.

    Example::

        def greet(request):
            return {"message": f"Hello, {request.user.username}!"}

        @hookimpl
        def register_routes(register):
            register("/api/example/greet", greet, methods=["GET"], auth=True)
    """

@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the ``cvatcore`` command line.

    The one ``register_*`` hook without a ``Register`` callback: click's group already is
    the registry (``@cli.command()``, ``cli.add_command``), and its own errors name clashes.

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
def register_settings(register: Register) -> None:
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
def register_migrations(register: Register) -> None:
    """Add an Alembic versions directory for the plugin's own tables.

    Called: once per application (server, worker and CLI), the first time migrations are
    looked at (``cvatcore db upgrade`` and server start-up).

    Arguments:
        register: ``register(branch_label, versions_path)`` (``cvatcore.hooks.Register``;
            no options). ``versions_path`` is the directory of revision files; the first
            revision sets ``branch_labels`` to ``(branch_label,)`` and ``depends_on`` the core
            revision it needs. All branches are upgraded with ``upgrade heads``. A branch
            label registered twice, or a directory that does not exist, stops start-up.

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
def register_job_kinds(register: Register) -> None:
    """Add kinds of background work (exports, imports, batch inference, deliveries).

    Called: once, synchronously, while the application is built (server, worker and CLI).

    Arguments:
        register: ``register(kind, handler, description=...)`` (``cvatcore.hooks.Register``).
            ``kind`` is a name such as ``"export:backup"``; ``handler(job)`` runs the work in
            a worker thread or a ``cvatcore worker`` process, with ``job.args`` (the JSON
            arguments given when it was queued), ``job.progress(fraction, message)`` to
            report progress, ``job.owner_id`` (who asked) and ``job.id``. Return a dict with
            ``result_id`` and/or ``result_url`` (shown by ``/api/requests/{id}``), or None.
            Raise ``cvatcore.hooks.JobFailed(message)`` for a failure the user should read
            (no retry); any other exception is retried with back-off up to the job's
            attempts, then reported as failed. While the handler runs, a heartbeat renews
            the job's lease; if the worker lost the job (it stalled past the lease and
            another worker took it over) ``job.progress`` and ``job.check()`` raise, and
            ``job.guard(session)``, called in the transaction of the handler's final
            writes, makes them commit only while this worker holds the job; let those
            exceptions propagate. A job may run again after a worker died mid-way: make
            handlers idempotent. A kind registered twice stops start-up.

            Queue work of a kind from a route (``request.enqueue(kind, args)``) or a domain
            subscriber (``cvatcore.hooks.enqueue(connection, kind, args)``).

    Returns:
        Nothing.

    Example::

        @hookimpl
        def register_job_kinds(register):
            register("export:my-format", export_my_format)
    """
