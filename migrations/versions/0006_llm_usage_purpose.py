"""LLM usage rows say what a call was for: an agent's request, or the response cache's embedding for one.

Revision ID: 0006_llm_usage_purpose
Revises: 0004_identity_limits
Create Date: 2026-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_llm_usage_purpose"
down_revision: str | None = "0004_identity_limits"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows written before this revision were all agents' own calls.
    op.add_column("llm_usage", sa.Column("purpose", sa.String(32), server_default="request", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("llm_usage") as batch:  # SQLite drops a column by copying the table
        batch.drop_column("purpose")
