"""Hook specs for auth backends (local accounts, LDAP, ...)."""

from cvatcore.hooks.markers import hookspec
from cvatcore.hooks.types import Register


@hookspec
def register_auth_backends(register: Register) -> None:
    """Add auth backends that check a user name and password.

    Called: once, synchronously, while the application is built.

    Arguments:
        register: ``register(name, factory, config_model=..., description=...)``
            (``cvatcore.hooks.Register``): ``config_model`` is a ``ProviderConfig`` subclass
            (``EmptyConfig`` by default), ``description`` is shown by ``cvatcore plugins``.
            ``factory(config)`` returns an object that follows ``cvatcore.hooks.AuthBackend``.
            Operators enable backends by name, in order, with ``[auth] backends = [...]``;
            sign-in asks each one in turn and the first identity returned wins.

    Returns:
        Nothing; backends are added only through ``register``. Duplicate names stop start-up.

    Example::

        @hookimpl
        def register_auth_backends(register):
            register("ldap", LdapBackend, config_model=LdapConfig)
    """
