"""``cvatcore ldap test USERNAME``: what the backend would do for a user, without signing in."""

from __future__ import annotations

import click

from cvatcore.hooks import AuthUnavailableError
from cvatcore.hooks.settings import provider_config
from cvatcore_ldap.backend import Inspection, LdapBackend
from cvatcore_ldap.config import LdapConfig


def load_config() -> LdapConfig:
    """``[auth.options.ldap]`` of the settings this ``cvatcore`` command runs with, validated
    by the core against ``LdapConfig`` (invalid options end the command with the problems)."""
    config = provider_config("auth", "ldap")
    if config is None:
        raise click.ClickException(
            'LDAP is not configured: add "ldap" to [auth] backends and its options under '
            "[auth.options.ldap]"
        )
    return config


def describe(report: Inspection, config: LdapConfig) -> list[str]:
    """The lines ``cvatcore ldap test`` prints for a user it found."""
    user, decision = report.user, report.decision
    assert user is not None and decision is not None
    name = " ".join(p for p in (user.first_name, user.last_name) if p)
    lines = [
        f"server:    {report.server}",
        f"dn:        {user.dn}",
        f"username:  {user.username}",
        f"name:      {name or '-'}" + (f" <{user.email}>" if user.email else ""),
        f"locked:    {'yes' if user.locked else 'no'}",
        f"groups:    {len(report.groups)} (nested: {report.nested})",
        *(f"  - {dn}" for dn in report.groups),
        f"roles:     {', '.join(decision.roles)}"
        + (" (superuser)" if decision.superuser else "")
        + (" (default role: no mapped group)" if decision.default else ""),
    ]
    if config.required_group:
        lines.append(f"required:  {config.required_group}: "
                     f"{'member' if decision.allowed else 'NOT a member'}")
    if user.locked:
        verdict = "refused (account locked)"
    elif not decision.allowed:
        verdict = "refused (not in the required group)"
    else:
        verdict = f"allowed with the right password, as {decision.privilege}"
    lines.append(f"sign-in:   {verdict}")
    return lines


def add_commands(cli: click.Group) -> None:
    @cli.group("ldap")
    def ldap() -> None:
        """LDAP sign-in tools (cvatcore-ldap)."""

    @ldap.command("test")
    @click.argument("username")
    def ldap_test(username: str) -> None:
        """Show the DN, groups and roles USERNAME would get, without a password.

        Only the service account binds; nobody is signed in and nothing is stored.
        """
        config = load_config()
        backend = LdapBackend(config)
        try:
            report = backend.inspect(username)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        except AuthUnavailableError as exc:
            raise click.ClickException(f"LDAP server unavailable: {exc}") from None
        if report.user is None:
            raise click.ClickException(
                f"no user {username!r} in the directory (searched {config.user_search_base!r} "
                f"with {config.user_filter})"
            )
        for line in describe(report, config):
            click.echo(line)
