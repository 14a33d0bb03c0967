"""Schema migrations: the models match them, every one downgrades and re-upgrades, and a
database made by the first release's schema, with data in it, upgrades and keeps its data.

Runs on SQLite and on PostgreSQL (``postgres`` marker)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from cvatcore.core.db.migrate import downgrade, revisions, upgrade
from cvatcore.core.models import Base
from cvatcore.core.plugins import make_plugin_manager
from cvatcore.core.services.passwords import hash_password
from cvatcore.hooks.testing import ApiClient, build_test_app, invoke_cli, test_settings
from cvatcore.hooks.testing.databases import postgres_database, sqlite_url
from cvatcore.hooks.testing.env import no_plugin_autoload

FIRST_RELEASE = "0001_core"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def empty_database(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield sqlite_url(tmp_path)
    else:
        with postgres_database(migrated=False) as url:
            yield url


@contextmanager
def _engine(url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def _core_pm():
    with no_plugin_autoload():
        return make_plugin_manager()


def _schema(engine: sa.Engine) -> dict:
    """What a user of the database sees of its shape: tables, columns, indexes, keys."""
    inspector = sa.inspect(engine)
    shape = {}
    for table in sorted(inspector.get_table_names()):
        if table == "alembic_version":
            continue
        shape[table] = {
            "columns": [(c["name"], str(c["type"]), c["nullable"])
                        for c in inspector.get_columns(table)],
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                              for i in inspector.get_indexes(table)),
            "foreign_keys": sorted((tuple(f["constrained_columns"]), f["referred_table"])
                                   for f in inspector.get_foreign_keys(table)),
        }
    return shape


def test_models_match_the_migrations(empty_database):
    pm = _core_pm()
    with _engine(empty_database) as engine:
        upgrade(engine, pm)
        with engine.connect() as conn:
            diffs = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diffs == [], "models and migrations disagree (write a migration):\n" + "\n".join(
        map(str, diffs))


def test_every_migration_downgrades_and_upgrades_again(empty_database):
    pm = _core_pm()
    with _engine(empty_database) as engine:
        steps = revisions(engine, pm)
        assert steps[0] == FIRST_RELEASE
        shapes = {}
        for rev in steps:
            upgrade(engine, pm, rev)
            shapes[rev] = _schema(engine)
        for rev, before in reversed(list(zip(steps[1:], steps, strict=False))):
            downgrade(engine, pm, before)
            assert _schema(engine) == shapes[before], f"downgrading {rev} left changes behind"
        downgrade(engine, pm, "base")
        assert _schema(engine) == {}
        upgrade(engine, pm)
        assert _schema(engine) == shapes[steps[-1]]


def _first_release_rows(engine: sa.Engine, password: str) -> None:
    """Rows written with the first release's columns only (no model code: those move on)."""
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    meta = sa.MetaData()
    meta.reflect(engine)
    users, orgs, members = (meta.tables[t] for t in ("users", "organizations", "memberships"))
    with engine.begin() as conn:
        conn.execute(users.insert(), [
            {"id": 7, "username": "ada", "email": "ada@example.com", "first_name": "Ada",
             "last_name": "Lovelace", "password": hash_password(password), "is_staff": False,
             "is_superuser": False, "is_active": True, "groups": ["user"],
             "created_via": "local", "date_joined": now, "last_login": None},
        ])
        conn.execute(orgs.insert(), [
            {"id": 3, "slug": "engines", "name": "Analytical Engines", "description": "1843",
             "contact": {"email": "ada@example.com"}, "owner_id": 7, "created_date": now,
             "updated_date": now},
        ])
        conn.execute(members.insert(), [
            {"id": 1, "user_id": 7, "organization_id": 3, "is_active": True,
             "joined_date": now, "role": "owner"},
        ])
        if conn.dialect.name == "postgresql":  # rows came with explicit ids, as a dump does
            for table in ("users", "organizations", "memberships"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))")


