"""The public surface for cvatcore plugin authors.

A plugin is a module (or package) of ``@hookimpl`` functions, advertised through the
``cvatcore`` entry-point group::

    [project.entry-points.cvatcore]
    example = "cvatcore_example"

Every hook is declared, with its documentation, in one module per area:
``cvatcore.hooks.storage``, ``auth``, ``events``, ``webhooks``, ``inference`` and ``lifecycle``.
``cvatcore.hooks.settings`` reads a plugin's validated settings; ``cvatcore.hooks.testing`` is
the testing kit (pytest fixtures and the contract tests every provider passes). Nothing else
of cvatcore is meant for plugins.
"""

from cvatcore.hooks.fsspec_storage import FsspecStorage
from cvatcore.hooks.markers import PROJECT_NAME, hookimpl, hookspec
from cvatcore.hooks.types import (
    AccountStore,
    AuthBackend,
    AuthUnavailableError,
    DeliveryResult,
    DomainEvent,
    EmptyConfig,
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
)

__all__ = [
    "PROJECT_NAME",
    "AccountStore",
    "AuthBackend",
    "AuthUnavailableError",
    "DeliveryResult",
    "DomainEvent",
    "EmptyConfig",
    "EventSink",
    "Identity",
    "InferenceBackend",
    "JobFailed",
    "ListingPage",
    "ObjectInfo",
    "OutboundRequest",
    "ProviderConfig",
    "Register",
    "FsspecStorage",
    "StoragePathError",
    "StorageProvider",
    "StorageStatus",
    "StorageUnavailableError",
    "WebhookTransport",
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
)
