"""cvatcore's testing kit, for plugin authors and for the core's own suite.

Installed as the pytest plugin ``cvatcore`` (entry point ``pytest11``), it provides fixtures
(``cvatcore_settings``, ``cvatcore_app``, ``cvatcore_client``, ``register_plugin``,
``make_user``), helpers (``test_settings``, ``build_test_app``, ``invoke_cli``) and one
contract class per provider kind (``cvatcore.hooks.testing.contracts``): subclass it in your
plugin's tests and supply the fixture it names. ``cvatcore.hooks.testing.images`` makes
frames for inference backends (``face_png()``, which the built-in face detector finds).
``cvatcore.hooks.testing.live.serve_with_admin`` runs a real ``cvatcore serve`` with an
administrator (end-to-end tests through cvat-sdk, cvat-cli or HTTP);
``cvatcore.hooks.testing.httpd.serve_http`` serves a stand-in's HTTP handler on 127.0.0.1.

Loading the plugin changes nothing in the test process and imports no optional package
(``httpx2``, ``psycopg``, ...); a test suite turns on what it wants in its pytest settings:

``cvatcore_postgres = true`` (ini) or ``--cvatcore-postgres`` (command line)
    Run every case that uses a database on a fresh PostgreSQL database too (the server in
    ``$CVATCORE_TEST_POSTGRES``, default ``postgresql+psycopg://postgres@127.0.0.1:5432/postgres``,
    needs ``cvatcore[postgres]``). Without it those cases are deselected; with it, a server
    that cannot be reached fails them (never a silent skip).
``cvatcore_cheap_password_hashes = true`` (ini)
    Hash passwords with argon2's lowest cost in this test process (suites that create
    hundreds of accounts).

``ApiClient`` (an in-process HTTP client) needs Starlette's test client, i.e. ``httpx2``:
``pip install cvatcore[test]`` or add ``httpx2`` to your plugin's test extra.
"""

from typing import Any

from cvatcore.hooks.testing.databases import postgres_database, sqlite_url
from cvatcore.hooks.testing.env import environ
from cvatcore.hooks.testing.harness import build_test_app, invoke_cli, test_settings

__all__ = [
    "ApiClient",
    "build_test_app",
    "environ",
    "invoke_cli",
    "postgres_database",
    "sqlite_url",
    "test_settings",
]


def __getattr__(name: str) -> Any:
    if name == "ApiClient":  # imports httpx2: only when a test asks for it
        from cvatcore.hooks.testing.client import ApiClient

        return ApiClient
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
