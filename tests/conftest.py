"""Fixtures shared by the suites: real emulators started here (Azurite for Azure Blob)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    from cvatcore_azure.testing import AzuriteError, start_azurite

    try:
        server = start_azurite(Path(tmp_path_factory.mktemp("azurite")))
    except AzuriteError as exc:  # never skip: a missing emulator fails the run
        pytest.fail(f"cannot run the cloud-storage tests: {exc}", pytrace=False)
    yield server
    server.stop()


@pytest.fixture
def container(azurite) -> str:
    name = f"c-{uuid.uuid4().hex[:20]}"
    azurite.create_container(name)
    return name
