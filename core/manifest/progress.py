"""Progress reporting for long manifest runs: nothing by default, a tqdm bar from the CLI."""

from __future__ import annotations

import sys
from typing import Any


class Progress:
    """Told the total once (None when unknown), then how many items were done each time."""

    def start(self, total: int | None) -> None:
        """Called once, before the first ``update``."""

    def update(self, n: int) -> None:
        """``n`` more items are done."""

    def close(self) -> None:
        """The run is over (also after an error)."""


class TqdmProgress(Progress):
    """A tqdm bar on stderr, redrawn at most twice a second."""

    def __init__(self, desc: str = "manifest", enabled: bool = True) -> None:
        self._desc, self._enabled = desc, enabled
        self._bar: Any = None

    def start(self, total: int | None) -> None:
        from tqdm import tqdm

        self._bar = tqdm(total=total, desc=self._desc, unit="item", file=sys.stderr,
                         disable=not self._enabled, mininterval=0.5, dynamic_ncols=True)

    def update(self, n: int) -> None:
        if self._bar is not None:
            self._bar.update(n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
