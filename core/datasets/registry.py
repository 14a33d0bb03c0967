"""The dataset formats registered through ``register_dataset_formats``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pluggy

from cvatcore.core.registration import PluginError, check_unique, registrations_of
from cvatcore.hooks.datasets import DatasetFormat


@dataclass(frozen=True)
class Formats:
    """Format name -> ``DatasetFormat``, with the exporters and importers among them."""

    all: dict[str, DatasetFormat]

    def exporter(self, name: str) -> DatasetFormat | None:
        fmt = self.all.get(name)
        return fmt if fmt is not None and fmt.exporter is not None else None

    def importer(self, name: str) -> DatasetFormat | None:
        fmt = self.all.get(name)
        return fmt if fmt is not None and fmt.importer is not None else None

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        """``GET /api/server/annotation/formats``: ``{"importers": [...], "exporters": [...]}``."""
        def entry(name: str, fmt: DatasetFormat) -> dict[str, Any]:
            return {"name": name, "ext": fmt.ext, "version": fmt.version,
                    "enabled": fmt.enabled, "dimension": fmt.dimension}

        names = sorted(self.all, key=str.lower)
        return {
            "importers": [entry(n, self.all[n]) for n in names if self.all[n].importer],
            "exporters": [entry(n, self.all[n]) for n in names if self.all[n].exporter],
        }


def collect_formats(pm: pluggy.PluginManager) -> Formats:
    """The formats, from the hook's one call (kept on the plugin manager's registrations)."""
    registrations = registrations_of(pm)
    found = getattr(registrations, "dataset_formats", None)
    if found is not None:
        return found
    regs = registrations.of("register_dataset_formats")
    # A ``fallback=True`` registration gives way to one of the same name without it (a
    # plugin offering a library's copy of a format the core writes itself); two of either
    # kind for one name still stop start-up.
    firm = {reg.name for reg in regs if not reg.options.get("fallback")}
    regs = [reg for reg in regs if not reg.options.get("fallback") or reg.name not in firm]
    check_unique(regs, "dataset format {key!r}", pm)
    for reg in regs:
        if not isinstance(reg.value, DatasetFormat):
            raise PluginError(f"dataset format {reg.name!r} from {reg.plugin}: the value must "
                              "be a cvatcore.hooks.datasets.DatasetFormat")
    found = Formats({reg.name: reg.value for reg in regs})
    registrations.dataset_formats = found  # type: ignore[attr-defined]
    return found
