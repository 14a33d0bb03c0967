"""Alembic environment: the connection arrives through ``config.attributes`` (migrate.py)."""

from alembic import context

from cvatcore.core.models import Base

config = context.config
connection = config.attributes["connection"]

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
connection.commit()
