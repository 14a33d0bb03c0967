"""Fixtures for the webhook tests: one app per module and database, with no job threads
(tests run the delivery jobs themselves, ``deliver``), users made on demand, and real
receivers on 127.0.0.1 (allowed by ``test_settings``' ``[outbound] allow``)."""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cvatcore.core.jobs.runner import JobRunner
from cvatcore.core.services.accounts import create_user
from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing import ApiClient
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures
from cvatcore.hooks.testing.receiver import Receiver, http_receiver

cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "webhooks", jobs={"in_process_workers": 0},
    webhooks={"retry_base_seconds": 0.05, "retry_max_interval_seconds": 0.2,
              "retry_window_seconds": 30.0, "linger_seconds": 0.0})

_serial = itertools.count(1)


class People:
    def __init__(self, app: Any) -> None:
        self.app, self.clients = app, []

    def user(self, groups: tuple[str, ...] = ("user",), superuser: bool = False
             ) -> tuple[Any, ApiClient]:
        name = f"user{next(_serial)}"
        state = self.app.state.cvatcore
        with state.db.unit_of_work() as session:
            user = create_user(Caller.system(state, session), name, f"{name}-pass",
                               email=f"{name}@example.com", groups=list(groups),
                               is_superuser=superuser)
        client = ApiClient(self.app)
        client.__enter__()
        client.login(name, f"{name}-pass")
        self.clients.append(client)
        return user, client

    def close(self) -> None:
        for client in self.clients:
            client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def people(cvatcore_app: Any) -> Iterator[People]:
    found = People(cvatcore_app)
    yield found
    found.close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with http_receiver() as found:
        yield found


@pytest.fixture
def deliver(cvatcore_app: Any) -> Any:
    """``deliver(until=..., timeout=...)``: run due jobs (retries included) until
    ``until()`` holds, as a worker would."""
    runner = JobRunner(cvatcore_app.state.cvatcore)

    def run(until: Any = None, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            runner.run_until_idle()
            if until is None or until():
                return
            assert time.monotonic() < deadline, "the deliveries did not finish in time"
            time.sleep(0.02)

    return run


@pytest.fixture
def org(cvatcore_app: Any, people: People) -> Any:
    """``org(owner_client, {"maintainer": user, ...})``: a new organization with members;
    returns its slug."""
    from cvatcore.core.models import Membership
    from cvatcore.core.models.base import utcnow

    def make(owner: ApiClient, members: dict[str, Any]) -> str:
        slug = f"org{next(_serial)}"
        found = owner.post("/api/organizations", json={"slug": slug})
        assert found.status_code == 201, found.text
        with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
            for role, user in members.items():
                session.add(Membership(user_id=user.id, organization_id=found.json()["id"],
                                       role=role, is_active=True, joined_date=utcnow()))
        return slug

    return make

