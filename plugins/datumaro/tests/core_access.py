"""The only place these tests reach into the core (``cvatcore.core``), lazily: the plugin's
copies of the core's formats are checked against the core's own writers and readers, and
its fallback registrations against the core's format registry. Nothing here is part of what
the plugin itself uses (it imports ``cvatcore.hooks`` only)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any


def formats(*plugins: tuple[object, str]) -> Any:
    """The formats a plugin manager with the built-ins and ``plugins`` registers (no app, no
    database: the rule lives in the format registry)."""
    from cvatcore.core.datasets.registry import collect_formats
    from cvatcore.core.plugins import make_plugin_manager
    from cvatcore.hooks.testing.env import no_plugin_autoload

    with no_plugin_autoload():
        pm = make_plugin_manager(extra_plugins=plugins)
    return collect_formats(pm)


def plugin_error() -> type[Exception]:
    """The error that stops start-up on a plugin problem."""
    from cvatcore.core.registration import PluginError

    return PluginError


def archive_roundtrip(exporter: Callable[..., None], dataset: Any,
                      importer: Callable[..., Any], context: Any) -> Any:
    """``exporter(dataset)`` into a zip through the core's archive writer, read back by
    ``importer`` through the core's archive reader, as an export and import job do."""
    from cvatcore.core.datasets.archive import ZipArchiveWriter, open_upload

    buf = io.BytesIO()
    writer = ZipArchiveWriter(buf)
    exporter(dataset, writer)
    writer.close()
    buf.seek(0)
    return importer(open_upload(buf, "x.zip"), context)
