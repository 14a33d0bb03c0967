"""Filters are escaped, empty passwords never bind, and the bind password stays secret (logs,
``cvatcore config check``, ``repr``, error messages)."""

from __future__ import annotations

import json
import logging

import cvatcore_ldap
import pytest
from cvatcore_ldap import LdapBackend, LdapConfig
from cvatcore_ldap.testing import AD_SERVICE, password_of, write_settings

from cvatcore.hooks import AuthUnavailableError
from cvatcore.hooks.testing import invoke_cli

PLUGIN = (cvatcore_ldap, "ldap")
BIND_PASSWORD = AD_SERVICE[1]


@pytest.mark.parametrize("username", [
    "*", "a*", "alic*", "*)(sAMAccountName=*", ")(sAMAccountName=*",
    "admin)(|(sAMAccountName=*", "alice)(|(sAMAccountName=*", "alice)(objectClass=*",
])
def test_filter_metacharacters_match_nothing(ad_backend, no_accounts, username):
    # "a*" and "alic*" would find exactly alice if the name reached the filter unescaped,
    # and her password would then bind.
    assert ad_backend.authenticate(username, password_of("alice"), no_accounts) is None
    assert ad_backend.inspect(username).user is None


@pytest.mark.parametrize("username", ["*", "j*", "jud*", ")(uid=*", "admin)(|(uid=*",
                                      "judy)(|(uid=*", "*)(uid=judy"])
def test_filter_metacharacters_match_nothing_in_freeipa(ipa_backend, no_accounts, username):
    assert ipa_backend.authenticate(username, password_of("judy"), no_accounts) is None
    assert ipa_backend.inspect(username).user is None


@pytest.mark.parametrize("username", ["alice\x00", "\x00", "al\x00*", "alice\n", "", "  ",
                                      "a" * 257])
def test_nul_control_characters_and_over_long_names_are_refused_before_any_search(
    slapd, no_accounts, dead_uri, username
):
    # The server is down: reaching it would raise AuthUnavailableError instead of None.
    offline = LdapBackend(LdapConfig(**slapd.ad_options(server_uris=[dead_uri])))
    assert offline.authenticate(username, password_of("alice"), no_accounts) is None
    with pytest.raises(ValueError, match="not a valid user name"):
        offline.inspect(username)


@pytest.mark.parametrize("login", ["alice", "judy"])
def test_empty_password_never_binds(ad_backend, ipa_backend, no_accounts, login):
    backend = ad_backend if login == "alice" else ipa_backend
    assert backend.authenticate(login, "", no_accounts) is None


def test_bind_password_never_reaches_the_logs(slapd, no_accounts, dead_uri, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    backend = LdapBackend(LdapConfig(**slapd.ad_options()))
    for login, password in [("alice", password_of("alice")), ("alice", "wrong-pass"),
                            ("dave", password_of("dave")), ("nobody", "x-pass")]:
        backend.authenticate(login, password, no_accounts)
    for broken in [{"server_uris": [dead_uri]},
                   {"bind_password": BIND_PASSWORD + "-but-wrong"}]:
        with pytest.raises(AuthUnavailableError) as caught:
            LdapBackend(LdapConfig(**slapd.ad_options(**broken))).authenticate(
                "alice", password_of("alice"), no_accounts)
        assert BIND_PASSWORD not in str(caught.value)
    logged = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "LDAP sign-in refused" in logged and "did not answer" in logged
    assert BIND_PASSWORD not in logged and password_of("alice") not in logged
    assert BIND_PASSWORD not in repr(backend) and BIND_PASSWORD not in repr(backend.config)


@pytest.mark.parametrize("given_as", ["env", "plain"])
def test_config_check_masks_the_bind_password(slapd, tmp_path, given_as):
    secret = {"$env": "TEST_LDAP_BIND_PW"} if given_as == "env" else BIND_PASSWORD
    config = write_settings(tmp_path / "cvatcore.toml", tmp_path / "data",
                            slapd.ad_options(bind_password=secret))
    result = invoke_cli(["config", "check"], plugins=[PLUGIN],
                        env={"CVATCORE_CONFIG": str(config), "TEST_LDAP_BIND_PW": BIND_PASSWORD})
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["auth"]["backends"] == ["ldap", "local"]
    assert shown["auth"]["options"]["ldap"]["bind_password"] == "********"
    assert BIND_PASSWORD not in result.stdout + result.stderr


def test_invalid_options_are_reported_without_the_password(slapd, tmp_path):
    config = write_settings(tmp_path / "cvatcore.toml", tmp_path / "data",
                            slapd.ad_options(server_uris=["http://wrong"], start_tls="maybe"))
    result = invoke_cli(["config", "check"], plugins=[PLUGIN],
                        env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 1
    assert "server_uris" in result.stderr and "start_tls" in result.stderr
    assert BIND_PASSWORD not in result.stdout + result.stderr
