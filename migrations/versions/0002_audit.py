"""The audit log: one hash-chained record per agent request.

Revision ID: 0002_audit
Revises: 0004_identity
Create Date: 2026-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002_audit"
down_revision: str | None = "0004_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_records",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("chain", sa.String(32), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("error_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("agent", sa.String(128), nullable=True),
        sa.Column("team", sa.String(128), nullable=True),
        sa.Column("key_id", sa.String(128), nullable=True),
        sa.Column("server", sa.String(128), nullable=True),
        sa.Column("target", sa.Text(), nullable=True),
        sa.Column("upstream", sa.String(128), nullable=True),
        sa.Column("latency_us", sa.BigInteger(), nullable=False),
        sa.Column("request_bytes", sa.BigInteger(), nullable=False),
        sa.Column("response_bytes", sa.BigInteger(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("response", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_records")),
        sa.UniqueConstraint("chain", "seq", name="uq_audit_records_chain_seq"),
    )
    op.create_index(op.f("ix_audit_records_agent"), "audit_records", ["agent"])
    op.create_index("ix_audit_records_ts_id", "audit_records", ["ts", "id"])


def downgrade() -> None:
    op.drop_index("ix_audit_records_ts_id", table_name="audit_records")
    op.drop_index(op.f("ix_audit_records_agent"), table_name="audit_records")
    op.drop_table("audit_records")
