"""cvat-sdk 2.80, unchanged, against a real ``cvatcore serve``: the SDK checks the server
version, signs in, and validates every answer against CVAT's own schema (a missing required
field, a wrong type or an unknown enum value raises)."""

from __future__ import annotations

import itertools
import logging

import pytest
from cvat_sdk import make_client, models
from cvat_sdk.api_client import exceptions
from cvat_sdk.core.client import AccessTokenCredentials, Client

_names = itertools.count()


def unique(prefix: str) -> str:
    return f"{prefix}_{next(_names):04d}"


@pytest.fixture
def admin(live_server):
    with make_client(live_server.host, port=live_server.port,
                     credentials=live_server.credentials) as client:
        yield client


def register(live_server, username: str) -> tuple[str, str]:
    """A new account through ``POST /api/auth/register``, as the SDK sends it."""
    password = f"{username}-secret-1"
    with Client(live_server.url) as anonymous:
        body, response = anonymous.api_client.auth_api.create_register(
            models.RegisterSerializerExRequest(
                username=username, password1=password, password2=password,
                email=f"{username}@example.com", first_name="First", last_name="Last",
            )
        )
    assert response.status == 201 and body.username == username and body.key
    assert body.email_verification_required is False
    return username, password


def test_version_check_and_sign_in(live_server, caplog):
    with caplog.at_level(logging.WARNING):
        client = make_client(live_server.host, port=live_server.port,
                             credentials=live_server.credentials)
    with client:
        assert not [r for r in caplog.records if "not compatible" in r.getMessage()]
        assert str(client.get_server_version()) == "2.80.0"
        assert {"sessionid", "csrftoken"} <= set(client.api_client.cookies)
        about, _ = client.api_client.server_api.retrieve_about()
        assert about.version == "2.80.0" and about.name and about.subtitle
        plugins, _ = client.api_client.server_api.retrieve_plugins()
        assert isinstance(plugins.analytics, bool) and isinstance(plugins.models, bool)


def test_current_user(admin, live_server):
    me = admin.users.retrieve_current_user()
    assert me.username == live_server.username and me.is_superuser and me.is_staff
    assert set(me.groups) <= {"admin", "business", "user", "worker"}
    same, _ = admin.api_client.users_api.retrieve_self()
    assert same.id == me.id and same.email == "admin@example.com"
    assert same.date_joined is not None
    assert admin.users.retrieve(me.id).username == me.username
    assert me.id in {u.id for u in admin.users.list()}
    page, _ = admin.api_client.users_api.list(page_size=1, sort="-id")
    assert page.count >= 1 and len(page.results) == 1


def test_users_filters_and_update(admin, live_server):
    name, _ = register(live_server, unique("filt"))
    page, _ = admin.api_client.users_api.list(username=name, is_active=True)
    assert [u.username for u in page.results] == [name]
    user = admin.users.retrieve(page.results[0].id)
    user.update(models.PatchedUserRequest(first_name="Changed"))
    assert admin.users.retrieve(user.id).first_name == "Changed"


def test_organizations(admin):
    slug = unique("org")
    org = admin.organizations.create(models.OrganizationWriteRequest(
        slug=slug, name="SDK org", description="made by cvat-sdk", contact={"email": "o@x.io"}))
    assert org.slug == slug and org.owner.username == "admin" and org.contact["email"] == "o@x.io"
    assert slug in {o.slug for o in admin.organizations.list()}
    page, _ = admin.api_client.organizations_api.list(slug=slug)
    assert page.count == 1 and page.results[0].id == org.id
    org.update(models.PatchedOrganizationWriteRequest(name="Renamed"))
    assert admin.organizations.retrieve(org.id).name == "Renamed"
    memberships, _ = admin.api_client.memberships_api.list(org=slug)
    assert [(m.user.username, m.role) for m in memberships.results] == [("admin", "owner")]
    membership, _ = admin.api_client.memberships_api.retrieve(memberships.results[0].id)
    assert membership.is_active and membership.joined_date is not None
    org.remove()
    with pytest.raises(exceptions.NotFoundException):
        admin.organizations.retrieve(org.id)


