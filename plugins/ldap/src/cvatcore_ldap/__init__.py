"""cvatcore-ldap: sign in with an LDAP directory (Active Directory, FreeIPA, OpenLDAP).

Registers the auth backend ``ldap`` (enable it with ``[auth] backends = ["ldap", "local"]``
and configure it under ``[auth.options.ldap]``) and the ``cvatcore ldap test`` command.
"""

from __future__ import annotations

import click

from cvatcore.hooks import Register, hookimpl
from cvatcore_ldap import _compat  # noqa: F401  (first: imports ldap3 quietly)
from cvatcore_ldap.backend import LdapBackend
from cvatcore_ldap.cli import add_commands
from cvatcore_ldap.config import LdapConfig

__all__ = ["LdapBackend", "LdapConfig"]


@hookimpl
def register_auth_backends(register: Register) -> None:
    register("ldap", LdapBackend, config_model=LdapConfig,
             description="LDAP directory: Active Directory, FreeIPA, OpenLDAP")


@hookimpl
def register_commands(cli: click.Group) -> None:
    add_commands(cli)
