"""Reading validated settings from a plugin: its own ``[plugins.<name>]`` section and the
options of a provider, without importing cvatcore's configuration code.

Inside a ``cvatcore`` command (one added with ``register_commands``) call them with no
``where``: the settings are those of the running command (``--config``, ``$CVATCORE_CONFIG``,
the environment), loaded and validated on first use; a problem ends the command with a
message, as cvatcore's own commands do. In a route, a job or ``startup``, pass the request or
application: the values come from what the server validated at start-up.

Example::

    @hookimpl
    def register_commands(cli):
        @cli.command("example-hello")
        def example_hello():
            click.echo(plugin_settings("example").greeting)
"""

from __future__ import annotations

from typing import Any

#: Where the running ``cvatcore`` command keeps its settings (``click.Context.meta``).
CONTEXT_KEY = "cvatcore.settings"


def _source(where: Any) -> Any:
    """The object that answers (the core's settings access), from a request, an application,
    an application state or, with ``where`` None, the running ``cvatcore`` command."""
    if where is None:
        import click

        context = click.get_current_context(silent=True)
        source = context.find_root().meta.get(CONTEXT_KEY) if context is not None else None
        if source is None:
            raise RuntimeError("no cvatcore command is running: pass the request or app")
        return source
    app = getattr(where, "app", where)  # a Starlette request has .app
    state = getattr(getattr(app, "state", None), "cvatcore", None)
    return state if state is not None else where


def plugin_settings(name: str, where: Any = None) -> Any:
    """The validated ``[plugins.<name>]`` section: an instance of the model the plugin
    registered with ``register_settings`` (its defaults when the file has no such table)."""
    return _source(where).plugin_settings_section(name)


def provider_config(kind: str, name: str, where: Any = None) -> Any:
    """The validated options of provider ``name`` of ``kind`` (``"storage"``, ``"auth"``,
    ``"events"``, ``"webhooks"``, ``"inference"``) as written in the settings
    (``[auth.options.ldap]``): an instance of its ``config_model``, or ``None`` when the
    settings have no options for it."""
    return _source(where).provider_config(kind, name)
