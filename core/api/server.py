"""``/api/server/*`` (what CVAT clients probe) and ``/api/plugins`` (cvatcore's own)."""

from __future__ import annotations

from starlette.responses import Response

from cvatcore.core import __version__
from cvatcore.core.api.context import Ctx
from cvatcore.core.api.responses import JSON
from cvatcore.core.api.routing import Op
from cvatcore.core.plugins import describe_plugins

# The CVAT REST API level cvatcore speaks; cvat-sdk compares major.minor with its own.
CVAT_API_VERSION = "2.80.0"


def about(ctx: Ctx) -> Response:
    return JSON(
        {
            "name": ctx.state.settings.server.name,
            "description": (
                f"cvatcore {__version__}: a CVAT-compatible server "
                f"(CVAT REST API {CVAT_API_VERSION})"
            ),
            "version": CVAT_API_VERSION,
            "logo_url": "",
            "subtitle": "Powered by cvatcore",
        }
    )


def server_plugins(ctx: Ctx) -> Response:
    settings = ctx.state.settings
    return JSON(
        {
            # CVAT's UI then links to Grafana, which reads an external store (ClickHouse);
            # the built-in sinks ("log", "sql") have no dashboards behind them.
            "analytics": any(s not in ("log", "sql") for s in settings.analytics.sinks),
            "models": bool(settings.inference.backends),
        }
    )


def plugins(ctx: Ctx) -> Response:
    return JSON(describe_plugins(ctx.state.pm, ctx.state.registries))


OPS = [
    Op("GET", "/api/server/about", about, "server_retrieve_about", "server",
       "Basic information about the server", response="About", public=True,
       authenticate=False),
    Op("GET", "/api/server/plugins", server_plugins, "server_retrieve_plugins", "server",
       "Which optional features are on", response="Plugins", public=True),
    Op("GET", "/api/plugins", plugins, "plugins_list", "server",
       "Installed cvatcore plugins, their versions, hooks and providers",
       response="PluginList", public=True, authenticate=False),
]
