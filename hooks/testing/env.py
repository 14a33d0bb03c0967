"""Environment switches the kit flips for the duration of a block."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager


@contextmanager
def environ(changes: Mapping[str, str | None]) -> Iterator[None]:
    """Set (or, for ``None``, unset) environment variables for the block, then restore them."""
    saved = {name: os.environ.get(name) for name in changes}
    try:
        _set(changes)
        yield
    finally:
        _set(saved)


def _set(values: Mapping[str, str | None]) -> None:
    for name, value in values.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def no_plugin_autoload() -> contextlib.AbstractContextManager[None]:
    """Build plugin managers that load no installed entry points (only what the test adds)."""
    return environ({"CVATCORE_DISABLE_PLUGIN_AUTOLOAD": "1"})
