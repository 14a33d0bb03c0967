"""Fixtures for cvatcore-ldap's tests: one real slapd for the whole session, backends over its
AD-like and FreeIPA-like trees, and in-process cvatcore apps that sign in through them."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cvatcore_ldap
import pytest
from cvatcore_ldap import LdapBackend, LdapConfig
from cvatcore_ldap.testing import SlapdError, TestDirectory, start_slapd
from ldap3 import MODIFY_ADD, MODIFY_DELETE

from cvatcore.hooks import Identity
from cvatcore.hooks.testing import ApiClient, build_test_app, test_settings

PLUGIN = (cvatcore_ldap, "ldap")


@pytest.fixture(scope="session")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestDirectory]:
    """A running slapd with both test trees loaded; stopped by its PID after the session."""
    try:
        directory = start_slapd(tmp_path_factory.mktemp("slapd"))
    except SlapdError as exc:
        # Never skip: a missing slapd must not turn the LDAP suite silently green.
        pytest.fail(f"cannot run the LDAP tests: {exc}", pytrace=False)
    yield directory
    directory.stop()


class NoLocalAccounts:
    """The ``AccountStore`` for backend-level tests: LDAP never consults it."""

    def verify_local_password(self, username: str, password: str) -> Identity | None:
        return None


@pytest.fixture
def no_accounts() -> NoLocalAccounts:
    return NoLocalAccounts()


@pytest.fixture
def ad_backend(slapd: TestDirectory) -> LdapBackend:
    return LdapBackend(LdapConfig(**slapd.ad_options(group_cache_seconds=0)))


@pytest.fixture
def ipa_backend(slapd: TestDirectory) -> LdapBackend:
    return LdapBackend(LdapConfig(**slapd.ipa_options(group_cache_seconds=0)))


@pytest.fixture
def regroup(slapd: TestDirectory) -> Callable[..., Any]:
    """``with regroup(dn, remove_from=[...], add_to=[...]):`` changes a person's AD groups
    through slapd (as an administrator would) and puts them back afterwards."""

    @contextmanager
    def change(dn: str, remove_from: tuple[str, ...] | list[str] = (),
               add_to: tuple[str, ...] | list[str] = ()) -> Iterator[None]:
        admin = slapd.admin("ad")
        try:
            for group in add_to:
                assert admin.modify(group, {"member": [(MODIFY_ADD, [dn])]}), admin.result
            for group in remove_from:
                assert admin.modify(group, {"member": [(MODIFY_DELETE, [dn])]}), admin.result
            yield
        finally:
            for group in add_to:
                admin.modify(group, {"member": [(MODIFY_DELETE, [dn])]})
            for group in remove_from:
                admin.modify(group, {"member": [(MODIFY_ADD, [dn])]})
            admin.unbind()

    return change


@pytest.fixture
def ldap_app(tmp_path: Path) -> Callable[..., Any]:
    """``with ldap_app(options, backends=("ldap", "local")) as (app, client):`` an in-process
    cvatcore (SQLite) with the plug-in registered and ``[auth.options.ldap] = options``."""

    @contextmanager
    def make(options: dict[str, Any], backends: tuple[str, ...] = ("ldap", "local")
             ) -> Iterator[tuple[Any, ApiClient]]:
        settings = test_settings(
            tmp_path, auth={"backends": list(backends), "options": {"ldap": options}}
        )
        app = build_test_app(settings, plugins=[PLUGIN])
        try:
            with ApiClient(app) as client:
                yield app, client
        finally:
            app.state.cvatcore.db.dispose()

    return make


def login_status(client: ApiClient, username: str, password: str) -> tuple[int, Any]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    client.cookies.clear()
    return response.status_code, response.json()


@pytest.fixture
def attempt() -> Callable[[ApiClient, str, str], tuple[int, Any]]:
    """``attempt(client, username, password)`` -> (status, body) of one sign-in."""
    return login_status


@pytest.fixture
def dead_uri() -> str:
    """An ldap:// URI nobody listens on (connection refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"ldap://127.0.0.1:{port}"


@pytest.fixture
def silent_uri() -> Iterator[str]:
    """An ldap:// URI that accepts TCP connections and never answers (a hung server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        sock.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(sock.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"ldap://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=2)
        for conn in accepted:
            conn.close()
        sock.close()
