from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import cvatcore_nuclio
import pytest
from cvatcore_nuclio.testing import StandIn, nuclio_dashboard

from cvatcore.hooks.testing import test_settings
from cvatcore.hooks.testing.harness import build_test_app, signed_in


@pytest.fixture(scope="module")
def dashboard() -> Iterator[StandIn]:
    with nuclio_dashboard() as stand_in:
        yield stand_in


@pytest.fixture
def client(dashboard: StandIn, tmp_path: Any) -> Iterator[Any]:
    """A signed-in client of an app whose only inference backend is the stand-in's Nuclio."""
    settings = test_settings(tmp_path, inference={
        "backends": ["nuclio"], "options": {"nuclio": {"dashboard_url": dashboard.url}}})
    app = build_test_app(settings, plugins=[(cvatcore_nuclio, "nuclio")])
    with signed_in(app, email="a@example.com", groups=["user"]) as client:
        yield client

