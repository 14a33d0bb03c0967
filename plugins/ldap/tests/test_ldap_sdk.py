"""CVAT's official client (cvat-sdk 2.80) against a real ``cvatcore serve`` whose settings say
``[auth] backends = ["ldap", "local"]``: directory accounts sign in and get their roles."""

from __future__ import annotations

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.api_client import exceptions
from cvatcore_ldap.testing import AD_SERVICE, auth_settings, password_of

from cvatcore.hooks.testing.live import serve_with_admin

LOCAL_ADMIN = ("root-admin", "root-admin-pass-1")


@pytest.fixture(scope="module")
def server(slapd, tmp_path_factory):
    """``cvatcore serve`` on a free loopback port; the bind password comes from $env."""
    options = slapd.ad_options(bind_password={"$env": "CVATCORE_TEST_LDAP_BIND_PW"})
    with serve_with_admin(tmp_path_factory.mktemp("ldap-serve"), auth_settings(options),
                          env={"CVATCORE_TEST_LDAP_BIND_PW": AD_SERVICE[1]},
                          username=LOCAL_ADMIN[0], password=LOCAL_ADMIN[1]) as live:
        yield live.port, live.log


def client(port, username):
    password = LOCAL_ADMIN[1] if username == LOCAL_ADMIN[0] else password_of(username)
    return make_client("http://127.0.0.1", port=port, credentials=(username, password))


def test_directory_worker_cannot_create_an_organization(server):
    port, _ = server
    with client(port, "bob") as bob:
        me = bob.users.retrieve_current_user()
        assert (me.username, me.groups, me.is_superuser) == ("bob", ["worker"], False)
        with pytest.raises(exceptions.ApiException) as caught:
            bob.organizations.create(models.OrganizationWriteRequest(slug="bobs-org"))
        assert caught.value.status == 403


def test_directory_admin_sees_every_user_and_local_admin_still_signs_in(server):
    port, log = server
    with client(port, LOCAL_ADMIN[0]) as local:
        assert local.users.retrieve_current_user().is_superuser
    with client(port, "frank") as frank:  # business: may create organizations
        org = frank.organizations.create(models.OrganizationWriteRequest(slug="franks-org"))
        assert org.slug == "franks-org"
    with client(port, "alice") as alice:
        me = alice.users.retrieve_current_user()
        assert (me.groups, me.is_superuser, me.email) == (["admin"], True, "alice@ad.test")
        names = {u.username for u in alice.users.list()}
    assert {"alice", "frank", LOCAL_ADMIN[0]} <= names
    assert AD_SERVICE[1] not in log.read_text()


def test_wrong_directory_password_is_refused_by_the_client(server):
    port, _ = server
    with pytest.raises(exceptions.ApiException) as caught:
        make_client("http://127.0.0.1", port=port, credentials=("alice", "not-her-password"))
    assert caught.value.status == 401
