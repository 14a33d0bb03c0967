"""The public surface for cvatcore plugin authors.

A plugin is a module (or package) of ``@hookimpl`` functions, advertised through the
``cvatcore`` entry-point group::

    [project.entry-points.cvatcore]
    example = "cvatcore_example"

Every hook is declared, with its documentation, in one module per area:
``cvatcore.hooks.storage``, ``auth``, ``events``, ``webhooks``, ``inference``, ``lifecycle``
and ``datasets``.
Every ``register_*`` hook but ``register_commands`` receives the same ``Register`` callback,
``register(name, value, /, **options)``. Routes the core runs for a plugin receive a
``RouteRequest``; ``enqueue`` queues a background job inside the caller's transaction.
``cvatcore.hooks.settings`` reads a plugin's validated settings; ``cvatcore.hooks.testing`` is
the testing kit (pytest fixtures and the contract tests every provider passes). Nothing else
of cvatcore is meant for plugins.
"""

from cvatcore.hooks.fsspec_storage import FsspecStorage
from cvatcore.hooks.inference_types import (
    FunctionNotFoundError,
    InferenceError,
    InferenceRejectedError,
    InferenceTimeoutError,
    InferenceUnavailableError,
)
from cvatcore.hooks.jobs import enqueue
from cvatcore.hooks.markers import PROJECT_NAME, hookimpl, hookspec
from cvatcore.hooks.routes import RequestUser, RouteRequest
from cvatcore.hooks.types import (
    EVENT_FIELDS,
    AccountStore,
    AuthBackend,
    AuthUnavailableError,
    DeliveryResult,
    DomainEvent,
    EmptyConfig,
    EventQuery,
    EventSink,
    Identity,
    InferenceBackend,
    JobFailed,
    ListingPage,
    ObjectInfo,
    OutboundRequest,
    ProviderConfig,
    Register,
    StoragePathError,
    StorageProvider,
    StorageStatus,
    StorageUnavailableError,
    WebhookTransport,
    event_timestamp,
)

__all__ = [
    "PROJECT_NAME",
    "AccountStore",
    "AuthBackend",
    "AuthUnavailableError",
    "DeliveryResult",
    "DomainEvent",
    "EmptyConfig",
    "EVENT_FIELDS",
    "EventQuery",
    "EventSink",
    "Identity",
    "InferenceBackend",
    "JobFailed",
    "ListingPage",
    "ObjectInfo",
    "OutboundRequest",
    "ProviderConfig",
    "Register",
    "RequestUser",
    "RouteRequest",
    "FsspecStorage",
    "FunctionNotFoundError",
    "InferenceError",
    "InferenceRejectedError",
    "InferenceTimeoutError",
    "InferenceUnavailableError",
    "StoragePathError",
    "StorageProvider",
    "StorageStatus",
    "StorageUnavailableError",
    "WebhookTransport",
    "enqueue",
    "event_timestamp",
    "hookimpl",
    "hookspec",
    "SPEC_MODULES",
]

#: The modules that declare hook specs, in the order the plugin manager adds them.
SPEC_MODULES = (
    "cvatcore.hooks.storage",
    "cvatcore.hooks.auth",
    "cvatcore.hooks.events",
    "cvatcore.hooks.webhooks",
    "cvatcore.hooks.inference",
    "cvatcore.hooks.lifecycle",
    "cvatcore.hooks.datasets",
)
