"""How list requests read: statements kept per shape of request must still follow who asks
and what they ask, and reads on PostgreSQL run outside a transaction until they write."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from cvatcore.core.models import User
from cvatcore.hooks.testing import build_test_app, test_settings
from cvatcore.hooks.testing.databases import postgres_database


def test_a_list_follows_the_privilege_and_query_of_each_request(cvatcore_app, make_user):
    from cvatcore.hooks.testing.harness import ApiClient

    make_user("root", superuser=True)
    make_user("alice")
    for i in range(3):
        make_user(f"bob{i}")
    with ApiClient(cvatcore_app) as alice, ApiClient(cvatcore_app) as root:
        alice.login("alice", "alice-pass")
        root.login("root", "root-pass")

        def names(client, query=""):
            body = client.get(f"/api/users?sort=username{query}").json()
            return [u["username"] for u in body["results"]]

        assert names(alice) == ["alice"]  # a user sees herself only
        assert names(root, "&search=bob") == ["bob0", "bob1", "bob2"]
        assert names(root, "&search=bob&page_size=2&page=2") == ["bob2"]
        make_user("bob3")  # rows are read again on every request
        assert names(root, "&search=bob") == ["bob0", "bob1", "bob2", "bob3"]
        alice_id = alice.get("/api/users/self").json()["id"]
        assert root.patch(f"/api/users/{alice_id}", json={"is_superuser": True}).status_code == 200
        assert names(alice) == ["alice", "bob0", "bob1", "bob2", "bob3", "root"]


def _in_transaction(work) -> bool:
    db = work.dialect.name
    if db == "sqlite":
        return work.driver_connection.in_transaction
    from psycopg.pq import TransactionStatus

    return work.driver_connection.info.transaction_status != TransactionStatus.IDLE


@pytest.fixture
def postgres_db(tmp_path):
    """A PostgreSQL app's database only: SQLite readers hold no locks in WAL mode, so their
    BEGIN costs nothing and they keep it."""
    with postgres_database() as url:
        app = build_test_app(test_settings(tmp_path, url))
        yield app.state.cvatcore.db
        app.state.cvatcore.db.dispose()


@pytest.mark.postgres
def test_reads_on_postgresql_open_no_transaction(postgres_db):
    db = postgres_db
    with db.work(write=False) as work:
        assert work.connection.execute(select(User.id)).all() == []
        work.session.scalars(select(User)).all()
        assert not _in_transaction(work)  # no BEGIN, no COMMIT: two round trips fewer
    with db.work(write=True) as work:
        work.connection.execute(select(User.id)).all()
        assert _in_transaction(work)  # and writers keep theirs (the pool's next user too)


def test_a_read_that_writes_is_still_one_transaction(cvatcore_app):
    db = cvatcore_app.state.cvatcore.db
    with pytest.raises(RuntimeError), db.work(write=False) as work:
        work.session.add(User(username="ghost", email="", password="-", groups=[]))
        work.session.flush()
        assert _in_transaction(work)
        raise RuntimeError("the request fails after its write")
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(User).where(User.username == "ghost")) is None
    with db.work(write=False) as work:
        work.session.add(User(username="kept", email="", password="-", groups=[]))
    with db.unit_of_work(write=False) as session:
        assert session.scalar(select(User.username).where(User.username == "kept")) == "kept"
