"""The ledger keeps a card's suggestions in the card's row: a hook call writes one insert.

`issued_card.suggestion_uuids` holds the uuids space-separated (the service's own UUIDs, which hold
no space), copied from `issued_suggestion`, which goes. The index on `patient_ref` goes too: nothing
looks a card up by patient, and every index is one more page written per card.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

BATCH = 1000
card = sa.table("issued_card", sa.column("card_uuid", sa.String), sa.column("suggestion_uuids", sa.Text))
suggestion = sa.table(
    "issued_suggestion",
    sa.column("id", sa.Integer),
    sa.column("suggestion_uuid", sa.String),
    sa.column("card_uuid", sa.String),
    sa.column("issued_at", sa.DateTime(timezone=True)),
)


def _suggestions_by_card(bind: sa.Connection) -> Iterator[list[dict[str, str]]]:
    """Batches of {card, uuids}, reading the suggestions a page of cards at a time (any ledger size)."""
    after = ""
    while True:
        cards = [
            c
            for (c,) in bind.execute(
                sa.select(suggestion.c.card_uuid)
                .where(suggestion.c.card_uuid > after)
                .group_by(suggestion.c.card_uuid)
                .order_by(suggestion.c.card_uuid)
                .limit(BATCH)
            )
        ]
        if not cards:
            return
        uuids: dict[str, list[str]] = {c: [] for c in cards}
        query = (
            sa.select(suggestion.c.card_uuid, suggestion.c.suggestion_uuid)
            .where(suggestion.c.card_uuid.in_(cards))
            .order_by(suggestion.c.id)
        )
        for card_uuid, suggestion_uuid in bind.execute(query):
            uuids[card_uuid].append(suggestion_uuid)
        yield [{"card": c, "uuids": " ".join(found)} for c, found in uuids.items()]
        after = cards[-1]


def upgrade() -> None:
    with op.batch_alter_table("issued_card") as batch:
        batch.add_column(sa.Column("suggestion_uuids", sa.Text, nullable=False, server_default=""))
        batch.drop_index("ix_issued_card_patient_ref")
    bind = op.get_bind()
    update = (
        card.update().where(card.c.card_uuid == sa.bindparam("card")).values(suggestion_uuids=sa.bindparam("uuids"))
    )
    for rows in _suggestions_by_card(bind):
        bind.execute(update, rows)
    op.drop_table("issued_suggestion")


def downgrade() -> None:
    op.create_table(
        "issued_suggestion",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("suggestion_uuid", sa.String(100), nullable=False, unique=True),
        sa.Column("card_uuid", sa.String(100), sa.ForeignKey("issued_card.card_uuid"), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_issued_suggestion_card_uuid", "issued_suggestion", ["card_uuid"])
    op.create_index("ix_issued_suggestion_issued_at", "issued_suggestion", ["issued_at"])
    bind = op.get_bind()
    cards = sa.table(
        "issued_card",
        sa.column("card_uuid", sa.String),
        sa.column("suggestion_uuids", sa.Text),
        sa.column("issued_at", sa.DateTime(timezone=True)),
    )
    rows = [
        {"suggestion_uuid": uuid, "card_uuid": card_uuid, "issued_at": issued_at}
        for card_uuid, uuids, issued_at in bind.execute(
            sa.select(cards.c.card_uuid, cards.c.suggestion_uuids, cards.c.issued_at)
        )
        for uuid in (uuids or "").split()
    ]
    if rows:
        bind.execute(suggestion.insert(), rows)
    with op.batch_alter_table("issued_card") as batch:
        batch.create_index("ix_issued_card_patient_ref", ["patient_ref"])
        batch.drop_column("suggestion_uuids")
