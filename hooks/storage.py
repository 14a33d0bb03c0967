"""Hook specs for storage providers (local directories, S3, Azure Blob, GCS, Google Drive)."""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_storage_providers(register: Register) -> None:
    """Add storage providers that operators can name in ``[storage]`` and cloud storages.

    Called: once, synchronously, while the application is built (server, worker and CLI alike),
    before any request is served.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``. ``name`` is
            the provider's registry name (``"local"``, ``"s3"``); ``factory(config)`` receives
            an instance of ``config_model`` and returns an object that follows
            ``cvatcore.hooks.StorageProvider``.

    Returns:
        Nothing; providers are added only through ``register``. A name registered twice, by
        any two plugins, stops start-up with an error naming both.

    Example::

        @hookimpl
        def register_storage_providers(register):
            register("s3", S3Storage, config_model=S3Config, description="Amazon S3 and compatible")
    """
