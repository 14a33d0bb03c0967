"""``sync_identity``: a directory backend cannot take over an account something else created."""

from __future__ import annotations

from cvatcore.core.services.accounts import create_user, find_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks import Identity, hookimpl
from cvatcore.hooks.testing import ApiClient, test_settings

REFUSED = {"detail": "Unable to log in with provided credentials."}


class Directory:
    """Vouches for anyone whose password is ``dir-<name>``, as an admin."""

    name = "tests-directory"

    def __init__(self, config: object) -> None:
        pass

    def authenticate(self, username: str, password: str, accounts: object) -> Identity | None:
        if password != f"dir-{username}":
            return None
        return Identity(username=username, backend=self.name, groups=["admin"],
                        is_superuser=True)


class DirectoryPlugin:
    @hookimpl
    def register_auth_backends(self, register):
        register("tests-directory", Directory)


def test_directory_identity_cannot_take_over_a_local_account(register_plugin, tmp_path):
    settings = test_settings(tmp_path, auth={"backends": ["tests-directory", "local"]})
    with register_plugin(DirectoryPlugin(), "tests-dir", settings=settings) as app:
        with app.state.cvatcore.db.unit_of_work() as session:
            caller = Caller.system(app.state.cvatcore, session)
            create_user(caller, "carol", "carol-local-pw", groups=["worker"])
        with ApiClient(app) as client:
            taken = client.post("/api/auth/login",
                                json={"username": "carol", "password": "dir-carol"})
            client.login("carol", "carol-local-pw")
            carol = client.get("/api/users/self").json()
            client.logout()
            client.login("dave", "dir-dave")  # a new account: the directory creates it
            dave = client.get("/api/users/self").json()
            client.logout()
            client.login("dave", "dir-dave")  # and keeps signing it in
        with app.state.cvatcore.db.unit_of_work() as session:
            created_via = {n: find_user(session, n).created_via for n in ("carol", "dave")}
    assert (taken.status_code, taken.json()) == (401, REFUSED)
    assert (carol["groups"], carol["is_superuser"]) == (["worker"], False)
    assert (dave["groups"], dave["is_superuser"]) == (["admin"], True)
    assert created_via == {"carol": "local", "dave": "tests-directory"}


def test_accounts_made_outside_the_api_publish_create_user_once(register_plugin, tmp_path):
    """A directory's first sign-in (for Basic auth and /api/auth/login alike) and a command
    or job that makes an account go through the same service as POST /api/auth/register,
    and each publishes exactly one create:user; signing in again publishes nothing."""
    settings = test_settings(tmp_path, auth={"backends": ["tests-directory", "local"]})
    events: list = []
    with register_plugin(DirectoryPlugin(), "tests-dir", settings=settings) as app:
        app.state.cvatcore.bus.subscribe(events.append, committed=True)
        with app.state.cvatcore.db.unit_of_work() as session:
            create_user(Caller.system(app.state.cvatcore, session), "erin", "erin-local-pw")
        with ApiClient(app) as client:
            client.login("dave", "dir-dave")
            client.logout()
            client.login("dave", "dir-dave")
            basic = client.get("/api/users/self", auth=("frank", "dir-frank"))
            again = client.get("/api/users/self", auth=("frank", "dir-frank"))
    made = [(e.scope, e.after["username"]) for e in events if e.scope.endswith(":user")]
    assert basic.status_code == again.status_code == 200
    assert made == [("create:user", "erin"), ("create:user", "dave"), ("create:user", "frank")]
    assert all("password" not in e.after for e in events if e.after)
