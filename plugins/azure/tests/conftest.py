"""Fixtures for cvatcore-azure's tests: one real Azurite for the whole session and a fresh
container per test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cvatcore_azure import AzureConfig, AzureStorage
from cvatcore_azure.testing import ACCOUNT, Azurite, AzuriteError, start_azurite


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    """A running in-memory Azurite; stopped by its PID after the session."""
    try:
        server = start_azurite(Path(tmp_path_factory.mktemp("azurite")))
    except AzuriteError as exc:
        # Never skip: a missing Azurite must not turn the Azure suite silently green.
        pytest.fail(f"cannot run the Azure tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def container(azurite: Azurite) -> str:
    """The name of a new, empty, private container."""
    name = f"t-{uuid.uuid4().hex[:20]}"
    azurite.create_container(name)
    return name


@pytest.fixture
def make_storage(azurite: Azurite) -> Iterator:
    """``make_storage(**options)`` -> an ``AzureStorage`` on Azurite, closed after the test."""
    made: list[AzureStorage] = []

    def make(**options: object) -> AzureStorage:
        options.setdefault("account_url", azurite.account_url)
        storage = AzureStorage(AzureConfig(**options))
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()


@pytest.fixture
def sas_options(azurite: Azurite, container: str) -> dict[str, object]:
    """Options for ``container`` with a read-write container SAS (ACCOUNT_NAME_TOKEN_PAIR)."""
    return {"container": container, "credentials_type": "ACCOUNT_NAME_TOKEN_PAIR",
            "account_name": ACCOUNT, "sas_token": azurite.container_sas(container)}
