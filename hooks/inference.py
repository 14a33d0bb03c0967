"""Hook specs for inference backends that run automatic-annotation functions."""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_inference_backends(register: Register) -> None:
    """Add inference backends (model servers) that ``/api/lambda`` functions run on.

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``
            (``cvatcore.hooks.Register``): ``config_model`` is a ``ProviderConfig`` subclass
            (``EmptyConfig`` by default), ``description`` is shown by ``cvatcore plugins``.
            ``factory(config)`` returns an object that follows
            ``cvatcore.hooks.InferenceBackend``. Operators enable backends with
            ``[inference] backends = [...]``.

    Returns:
        Nothing; backends are added only through ``register``. Duplicate names stop start-up.

    Example::

        @hookimpl
        def register_inference_backends(register):
            register("nuclio", NuclioBackend, config_model=NuclioConfig)
    """
