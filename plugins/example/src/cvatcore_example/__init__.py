"""cvatcore-example: one small implementation of each kind of hook a plugin usually needs.

cvatcore loads this module through the ``cvatcore`` entry point in ``pyproject.toml`` and
registers it under the name ``example``. Every function marked ``@hookimpl`` implements the
hook spec of the same name in ``cvatcore.hooks``; the plugin imports nothing else from
cvatcore.
"""

from __future__ import annotations

from pathlib import Path

import click
from starlette.requests import Request
from starlette.responses import JSONResponse

from cvatcore.hooks import ProviderConfig, Register, hookimpl
from cvatcore.hooks.settings import plugin_settings
from cvatcore_example.greetings import (
    GREET_JOB,
    create_greeting,
    greeting,
    list_greetings,
    run_greet_job,
)
from cvatcore_example.storage import MemoryStorage, MemoryStorageConfig

#: The Alembic branch this plugin's tables live on (its first revision's ``branch_labels``).
MIGRATION_BRANCH = "cvatcore_example"


class ExampleSettings(ProviderConfig):
    """``[plugins.example]`` in the settings file; unknown keys stop start-up."""

    #: The word the route and the command greet with.
    greeting: str = "Hello"


async def hello(request: Request) -> JSONResponse:
    """``GET /api/example/hello?name=...``: a public JSON endpoint, as a plain Starlette
    endpoint (registered without ``auth``: the core runs it as it is)."""
    name = request.query_params.get("name", "world")
    word = plugin_settings("example", request).greeting
    return JSONResponse({"message": greeting(name, word), "plugin": "cvatcore-example"})


@hookimpl
def register_settings(register: Register) -> None:
    register("example", ExampleSettings)


@hookimpl
def register_routes(register: Register) -> None:
    register("/api/example/hello", hello, methods=["GET"], name="example_hello")
    # auth=True: the core runs these for signed-in users, in one transaction each.
    register("/api/example/greetings", create_greeting, methods=["POST"],
             name="example_create_greeting", auth=True)
    register("/api/example/greetings", list_greetings, methods=["GET"],
             name="example_list_greetings", auth=True)


@hookimpl
def register_job_kinds(register: Register) -> None:
    register(GREET_JOB, run_greet_job, description="Deliver a greeting")


@hookimpl
def register_commands(cli: click.Group) -> None:
    @cli.command("example-hello")
    @click.option("--name", default="world", show_default=True, help="Who to greet.")
    def example_hello(name: str) -> None:
        """Print a greeting (a command added by the cvatcore-example plugin)."""
        click.echo(greeting(name, plugin_settings("example").greeting))


@hookimpl
def register_storage_providers(register: Register) -> None:
    register(
        "example-memory",
        MemoryStorage,
        config_model=MemoryStorageConfig,
        description="In-memory storage (fsspec's MemoryFileSystem); data lasts one process",
    )


@hookimpl
def register_migrations(register: Register) -> None:
    register(MIGRATION_BRANCH, Path(__file__).parent / "migrations")