def test_invitations(admin, live_server):
    slug = unique("inv")
    admin.organizations.create(models.OrganizationWriteRequest(slug=slug))
    invitee, password = register(live_server, unique("invitee"))
    invitation, response = admin.api_client.invitations_api.create(
        models.InvitationWriteRequest(role="worker", email=f"{invitee}@example.com"), org=slug)
    assert response.status == 201 and invitation.user.username == invitee
    assert invitation.organization_info.slug == slug and invitation.accepted is False
    listed, _ = admin.api_client.invitations_api.list(org=slug)
    assert invitation.key in {i.key for i in listed.results}
    with make_client(live_server.host, port=live_server.port,
                     credentials=(invitee, password)) as client:
        own, _ = client.api_client.invitations_api.retrieve(invitation.key)
        assert own.role.value == "worker"
        accepted, _ = client.api_client.invitations_api.accept(invitation.key)
        assert accepted.organization_slug == slug
        client.organization_slug = slug
        members, _ = client.api_client.memberships_api.list(role="worker")
        assert [m.user.username for m in members.results] == [invitee]
        users, _ = client.api_client.users_api.list()
        assert {u.username for u in users.results} == {"admin", invitee}
    pending, _ = admin.api_client.invitations_api.list(org=slug, accepted=False)
    assert pending.count == 0


def test_access_tokens(admin, live_server):
    created, response = admin.api_client.auth_api.create_access_tokens(
        models.AccessTokenWriteRequest(name="sdk-token"))
    assert response.status == 201 and created.value and created.owner.username == "admin"
    with make_client(live_server.host, port=live_server.port,
                     credentials=AccessTokenCredentials(created.value)) as client:
        me, _ = client.api_client.users_api.retrieve_self()
        assert me.username == "admin"
        current, _ = client.api_client.auth_api.retrieve_access_tokens_self()
        assert current.id == created.id and current.name == "sdk-token"
    with make_client(live_server.host, port=live_server.port,
                     access_token=created.value) as client:
        assert client.users.retrieve_current_user().username == "admin"
    tokens, _ = admin.api_client.auth_api.list_access_tokens(name="sdk-token", read_only=False)
    assert [t.id for t in tokens.results] == [created.id]
    changed, _ = admin.api_client.auth_api.partial_update_access_tokens(
        created.id, patched_access_token_write_request=models.PatchedAccessTokenWriteRequest(
            read_only=True))
    assert changed.read_only is True
    one, _ = admin.api_client.auth_api.retrieve_access_tokens(created.id)
    assert one.last_used_date is not None
    admin.api_client.auth_api.destroy_access_tokens(created.id)
    with make_client(live_server.host, port=live_server.port,
                     access_token=created.value) as client, \
            pytest.raises(exceptions.UnauthorizedException):
        client.api_client.users_api.retrieve_self()


def test_password_change_and_logout(live_server):
    name, password = register(live_server, unique("pwd"))
    client = make_client(live_server.host, port=live_server.port, credentials=(name, password))
    with client:
        detail, _ = client.api_client.auth_api.create_password_change(
            models.PasswordChangeRequest(old_password=password, new_password1="brand-new-pass-9",
                                         new_password2="brand-new-pass-9"))
        assert detail.detail
        client.logout()
        assert not client.has_credentials()
        with pytest.raises(exceptions.UnauthorizedException):
            client.api_client.users_api.retrieve_self()
        client.login((name, "brand-new-pass-9"))
        assert client.users.retrieve_current_user().username == name
        client.logout()
        client.api_client.auth_api.create_login(models.LoginSerializerExRequest(
            email=f"{name}@example.com", password="brand-new-pass-9"))
        assert client.users.retrieve_current_user().username == name
