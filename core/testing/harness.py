"""Building a test application and talking to it in-process."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.testclient import TestClient

from cvatcore.core.app import create_app
from cvatcore.core.config import Settings, load_settings
from cvatcore.core.plugins import make_plugin_manager
from cvatcore.core.state import AppState


def test_settings(data_dir: Path, database_url: str | None = None, **sections: Any) -> Settings:
    """Settings for a test: data under ``data_dir``, no config file, no autoloaded plugins."""
    server = {"data_dir": str(data_dir), **sections.pop("server", {})}
    database = dict(sections.pop("database", {}))
    if database_url:
        database["url"] = database_url
    storage = sections.pop("storage", {"options": {"local": {"root": str(data_dir / "share")}}})
    return load_settings(None, server=server, database=database, storage=storage, **sections)


def build_test_app(
    settings: Settings, plugins: Iterable[tuple[object, str]] = (), autoload: bool = False
) -> Starlette:
    """An application with ``plugins`` registered on top of the built-ins."""
    import os

    saved = os.environ.get("CVATCORE_DISABLE_PLUGIN_AUTOLOAD")
    if not autoload:
        os.environ["CVATCORE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        pm = make_plugin_manager(
            settings.plugins.disabled, settings.plugins.required, extra_plugins=plugins
        )
    finally:
        if saved is None:
            os.environ.pop("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["CVATCORE_DISABLE_PLUGIN_AUTOLOAD"] = saved
    return create_app(state=AppState.build(settings, pm))


class ApiClient(TestClient):
    """A TestClient that signs in like CVAT's clients (session cookie plus CSRF header)."""

    def login(self, username: str, password: str) -> dict[str, Any]:
        response = self.post("/api/auth/login", json={"username": username, "password": password})
        assert response.status_code == 200, response.text
        self.headers["X-CSRFToken"] = self.cookies["csrftoken"]
        return response.json()

    def logout(self) -> None:
        self.post("/api/auth/logout")
        self.cookies.clear()
        self.headers.pop("X-CSRFToken", None)
