"""The ``[auth.options.ldap]`` model and the group-to-role rules (no server needed)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from cvatcore_ldap.config import LdapConfig
from cvatcore_ldap.roles import RoleMapper, normalize_dn
from cvatcore_ldap.testing import SlapdError, find_tool
from pydantic import ValidationError

from cvatcore.core.config import load_settings

SERVER = {"server_uris": ["ldaps://dc1.corp.example", "ldaps://dc2.corp.example"]}


def test_active_directory_preset_fills_the_usual_layout():
    config = LdapConfig(preset="active_directory", base_dn="dc=corp,dc=example", **SERVER)
    assert config.attributes.username == "sAMAccountName"
    assert "(sAMAccountName={username})" in config.user_filter
    assert "(userPrincipalName={username})" in config.user_filter
    assert config.user_search_base == config.group_search_base == "dc=corp,dc=example"
    assert (config.group_source, config.nested_groups) == ("member_of", "auto")
    assert config.validate_certificate is True


def test_freeipa_preset_uses_the_accounts_containers():
    config = LdapConfig(preset="freeipa", base_dn="dc=ipa,dc=example", **SERVER)
    assert config.user_search_base == "cn=users,cn=accounts,dc=ipa,dc=example"
    assert config.group_search_base == "cn=groups,cn=accounts,dc=ipa,dc=example"
    assert config.attributes.username == "uid"
    assert config.group_source == "member_of"


def test_explicit_settings_win_over_the_preset():
    config = LdapConfig(
        preset="freeipa", base_dn="dc=ipa,dc=example", user_search_base="ou=staff,dc=x",
        attributes={"email": "workEmail"}, **SERVER,
    )
    assert config.user_search_base == "ou=staff,dc=x"
    assert (config.attributes.username, config.attributes.email) == ("uid", "workEmail")


@pytest.mark.parametrize(("options", "complaint"), [
    ({"preset": "freeipa"}, "set base_dn"),
    ({"base_dn": "dc=x", "start_tls": True,
      "server_uris": ["ldaps://dc1.x"]}, "start_tls is for ldap://"),
    ({"base_dn": "dc=x", "server_uris": ["http://dc1.x"]}, "ldap://host"),
    ({"base_dn": "dc=x", "server_uris": []}, "at least 1 item"),
    ({"base_dn": "dc=x", "user_filter": "(uid=alice)"}, "must contain {username}"),
    ({"base_dn": "dc=x", "user_filter": "uid={username}"}, "in parentheses"),
    ({"base_dn": "dc=x", "bind_dn": "cn=svc,dc=x"}, "set both bind_dn and bind_password"),
    ({"base_dn": "dc=x", "ca_file": "/nonexistent/ca.pem"}, "CA file does not exist"),
    ({"base_dn": "dc=x", "role_groups": {"superadmin": ["cn=a,dc=x"]}}, "role_groups"),
    ({"base_dn": "dc=x", "bind_pasword": "typo"}, "bind_pasword"),
])
def test_bad_options_are_refused_with_a_reason(options, complaint):
    options = {"server_uris": ["ldap://dc1.x"], **options}
    with pytest.raises(ValidationError) as caught:
        LdapConfig(**options)
    assert complaint in str(caught.value)


def test_bind_password_is_masked_in_repr_and_in_errors():
    secret = "Sup3r-Secret-Bind-Pw"
    config = LdapConfig(base_dn="dc=x", bind_dn="cn=svc,dc=x", bind_password=secret, **SERVER)
    assert secret not in repr(config) and secret not in str(config)
    assert secret not in str(config.model_dump())
    with pytest.raises(ValidationError) as caught:
        LdapConfig(base_dn="dc=x", bind_dn="cn=svc,dc=x", bind_password=secret,
                   server_uris=["nope"])
    assert secret not in str(caught.value)


@pytest.mark.parametrize(("left", "right"), [
    ("CN=CVAT Admins,OU=Groups,DC=corp", "cn=cvat admins,ou=groups,dc=corp"),
    ("cn=cvat admins, ou=groups, dc=corp", "cn=cvat admins,ou=groups,dc=corp"),
])
def test_dns_compare_case_and_space_insensitively(left, right):
    assert normalize_dn(left) == normalize_dn(right)


def mapper(**extra):
    role_groups = {
        "admin": ["cn=admins,dc=x"], "business": ["cn=biz,dc=x"],
        "user": ["cn=users,dc=x"], "worker": ["cn=workers,dc=x", "cn=contractors,dc=x"],
    }
    return RoleMapper(LdapConfig(base_dn="dc=x", role_groups=role_groups, **SERVER, **extra))


def test_the_most_privileged_role_wins_and_admin_means_superuser():
    decision = mapper().decide(["CN=Workers,DC=x", "cn=users,dc=x", "cn=ADMINS,dc=x"])
    assert decision.roles == ["admin", "user", "worker"] and decision.privilege == "admin"
    assert decision.superuser and not decision.default


def test_unmapped_groups_give_the_default_role_and_never_superuser():
    decision = mapper(default_role="worker").decide(["cn=other,dc=x"])
    assert decision.roles == ["worker"] and decision.default and not decision.superuser
    assert mapper(default_role="admin").decide([]).superuser is False


def test_required_group_decides_who_may_sign_in():
    strict = mapper(required_group="CN=CVAT Access,DC=x")
    assert strict.decide(["cn=cvat access,dc=x", "cn=users,dc=x"]).allowed
    assert not strict.decide(["cn=users,dc=x"]).allowed


def test_a_missing_server_tool_names_the_fix():
    with pytest.raises(SlapdError, match="apt-get install -y slapd ldap-utils"):
        find_tool("slapd-that-is-not-installed")


def readme_examples():
    text = (Path(__file__).parents[1] / "README.md").read_text()
    blocks = re.findall(r"```toml\n(.*?)```", text, re.S)
    return [tomllib.loads(b) for b in blocks if "[auth.options.ldap]" in b]


@pytest.mark.parametrize("index", [0, 1])
def test_readme_examples_are_valid_settings(index, tmp_path, monkeypatch):
    options = readme_examples()[index]["auth"]["options"]["ldap"]
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text("placeholder")  # the examples name a CA file of the reader's system
    monkeypatch.setenv("CVAT_LDAP_BIND_PASSWORD", "from-env")
    (tmp_path / "bind").write_text("from-file\n")
    secret_ref = options["bind_password"]
    if "$file" in secret_ref:
        secret_ref["$file"] = str(tmp_path / "bind")
    options["ca_file"] = str(ca_file)
    settings = load_settings(None, auth={"backends": ["ldap", "local"],
                                         "options": {"ldap": options}})
    config = LdapConfig(**settings.auth.options["ldap"])
    assert config.bind_password.get_secret_value() in ("from-env", "from-file")
    assert config.role_groups["admin"] and config.preset in ("active_directory", "freeipa")
