"""Hook specs for storage providers (local directories, S3, Azure Blob, GCS, Google Drive)."""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_storage_providers(register: Register) -> None:
    """Add storage providers that operators can name in ``[storage]`` and cloud storages.

    Called: once, synchronously, while the application is built (server, worker and CLI alike),
    before any request is served.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``
            (``cvatcore.hooks.Register``). ``name`` is the provider's registry name
            (``"local"``, ``"s3"``); ``factory(config)`` receives an instance of
            ``config_model`` and returns an object that follows
            ``cvatcore.hooks.StorageProvider``: whole-object and ranged reads, streaming
            ``open_read``/``write_stream`` for objects of any size in flat memory, and no
            path (symlinks and other links included) resolving outside the storage's root.
            ``cvatcore.hooks.FsspecStorage`` provides all of it over an fsspec filesystem;
            ``cvatcore.hooks.testing.contracts.StorageProviderContract`` checks it.

    Returns:
        Nothing; providers are added only through ``register``. A name registered twice, by
        any two plugins, stops start-up with an error naming both.

    Example::

        @hookimpl
        def register_storage_providers(register):
            register("s3", S3Storage, config_model=S3Config, description="Amazon S3 and compatible")
    """


@hookspec
def register_cloud_storage_types(register: Register) -> None:
    """Make a storage provider available as a CVAT cloud storage (``/api/cloudstorages``).

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(provider_type, build_options, provider=..., credentials_types=...)``
            (``cvatcore.hooks.Register``). ``provider_type`` is CVAT's enum value
            (``"AWS_S3_BUCKET"``, ``"AZURE_CONTAINER"``, ``"GOOGLE_CLOUD_STORAGE"``,
            ``"GOOGLE_DRIVE"``). ``build_options(spec)`` turns a
            ``cvatcore.hooks.cloud.CloudStorageSpec`` (resource, credentials type, decrypted
            credentials, specific attributes) into the provider's options (a dict its
            ``config_model`` accepts), raising ``ValueError`` with a message for the user when
            they do not fit. Options: ``provider`` (required) is the storage provider's
            registry name (``"s3"``, see ``register_storage_providers``);
            ``credentials_types`` lists the CVAT credential types it accepts (all by default).

    Returns:
        Nothing. A provider type registered twice stops start-up.

    Example::

        @hookimpl
        def register_cloud_storage_types(register):
            register("AWS_S3_BUCKET", s3_options, provider="s3",
                     credentials_types=("KEY_SECRET_KEY_PAIR", "ANONYMOUS_ACCESS"))
    """
