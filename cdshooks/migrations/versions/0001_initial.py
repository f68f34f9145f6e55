"""The schema as release 0.1.0 created it (tables made on first use, before migrations existed).

A database made by that release has these tables and no `alembic_version`: `cdshooks db upgrade`
checks it has exactly them, stamps it with this revision, and upgrades it from here.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "seen_jwt",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires", sa.BigInteger, nullable=False),
        sa.UniqueConstraint("iss", "jti", name="uq_seen_jwt_iss_jti"),
    )
    op.create_index("ix_seen_jwt_expires", "seen_jwt", ["expires"])

    op.create_table(
        "issued_card",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("card_uuid", sa.String(100), nullable=False, unique=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("rule_version", sa.String(64), nullable=False),
        sa.Column("hook_instance", sa.String(200), nullable=True),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("iss", sa.String(500), nullable=True),
        sa.Column("tenant", sa.String(255), nullable=True),
        sa.Column("patient_ref", sa.String(64), nullable=False),
        sa.Column("patient_key_id", sa.String(16), nullable=False),
    )
    op.create_index("ix_issued_card_issued_at", "issued_card", ["issued_at"])
    op.create_index("ix_issued_card_patient_ref", "issued_card", ["patient_ref"])

    op.create_table(
        "issued_suggestion",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("suggestion_uuid", sa.String(100), nullable=False, unique=True),
        sa.Column("card_uuid", sa.String(100), sa.ForeignKey("issued_card.card_uuid"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_issued_suggestion_card_uuid", "issued_suggestion", ["card_uuid"])
    op.create_index("ix_issued_suggestion_issued_at", "issued_suggestion", ["issued_at"])

    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, unique=True),
        sa.Column("service_id", sa.String(200), nullable=False),
        sa.Column("card_uuid", sa.String(200), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON, nullable=True),
        sa.Column("override_reason", sa.JSON, nullable=True),
        sa.Column("outcome_timestamp", sa.String(40), nullable=False),
        sa.Column("iss", sa.String(500), nullable=True),
        sa.Column("tenant", sa.String(255), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_feedback_service_id", "feedback", ["service_id"])
    op.create_index("ix_feedback_card_uuid", "feedback", ["card_uuid"])
    op.create_index("ix_feedback_iss", "feedback", ["iss"])

    op.create_table(
        "feedback_quota",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("iss", sa.String(500), nullable=False),
        sa.Column("window_start", sa.BigInteger, nullable=False),
        sa.Column("used", sa.Integer, nullable=False),
        sa.UniqueConstraint("iss", "window_start", name="uq_feedback_quota_iss_window"),
    )
    op.create_index("ix_feedback_quota_window_start", "feedback_quota", ["window_start"])


def downgrade() -> None:
    for table in ("feedback_quota", "feedback", "issued_suggestion", "issued_card", "seen_jwt"):
        op.drop_table(table)
