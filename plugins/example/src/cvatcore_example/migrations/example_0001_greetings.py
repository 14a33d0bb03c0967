"""cvatcore-example: the greetings table

The first revision of the plugin's own branch: ``branch_labels`` names the branch and
``depends_on`` the core revision whose tables it needs (here only to order it after them).

Revision ID: example_0001
Revises:
Create Date: 2026-11-23 18:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "example_0001"
down_revision = None
branch_labels = ("cvatcore_example",)
depends_on = "0001_core"


def upgrade() -> None:
    op.create_table(
        "example_greetings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name="fk_example_greetings_created_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_example_greetings"),
    )


def downgrade() -> None:
    op.drop_table("example_greetings")
