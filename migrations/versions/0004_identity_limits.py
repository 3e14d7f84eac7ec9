"""Rate-limit rules as catalog rows, so the admin API can change them at run time.

Revision ID: 0004_identity_limits
Revises: 0005_llm_usage
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004_identity_limits"
down_revision: str | None = "0005_llm_usage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON_DOCUMENT = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "limits",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("config", JSON_DOCUMENT, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_limits")),
    )


def downgrade() -> None:
    op.drop_table("limits")
