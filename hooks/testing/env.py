"""Environment switches the kit flips for the duration of a block."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def no_plugin_autoload() -> Iterator[None]:
    """Build plugin managers that load no installed entry points (only what the test adds)."""
    saved = os.environ.get("CVATCORE_DISABLE_PLUGIN_AUTOLOAD")
    os.environ["CVATCORE_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CVATCORE_DISABLE_PLUGIN_AUTOLOAD", None)
        else:
            os.environ["CVATCORE_DISABLE_PLUGIN_AUTOLOAD"] = saved
