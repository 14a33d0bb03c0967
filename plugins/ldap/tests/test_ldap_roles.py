"""Who gets which CVAT role, against the real slapd: mapping, nesting, locks, required group,
and what a group change does at the next sign-in (with and without the group cache)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from cvatcore_ldap import LdapBackend, LdapConfig
from cvatcore_ldap.directory import IN_CHAIN, Directory, DirectoryUser
from cvatcore_ldap.testing import ad_group, ipa_group, password_of


def sign_in(backend, login, no_accounts):
    return backend.authenticate(login, password_of(login), no_accounts)


@pytest.mark.parametrize(("login", "roles", "superuser"), [
    ("alice", ["admin"], True),
    ("bob", ["worker"], False),
    ("frank", ["business", "worker"], False),  # two mapped groups: business is stronger
    ("carol", ["user"], False),  # Team Rocket < Engineering < CVAT Users: two levels of nesting
    ("erin", ["user"], False),  # no mapped group (only a loop of two groups): default role
])
def test_active_directory_groups_map_to_roles(ad_backend, no_accounts, login, roles, superuser):
    identity = sign_in(ad_backend, login, no_accounts)
    assert (identity.username, identity.groups, identity.is_superuser) == (login, roles, superuser)
    assert identity.backend == "ldap"


@pytest.mark.parametrize(("login", "roles", "superuser"), [
    ("ivan", ["admin"], True),
    ("judy", ["user"], False),
    ("nina", ["worker"], False),  # in ml-team, which is a member of cvat-workers
    ("oliver", ["user"], False),
])
def test_freeipa_groups_map_to_roles(ipa_backend, no_accounts, login, roles, superuser):
    identity = sign_in(ipa_backend, login, no_accounts)
    assert (identity.groups, identity.is_superuser) == (roles, superuser)


def test_identity_carries_the_directory_profile(ad_backend, no_accounts):
    identity = ad_backend.authenticate("alice@ad.test", password_of("alice"), no_accounts)
    # Signing in with the userPrincipalName still gives the sAMAccountName as the username.
    assert (identity.username, identity.first_name, identity.last_name, identity.email) == (
        "alice", "Alice", "Admin", "alice@ad.test")
    assert identity.extra["dn"] == "cn=Alice Admin,ou=people,dc=ad,dc=test"


def test_default_role_is_configurable(slapd, no_accounts):
    backend = LdapBackend(LdapConfig(**slapd.ad_options(default_role="worker")))
    assert sign_in(backend, "erin", no_accounts).groups == ["worker"]


@pytest.mark.parametrize(("tree", "login"), [("ad", "dave"), ("ipa", "mallory")])
def test_locked_accounts_cannot_sign_in_even_with_the_right_password(
    ad_backend, ipa_backend, no_accounts, tree, login
):
    backend = ad_backend if tree == "ad" else ipa_backend
    assert sign_in(backend, login, no_accounts) is None
    assert backend.inspect(login).user.locked is True


def test_required_group_refuses_everyone_else(slapd, no_accounts):
    backend = LdapBackend(LdapConfig(**slapd.ipa_options(required_group=ipa_group("cvat-access"))))
    assert sign_in(backend, "oliver", no_accounts) is None
    assert sign_in(backend, "judy", no_accounts).groups == ["user"]
    assert sign_in(backend, "nina", no_accounts) is not None  # a member through ml-team


def test_slapd_lacks_the_in_chain_rule_so_auto_expands_nested_groups_itself(slapd, no_accounts):
    auto = LdapBackend(LdapConfig(**slapd.ad_options(default_role="worker")))
    forced = LdapBackend(LdapConfig(**slapd.ad_options(default_role="worker",
                                                       nested_groups="in_chain")))
    assert sign_in(auto, "carol", no_accounts).groups == ["user"]
    assert auto.directory.nested_method() == "iterative"
    # Forcing the AD-only rule on slapd finds no nested group: carol falls to the default.
    assert sign_in(forced, "carol", no_accounts).groups == ["worker"]
    flat = LdapBackend(LdapConfig(**slapd.ad_options(default_role="worker", nested_groups="off")))
    assert sign_in(flat, "carol", no_accounts).groups == ["worker"]


class RecordingConnection:
    """Stands in for an Active Directory: advertises AD's capability, records the filters."""

    def __init__(self):
        self.filters, self.result, self.response = [], {}, []

    def search(self, base, search_filter, scope, attributes, size_limit, time_limit):
        self.filters.append(search_filter)
        self.result = {"result": 0}
        if base == "":
            attrs = {"supportedCapabilities": ["1.2.840.113556.1.4.800"]}
            self.response = [{"type": "searchResEntry", "dn": "", "attributes": attrs}]
        else:
            self.response = [{"type": "searchResEntry", "dn": "cn=Nested,dc=corp",
                              "attributes": {}}]


def test_on_active_directory_nested_groups_come_from_one_in_chain_search():
    config = LdapConfig(preset="active_directory", base_dn="dc=corp",
                        server_uris=["ldaps://dc1.corp"])
    directory, conn = Directory(config), RecordingConnection()
    user = DirectoryUser("cn=A (x)*,dc=corp", "a", "", "", "", False, ("cn=Direct,dc=corp",))
    assert directory.group_dns(conn, user) == ["cn=Direct,dc=corp", "cn=Nested,dc=corp"]
    assert conn.filters[-1] == (f"(&(objectClass=group)(member:{IN_CHAIN}:="
                                r"cn=A \28x\29\2a,dc=corp))")
    assert directory.nested_method() == "in_chain"


HEIDI = "cn=Heidi Mutable,ou=people,dc=ad,dc=test"


def test_group_cache_keeps_roles_for_its_lifetime_only(slapd, no_accounts, regroup):
    now = [1000.0]
    backend = LdapBackend(LdapConfig(**slapd.ad_options(group_cache_seconds=30)),
                          clock=lambda: now[0])
    assert sign_in(backend, "heidi", no_accounts).groups == ["business"]
    with regroup(HEIDI, remove_from=[ad_group("CVAT Business")]):
        now[0] += 10
        assert sign_in(backend, "heidi", no_accounts).groups == ["business"]  # still cached
        now[0] += 21
        assert sign_in(backend, "heidi", no_accounts).groups == ["user"]  # expired: re-read


@pytest.mark.parametrize(("nested", "roles"), [("iterative", ["worker"]), ("off", ["user"])])
def test_groups_found_by_searching_for_the_member(slapd, no_accounts, nested, roles):
    # Instead of memberOf: (&(objectClass=groupOfNames)(member=<nina's DN>)), then parents.
    options = slapd.ipa_options(group_source="search", nested_groups=nested)
    identity = sign_in(LdapBackend(LdapConfig(**options)), "nina", no_accounts)
    assert identity.groups == roles


def test_concurrent_sign_ins_each_get_their_own_roles(slapd, no_accounts, dead_uri):
    backend = LdapBackend(LdapConfig(**slapd.ad_options(server_uris=[dead_uri, slapd.ldap_uri],
                                                        group_cache_seconds=5)))
    expected = {"alice": ["admin"], "bob": ["worker"], "carol": ["user"],
                "frank": ["business", "worker"]}
    logins = list(expected) * 10
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda n: (n, sign_in(backend, n, no_accounts)), logins))
    assert all(identity.groups == expected[name] for name, identity in results)
