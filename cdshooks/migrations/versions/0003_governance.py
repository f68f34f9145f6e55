"""Governance: what each issued card was (shown or shadow, indicator, fingerprint, the clinician's keyed
reference), and the suppressions feedback creates — a snooze after an override with a reason, and no
repeat at order-sign of a card acted on at order-select.

Additive: the release before keeps working on it (its inserts leave the new columns to their defaults).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(sa.Column("shown", sa.Boolean, nullable=False, server_default=sa.true()))
        batch.add_column(sa.Column("indicator", sa.String(16), nullable=True))
        batch.add_column(sa.Column("fingerprint", sa.String(64), nullable=True))
        batch.add_column(sa.Column("user_ref", sa.String(64), nullable=True))
    op.create_table(
        "card_suppression",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("patient_ref", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("user_ref", sa.String(64), nullable=True),
        sa.Column("reason_code", sa.String(200), nullable=True),
        sa.Column("card_uuid", sa.String(100), nullable=False),
        sa.Column("iss", sa.String(500), nullable=True),
        sa.Column("tenant", sa.String(255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("until", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_card_suppression_patient_rule", "card_suppression", ["patient_ref", "rule_id"])
    op.create_index("ix_card_suppression_until", "card_suppression", ["until"])


def downgrade() -> None:
    op.drop_index("ix_card_suppression_until", table_name="card_suppression")
    op.drop_index("ix_card_suppression_patient_rule", table_name="card_suppression")
    op.drop_table("card_suppression")
    with op.batch_alter_table("issued_card") as batch:
        batch.drop_column("user_ref")
        batch.drop_column("fingerprint")
        batch.drop_column("indicator")
        batch.drop_column("shown")