def test_a_first_release_database_with_data_upgrades_and_serves_it(empty_database, tmp_path):
    password = "Analytic4l-Engine"
    pm = _core_pm()
    with _engine(empty_database) as engine:
        upgrade(engine, pm, FIRST_RELEASE)
        _first_release_rows(engine, password)
        upgrade(engine, pm)

    app = build_test_app(test_settings(tmp_path / "data", empty_database))
    with ApiClient(app) as client:
        client.login("ada", password)
        me = client.get("/api/users/self").json()
        orgs = client.get("/api/organizations").json()["results"]
        project = client.post("/api/projects", json={"name": "after the upgrade"},
                              headers={"X-Organization": "engines"})
    assert (me["id"], me["username"], me["first_name"]) == (7, "ada", "Ada")
    assert [(o["id"], o["slug"], o["owner"]["username"]) for o in orgs] == [
        (3, "engines", "ada")]
    assert project.status_code == 201, project.text
    assert project.json()["organization"] == 3


def test_cli_downgrade_then_upgrade(config_file, tmp_path):
    env = {"CVATCORE_CONFIG": str(config_file())}
    assert invoke_cli(["db", "upgrade"], env=env).exit_code == 0
    unknown = invoke_cli(["db", "downgrade", "0002_typo", "--yes"], env=env)
    assert unknown.exit_code == 1
    assert "unknown revision '0002_typo'; the known ones are: 0001_core" in unknown.stderr

    down = invoke_cli(["db", "downgrade", "0002_annotation_domain", "--yes"], env=env)
    assert (down.exit_code, down.stdout) == (0, "database is at 0002_annotation_domain\n"), (
        down.stderr)
    with _engine(f"sqlite:///{tmp_path / 'data' / 'cvatcore.db'}") as engine:
        assert "sign_in_failures" not in sa.inspect(engine).get_table_names()
    up = invoke_cli(["db", "upgrade"], env=env)
    assert up.exit_code == 0, up.stderr
    with _engine(f"sqlite:///{tmp_path / 'data' / 'cvatcore.db'}") as engine:
        assert "sign_in_failures" in sa.inspect(engine).get_table_names()


def test_pending_deliveries_keep_their_order_across_the_seq_migration(empty_database,
                                                                      tmp_path):
    """Deliveries queued before 0007 (ordered by id then) are numbered by it, and a delivery
    queued after the upgrade goes out after them."""
    from cvatcore.core.jobs.runner import JobRunner
    from cvatcore.hooks.testing.harness import signed_in
    from cvatcore.hooks.testing.receiver import http_receiver

    pm = _core_pm()
    settings = test_settings(tmp_path / "data", empty_database,
                             jobs={"in_process_workers": 0},
                             webhooks={"linger_seconds": 0.0})
    with _engine(empty_database) as engine:
        upgrade(engine, pm)
    with http_receiver() as receiver:
        with signed_in(build_test_app(settings)) as ann:
            project = ann.post("/api/projects", json={"name": "p"}).json()
            ann.post("/api/webhooks", json={
                "target_url": f"{receiver.url}/h", "type": "project",
                "project_id": project["id"], "events": ["update:project"]})
            for name in ("before-1", "before-2"):
                ann.patch(f"/api/projects/{project['id']}", json={"name": name})
        with _engine(empty_database) as engine:
            downgrade(engine, pm, "0006_native_functions")
            upgrade(engine, pm)
        app = build_test_app(settings)
        state = app.state.cvatcore
        try:
            with ApiClient(app) as ann:
                ann.login("ann", "ann-pass")
                ann.patch(f"/api/projects/{project['id']}", json={"name": "after"})
            while JobRunner(state).run_one():
                pass
        finally:
            state.db.dispose()
        received = receiver.wait_for(3)
    assert [json.loads(r.body)["project"]["name"] for r in received] == [
        "before-1", "before-2", "after"]
