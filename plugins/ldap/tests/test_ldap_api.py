"""Signing in through cvatcore's HTTP API with ``[auth] backends = ["ldap", "local"]``: roles
as users see them, the same 401 for every refusal, 503 only for directory users when the
directory is down, and role changes at the next sign-in."""

from __future__ import annotations

from cvatcore_ldap.testing import ad_group, password_of

from cvatcore.hooks.testing.harness import add_user

HEIDI = "cn=Heidi Mutable,ou=people,dc=ad,dc=test"
REFUSED = {"detail": "Unable to log in with provided credentials."}


def add_local_user(app, username, password, groups=None):
    add_user(app, username, password, email=f"{username}@local.test", groups=groups)


def me(client, username, password):
    client.login(username, password)
    response = client.get("/api/users/self")
    client.logout()
    assert response.status_code == 200, response.text
    return response.json()


def test_directory_users_get_their_mapped_roles_and_local_users_still_work(slapd, ldap_app):
    with ldap_app(slapd.ad_options()) as (app, client):
        add_local_user(app, "lena", "lena-local-pass")
        alice = me(client, "alice", password_of("alice"))
        bob = me(client, "bob", password_of("bob"))
        lena = me(client, "lena", "lena-local-pass")
    assert (alice["groups"], alice["is_superuser"], alice["email"]) == (
        ["admin"], True, "alice@ad.test")
    assert (bob["groups"], bob["is_superuser"], bob["first_name"]) == (["worker"], False, "Bob")
    assert (lena["groups"], lena["is_superuser"]) == (["user"], False)


def test_every_refusal_is_the_same_401(slapd, ldap_app, attempt):
    options = slapd.ad_options(required_group=ad_group("CVAT Users"))
    with ldap_app(options) as (_, client):
        answers = {
            "unknown user": attempt(client, "nobody", "whatever-1"),
            "wrong password": attempt(client, "carol", "wrong-password"),
            "locked account": attempt(client, "dave", password_of("dave")),
            "not in the required group": attempt(client, "bob", password_of("bob")),
            "injection": attempt(client, "*", password_of("alice")),
        }
        assert attempt(client, "carol", password_of("carol"))[0] == 200  # in it through nesting
    assert {name: answer for name, answer in answers.items() if answer != (401, REFUSED)} == {}


def test_down_directory_is_503_for_its_users_while_local_accounts_sign_in(
    slapd, ldap_app, attempt, dead_uri
):
    with ldap_app(slapd.ad_options(server_uris=[dead_uri])) as (app, client):
        add_local_user(app, "lena", "lena-local-pass")
        status, body = attempt(client, "alice", password_of("alice"))
        assert status == 503 and "unavailable" in body["detail"]
        assert attempt(client, "lena", "lena-local-pass")[0] == 200


def test_losing_a_group_loses_the_role_at_the_next_sign_in(slapd, ldap_app, regroup):
    admins, business = ad_group("CVAT Admins"), ad_group("CVAT Business")
    with ldap_app(slapd.ad_options(group_cache_seconds=0)) as (_, client):
        with regroup(HEIDI, add_to=[admins]):
            first = me(client, "heidi", password_of("heidi"))
            with regroup(HEIDI, remove_from=[admins, business]):
                second = me(client, "heidi", password_of("heidi"))
        third = me(client, "heidi", password_of("heidi"))
    assert (first["groups"], first["is_superuser"]) == (["admin", "business"], True)
    assert (second["groups"], second["is_superuser"]) == (["user"], False)  # the default role
    assert (third["groups"], third["is_superuser"]) == (["business"], False)
    assert first["id"] == second["id"] == third["id"]


def test_a_directory_cannot_take_over_a_local_account_of_the_same_name(
    slapd, ldap_app, attempt
):
    # "oscar" exists in the directory (password oscar-pass-1) and, separately, as a local worker.
    with ldap_app(slapd.ad_options()) as (app, client):
        add_local_user(app, "oscar", "oscar-local-pass", groups=["worker"])
        assert attempt(client, "oscar", password_of("oscar")) == (401, REFUSED)
        local = me(client, "oscar", "oscar-local-pass")
    assert (local["groups"], local["email"], local["first_name"]) == (
        ["worker"], "oscar@local.test", "")


def test_an_account_the_directory_created_keeps_signing_in_through_it(slapd, ldap_app):
    with ldap_app(slapd.ad_options()) as (app, client):
        first = me(client, "frank", password_of("frank"))
        again = me(client, "frank", password_of("frank"))
        with app.state.cvatcore.db.unit_of_work() as session:
            from cvatcore.core.services.accounts import find_user

            user = find_user(session, "frank")
            assert (user.created_via, user.password) == ("ldap", None)
    assert first["id"] == again["id"] and again["groups"] == ["business", "worker"]


INJECTIONS = ["*", "a*", "alic*", ")(uid=*", "admin)(|(uid=*", ")(sAMAccountName=*",
              "admin)(|(sAMAccountName=*",
              "*)(objectClass=*", "alice)(|(sAMAccountName=*", "alice\x00", "al\x00*", "x" * 300]


def test_injection_attempts_get_401(slapd, ldap_app, attempt):
    # Each with alice's real password: a filter that matched alice would let the bind succeed.
    with ldap_app(slapd.ad_options()) as (_, client):
        answers = {name: attempt(client, name, password_of("alice")) for name in INJECTIONS}
        basic = {name: client.get("/api/users/self", auth=(name, password_of("alice")))
                 for name in INJECTIONS}
        assert attempt(client, "alice", password_of("alice"))[0] == 200
    # The JSON API refuses NUL characters in any request before sign-in (400); HTTP Basic
    # credentials reach the backend chain, which refuses them like every other bad name.
    expected = {n: (400, {"detail": "NUL characters are not allowed in requests."}) if "\x00" in n
                else (401, REFUSED) for n in INJECTIONS}
    assert answers == expected
    assert {n: r.status_code for n, r in basic.items()} == {n: 401 for n in INJECTIONS}


def test_basic_auth_on_reads_creates_and_updates_a_directory_account(slapd, ldap_app, regroup):
    """A read request signed in with HTTP Basic writes nothing in its own transaction, yet a
    directory user's first request creates the account and a lost group counts at once."""
    import base64

    admins, business = ad_group("CVAT Admins"), ad_group("CVAT Business")
    value = base64.b64encode(f"heidi:{password_of('heidi')}".encode()).decode()
    basic = {"Authorization": f"Basic {value}"}
    options = slapd.ad_options(group_cache_seconds=0)
    with ldap_app(options) as (_, client), regroup(HEIDI, add_to=[admins]):
        first = client.get("/api/users/self", headers=basic).json()
        same = client.get("/api/users/self", headers=basic).json()
        with regroup(HEIDI, remove_from=[admins, business]):
            second = client.get("/api/users/self", headers=basic).json()
    assert (first["groups"], first["is_superuser"]) == (["admin", "business"], True)
    assert same == first
    assert (second["groups"], second["is_superuser"]) == (["user"], False)
    assert first["id"] == second["id"]
