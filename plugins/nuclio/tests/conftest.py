from __future__ import annotations

from collections.abc import Iterator

import pytest
from cvatcore_nuclio.testing import StandIn, nuclio_dashboard


@pytest.fixture(scope="module")
def dashboard() -> Iterator[StandIn]:
    with nuclio_dashboard() as stand_in:
        yield stand_in
