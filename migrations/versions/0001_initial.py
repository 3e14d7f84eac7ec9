"""The catalog (upstreams, virtual servers, agents) and agent keys.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
CATALOG_TABLES = ("upstreams", "virtual_servers", "agents")


def upgrade() -> None:
    for table in CATALOG_TABLES:
        op.create_table(
            table,
            sa.Column("name", sa.String(64), nullable=False),
            sa.Column("config", JSON_DOCUMENT, nullable=False),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.PrimaryKeyConstraint("name", name=op.f(f"pk_{table}")),
        )
    op.create_table(
        "agent_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agent"], ["agents.name"], name=op.f("fk_agent_keys_agent_agents"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_keys")),
        sa.UniqueConstraint("sha256", name=op.f("uq_agent_keys_sha256")),
    )
    op.create_index(op.f("ix_agent_keys_agent"), "agent_keys", ["agent"])
    op.create_index(op.f("ix_agent_keys_key_id"), "agent_keys", ["key_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_keys_key_id"), table_name="agent_keys")
    op.drop_index(op.f("ix_agent_keys_agent"), table_name="agent_keys")
    op.drop_table("agent_keys")
    for table in reversed(CATALOG_TABLES):
        op.drop_table(table)
