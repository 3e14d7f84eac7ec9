"""LLM usage: one row per model call, for limits, budgets and chargeback reports.

Revision ID: 0005_llm_usage
Revises: 0002_audit
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_llm_usage"
down_revision: str | None = "0002_audit"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "llm_usage",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("team", sa.String(64), nullable=True),
        sa.Column("api", sa.String(16), nullable=False),
        sa.Column("model", sa.String(128), nullable=False),
        sa.Column("model_group", sa.String(128), nullable=False),
        sa.Column("deployment", sa.String(200), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost", sa.Float(), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("ttft_ms", sa.Float(), nullable=True),
        sa.Column("experiment", sa.String(64), nullable=False),
        sa.Column("arm", sa.String(128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_llm_usage")),
    )
    op.create_index(op.f("ix_llm_usage_at"), "llm_usage", ["at"])
    op.create_index(op.f("ix_llm_usage_day"), "llm_usage", ["day"])
    op.create_index(op.f("ix_llm_usage_agent"), "llm_usage", ["agent"])


def downgrade() -> None:
    op.drop_index(op.f("ix_llm_usage_agent"), table_name="llm_usage")
    op.drop_index(op.f("ix_llm_usage_day"), table_name="llm_usage")
    op.drop_index(op.f("ix_llm_usage_at"), table_name="llm_usage")
    op.drop_table("llm_usage")
