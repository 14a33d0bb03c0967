"""TLS (StartTLS and LDAPS, certificate checks), fail-over, and what a down or hung server,
or a refused service account, does: ``AuthUnavailableError`` (503), quickly."""

from __future__ import annotations

import logging
import time

import pytest
from cvatcore_ldap import LdapBackend, LdapConfig
from cvatcore_ldap.testing import password_of

from cvatcore.hooks import AuthUnavailableError


def backend(slapd, **options):
    return LdapBackend(LdapConfig(**slapd.ad_options(**options)))


def bob(backend_, no_accounts):
    return backend_.authenticate("bob", password_of("bob"), no_accounts)


@pytest.mark.parametrize("mode", ["start_tls", "ldaps"])
def test_tls_with_the_ca_file_signs_in(slapd, no_accounts, mode):
    options = ({"start_tls": True} if mode == "start_tls"
               else {"server_uris": [slapd.ldaps_uri]})
    tls = backend(slapd, ca_file=str(slapd.ca_file), **options)
    assert bob(tls, no_accounts).groups == ["worker"]
    assert tls.inspect("bob").server == tls.config.server_uris[0]


@pytest.mark.parametrize("mode", ["start_tls", "ldaps"])
@pytest.mark.parametrize("ca", ["untrusted", "system"])
def test_a_certificate_that_fails_validation_is_refused(slapd, no_accounts, mode, ca):
    options = ({"start_tls": True} if mode == "start_tls"
               else {"server_uris": [slapd.ldaps_uri]})
    if ca == "untrusted":  # another self-signed certificate than the server's
        options["ca_file"] = str(slapd.untrusted_ca_file)
    with pytest.raises(AuthUnavailableError, match="certificate verify failed"):
        bob(backend(slapd, **options), no_accounts)


def test_a_certificate_for_another_host_name_is_refused(slapd, no_accounts):
    # The certificate names IP 127.0.0.1 only; "localhost" reaches the same server.
    elsewhere = slapd.ldaps_uri.replace("127.0.0.1", "localhost")
    with pytest.raises(AuthUnavailableError, match="Hostname mismatch"):
        bob(backend(slapd, server_uris=[elsewhere], ca_file=str(slapd.ca_file)), no_accounts)


def test_certificate_checks_can_be_turned_off_explicitly(slapd, no_accounts):
    lax = backend(slapd, server_uris=[slapd.ldaps_uri], ca_file=str(slapd.untrusted_ca_file),
                  validate_certificate=False)
    assert bob(lax, no_accounts) is not None


def test_fail_over_to_the_second_server_and_remember_the_first_is_down(
    slapd, no_accounts, dead_uri, caplog
):
    pool = backend(slapd, server_uris=[dead_uri, slapd.ldap_uri])
    with caplog.at_level(logging.WARNING, logger="cvatcore.ldap"):
        assert bob(pool, no_accounts).groups == ["worker"]
        assert bob(pool, no_accounts).groups == ["worker"]
    down = [r for r in caplog.records if "did not answer" in r.getMessage()]
    # The dead server was tried once; the second sign-in went straight to the live one.
    assert len(down) == 1 and dead_uri in down[0].getMessage()


def test_fail_over_is_by_order_when_both_answer(slapd, no_accounts):
    pool = backend(slapd, server_uris=[slapd.ldaps_uri, slapd.ldap_uri],
                   ca_file=str(slapd.ca_file))
    assert pool.inspect("bob").server == slapd.ldaps_uri


def test_down_server_is_unavailable_not_a_wrong_password(slapd, no_accounts, dead_uri):
    with pytest.raises(AuthUnavailableError, match="no LDAP server answered") as caught:
        bob(backend(slapd, server_uris=[dead_uri]), no_accounts)
    assert dead_uri in str(caught.value) and "Connection refused" in str(caught.value)


def test_hung_server_times_out(slapd, no_accounts, silent_uri):
    hung = backend(slapd, server_uris=[silent_uri], receive_timeout=1)
    started = time.monotonic()
    with pytest.raises(AuthUnavailableError, match=silent_uri):
        bob(hung, no_accounts)
    assert time.monotonic() - started < 5


def test_refused_service_account_is_unavailable_and_does_not_echo_the_password(
    slapd, no_accounts
):
    wrong = "not-the-service-password-77"
    with pytest.raises(AuthUnavailableError, match="refused the service account") as caught:
        bob(backend(slapd, bind_password=wrong), no_accounts)
    assert "invalidCredentials" in str(caught.value) and wrong not in str(caught.value)
