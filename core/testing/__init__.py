"""cvatcore's testing kit, for the core's own suite and for plugin authors.

Installed as the pytest plugin ``cvatcore`` (entry point ``pytest11``), it provides fixtures
(``cvatcore_settings``, ``cvatcore_app``, ``cvatcore_client``, ``register_plugin``,
``make_user``), helpers (``test_settings``, ``build_test_app``, ``invoke_cli``) and one
contract class per provider kind (``cvatcore.core.testing.contracts``): subclass it in your
plugin's tests and supply the fixture it names.
"""

from cvatcore.core.testing.databases import postgres_database, sqlite_url
from cvatcore.core.testing.harness import (
    ApiClient,
    build_test_app,
    environ,
    invoke_cli,
    test_settings,
)

__all__ = [
    "ApiClient",
    "build_test_app",
    "environ",
    "invoke_cli",
    "postgres_database",
    "sqlite_url",
    "test_settings",
]
