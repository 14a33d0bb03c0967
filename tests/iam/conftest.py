"""Fixtures for the IAM matrix tests: one database and one world per test module.

Each module runs twice, on SQLite and on PostgreSQL. The kit's ``cvatcore_database_url``,
``cvatcore_settings`` and ``cvatcore_app`` are overridden here, for this folder only, with
module-scoped versions (same parameters, same settings), so the kit's ``make_user`` keeps
working and the world is built once per module and database instead of once per case.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest

from cvatcore.core.services.caller import Caller
from cvatcore.hooks.testing import ApiClient
from cvatcore.hooks.testing.pytest_plugin import module_app_fixtures

from .support import Batch, Clients, Scratch, World, build_world, unique_name

# One app per module and database; no background-job threads (never needed here).
cvatcore_database_url, cvatcore_settings, cvatcore_app = module_app_fixtures(
    "iam", jobs={"in_process_workers": 0})


@pytest.fixture(scope="module")
def world(cvatcore_app: Any) -> World:
    """The users, organizations, memberships and invitations of ``support.WORLD_*``."""
    with cvatcore_app.state.cvatcore.db.unit_of_work() as session:
        return build_world(Caller.system(cvatcore_app.state.cvatcore, session))


@pytest.fixture(scope="module")
def clients(cvatcore_app: Any, world: World) -> Iterator[Clients]:
    """``clients["owner"]``: a client signed in as that world user."""
    with ExitStack() as stack:
        yield Clients(cvatcore_app, stack)


@pytest.fixture(scope="module")
def batch(cvatcore_app: Any, world: World) -> Batch:
    """Fresh objects for whole matrices of cases (see ``support.Batch``)."""
    return Batch(cvatcore_app)


@pytest.fixture
def pristine_world(world: World, batch: Batch) -> World:
    """The world with nothing else in it: for cases that list everything someone sees."""
    batch.purge()
    return world


@pytest.fixture
def scratch(cvatcore_app: Any, world: World) -> Iterator[Scratch]:
    """Objects for one case, deleted after it."""
    made = Scratch(cvatcore_app)
    yield made
    made.cleanup()


@pytest.fixture
def make_actor(
    clients: Clients, make_user: Callable[..., Any], scratch: Scratch
) -> Callable[[str], tuple[int, ApiClient]]:
    """``make_actor("worker")``: a new signed-in user with that system role, deleted after the
    case (for cases that change or delete the actor itself)."""

    def make(privilege: str) -> tuple[int, ApiClient]:
        name = unique_name("actor")
        user = make_user(name, groups=[privilege], superuser=privilege == "admin")
        scratch.user_ids.append(user.id)
        return user.id, clients.login(name)

    return make
