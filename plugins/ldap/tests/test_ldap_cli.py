"""``cvatcore ldap test USERNAME``: what an operator sees while setting LDAP up."""

from __future__ import annotations

import cvatcore_ldap
import pytest
from cvatcore_ldap.testing import ad_group, ipa_group, write_settings

from cvatcore.hooks.testing import invoke_cli

PLUGIN = (cvatcore_ldap, "ldap")


@pytest.fixture
def ldap_test(tmp_path):
    """``ldap_test(options, "alice")`` runs the command against a settings file."""

    def run(options, *args):
        config = write_settings(tmp_path / "cvatcore.toml", tmp_path / "data", options)
        return invoke_cli(["ldap", "test", *args], plugins=[PLUGIN],
                          env={"CVATCORE_CONFIG": str(config)})

    return run


def test_shows_dn_groups_roles_and_lock_state(slapd, ldap_test, tmp_path):
    result = ldap_test(slapd.ad_options(), "alice")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert f"server:    {slapd.ldap_uri}" in lines
    assert "dn:        cn=Alice Admin,ou=people,dc=ad,dc=test" in lines
    assert "name:      Alice Admin <alice@ad.test>" in lines
    assert "locked:    no" in lines
    assert "  - cn=cvat admins,ou=groups,dc=ad,dc=test" in lines
    assert "roles:     admin (superuser)" in lines
    assert "sign-in:   allowed with the right password, as admin" in lines
    # Only the service account bound: no account appeared in cvatcore's database.
    assert not (tmp_path / "data" / "cvatcore.db").exists()


def test_nested_groups_are_listed(slapd, ldap_test):
    result = ldap_test(slapd.ad_options(), "carol")
    assert result.exit_code == 0, result.output
    assert "groups:    3 (nested: iterative)" in result.stdout
    for group in ("cn=team rocket", "cn=Engineering", "cn=CVAT Users"):
        assert f"  - {group},ou=groups,dc=ad,dc=test" in result.stdout
    assert "roles:     user\n" in result.stdout


def test_locked_account_is_reported(slapd, ldap_test):
    result = ldap_test(slapd.ipa_options(), "mallory")
    assert result.exit_code == 0, result.output
    assert "locked:    yes" in result.stdout
    assert "sign-in:   refused (account locked)" in result.stdout


def test_default_role_and_missing_required_group_are_explained(slapd, ldap_test):
    options = slapd.ipa_options(required_group=ipa_group("cvat-access"))
    result = ldap_test(options, "oliver")
    assert result.exit_code == 0, result.output
    assert "roles:     user (default role: no mapped group)" in result.stdout
    assert f"required:  {ipa_group('cvat-access')}: NOT a member" in result.stdout
    assert "sign-in:   refused (not in the required group)" in result.stdout


def test_unknown_user_is_a_clear_error(slapd, ldap_test):
    result = ldap_test(slapd.ad_options(), "nobody")
    assert result.exit_code == 1
    assert "no user 'nobody' in the directory (searched 'dc=ad,dc=test'" in result.stderr


def test_server_down_is_a_clear_error(slapd, ldap_test, dead_uri):
    result = ldap_test(slapd.ad_options(server_uris=[dead_uri]), "alice")
    assert result.exit_code == 1
    assert f"LDAP server unavailable: no LDAP server answered: {dead_uri}" in result.stderr
    assert "Connection refused" in result.stderr


def test_without_ldap_settings_it_says_what_to_add(tmp_path):
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n')
    result = invoke_cli(["ldap", "test", "alice"], plugins=[PLUGIN],
                        env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 1
    assert 'add "ldap" to [auth] backends' in result.stderr


def test_group_mapping_changes_show_up(slapd, ldap_test):
    options = slapd.ad_options(role_groups={"business": [ad_group("Engineering")]})
    result = ldap_test(options, "carol")
    assert "roles:     business\n" in result.stdout


def test_invalid_ldap_options_are_named(tmp_path):
    config = tmp_path / "cvatcore.toml"
    config.write_text(f'[server]\ndata_dir = "{tmp_path}"\n[auth]\nbackends = ["ldap", "local"]\n'
                      '[auth.options.ldap]\nserver_urls = ["ldap://x"]\n')
    result = invoke_cli(["ldap", "test", "alice"], plugins=[PLUGIN],
                        env={"CVATCORE_CONFIG": str(config)})
    assert result.exit_code == 1
    assert "Error: [auth.options.ldap]: invalid options" in result.stderr
    assert "set base_dn" in result.stderr
