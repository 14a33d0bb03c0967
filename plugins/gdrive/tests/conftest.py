"""Fixtures for cvatcore-gdrive's tests: one Drive stand-in for the whole session, a service
account and an OAuth user it knows, and a fresh folder shared with them per test."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from cvatcore_gdrive import GDriveConfig, GDriveStorage
from cvatcore_gdrive.testing import StandIn, StandInError, start_standin

SA_EMAIL = "cvat-reader@standin-project.iam.gserviceaccount.com"
USER_EMAIL = "alice@example.com"
CLIENT_ID = "1234-standin.apps.googleusercontent.com"
CLIENT_SECRET = "GOCSPX-client-secret-for-tests"
REFRESH_TOKEN = "1//refresh-token-for-alice-0123456789"


@pytest.fixture(scope="session")
def standin() -> Iterator[StandIn]:
    """The running stand-in; stopped by its PID after the session."""
    try:
        server = start_standin()
    except StandInError as exc:
        pytest.fail(f"cannot run the Google Drive tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def sa_key(standin: StandIn) -> dict[str, Any]:
    """A service account the stand-in knows (its key file's JSON, token_uri = stand-in)."""
    return standin.add_service_account(SA_EMAIL)


@pytest.fixture(scope="session")
def oauth_user(standin: StandIn) -> dict[str, str]:
    standin.add_refresh_token(REFRESH_TOKEN, CLIENT_ID, CLIENT_SECRET, USER_EMAIL)
    return {"credentials_type": "OAUTH_REFRESH_TOKEN", "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET, "refresh_token": REFRESH_TOKEN,
            "token_uri": standin.token_uri}


@pytest.fixture
def folder(standin: StandIn, sa_key: dict[str, Any]) -> str:
    """A new folder the service account and the OAuth user may write to."""
    return standin.folder(f"t-{uuid.uuid4().hex[:8]}", {SA_EMAIL: "writer", USER_EMAIL: "writer"})


@pytest.fixture
def make_storage(standin: StandIn, sa_key: dict[str, Any]) -> Iterator:
    """``make_storage(**options)`` -> a ``GDriveStorage`` on the stand-in (the service account
    unless other credentials are given), closed after the test."""
    made: list[GDriveStorage] = []

    def make(**options: Any) -> GDriveStorage:
        options.setdefault("api_base_url", standin.url)
        options.setdefault("max_retries", 2)
        if options.get("credentials_type", "KEY_FILE_PATH") == "KEY_FILE_PATH" and not (
                options.get("key_file")):
            options.setdefault("service_account_key", json.dumps(sa_key))
        storage = GDriveStorage(GDriveConfig(**options))
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()
