"""cvatcore-nuclio: Nuclio functions as automatic-annotation functions (``[inference]
backends = ["nuclio"]``), found and invoked through the Nuclio dashboard as CVAT does."""

from cvatcore.hooks import Register, hookimpl
from cvatcore_nuclio.backend import NuclioBackend, NuclioConfig

__all__ = ["NuclioBackend", "NuclioConfig"]


@hookimpl
def register_inference_backends(register: Register) -> None:
    register("nuclio", NuclioBackend, config_model=NuclioConfig,
             description="Nuclio functions through the Nuclio dashboard")
