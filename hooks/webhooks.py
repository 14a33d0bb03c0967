"""Hook specs for webhook transports."""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_webhook_transports(register: Register) -> None:
    """Add transports that carry webhook deliveries to their targets.

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``
            (``cvatcore.hooks.Register``): ``config_model`` is a ``ProviderConfig`` subclass
            (``EmptyConfig`` by default), ``description`` is shown by ``cvatcore plugins``.
            ``factory(config)`` returns an object that follows
            ``cvatcore.hooks.WebhookTransport``. Operators pick one with
            ``[webhooks] transport = "<name>"``; the built-in one is ``"http"``.

    Returns:
        Nothing; transports are added only through ``register``. Duplicate names stop start-up.

    Example::

        @hookimpl
        def register_webhook_transports(register):
            register("sqs", SqsTransport, config_model=SqsConfig)
    """
