"""``sync_identity``: a directory backend cannot take over an account something else created."""

from __future__ import annotations

from cvatcore.core.services.accounts import create_user, find_user
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
            create_user(session, "carol", "carol-local-pw", groups=["worker"])
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
