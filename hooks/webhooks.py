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

            ``send(request)`` gets an ``OutboundRequest`` whose body and headers (CVAT's
            ``X-Signature-256``, the Standard Webhooks ``webhook-*`` headers) are final: send
            the body byte for byte. A transport that connects to the target itself must
            connect to ``request.connect_to`` (the address cvatcore's SSRF guard checked),
            keep the URL's host name for ``Host`` and TLS, and follow no redirect. It runs in
            a worker thread, one request at a time per webhook (cvatcore keeps the order and
            does the retries): return a ``DeliveryResult`` (502 for a connection error, 504
            for a timeout) rather than raising. ``cvatcore.hooks.testing.contracts.
            WebhookTransportContract`` checks an HTTP transport.

    Returns:
        Nothing; transports are added only through ``register``. Duplicate names stop start-up.

    Example::

        @hookimpl
        def register_webhook_transports(register):
            register("sqs", SqsTransport, config_model=SqsConfig)
    """
