"""The feedback store (SQLAlchemy Core): what clinicians did with our cards.

Only what the spec defines is stored — card, outcome, accepted suggestion ids, the
override reason's coding and comment, the outcome time — with the service and the
client's `iss` and `tenant`; fields a client adds are not. A repeated identical item
(clients may resend) is stored once: its digest covers exactly the stored fields, so
an extra unknown field does not make a repeat look new. Whether an item may be stored
at all (a card this service issued, to this client, at this service) is checked
against the ledger before it gets here.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, DateTime, Integer, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from cdshooks.database import Database, metadata
from cdshooks.protocol import FeedbackItem

feedback_table = Table(
    "feedback",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("service_id", String(200), nullable=False, index=True),
    Column("card_uuid", String(200), nullable=False, index=True),
    Column("outcome", String(20), nullable=False),
    Column("accepted_suggestions", JSON, nullable=True),
    Column("override_reason", JSON, nullable=True),
    Column("outcome_timestamp", String(40), nullable=False),
    Column("iss", String(500), nullable=True, index=True),
    Column("tenant", String(255), nullable=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
)


def stored_fields(service_id: str, item: FeedbackItem, iss: str | None, tenant: str | None) -> dict[str, Any]:
    """The row for one feedback item, without id, digest and arrival time."""
    reason = item.overrideReason
    override: dict[str, Any] | None = None
    if reason is not None:
        override = {}
        if reason.reason is not None:
            coding = {"system": reason.reason.system, "code": reason.reason.code, "display": reason.reason.display}
            override["reason"] = {k: v for k, v in coding.items() if v is not None}
        if reason.userComment is not None:
            override["userComment"] = reason.userComment
    return {
        "service_id": service_id,
        "card_uuid": item.card,
        "outcome": item.outcome,
        "accepted_suggestions": [{"id": s.id} for s in item.acceptedSuggestions] if item.acceptedSuggestions else None,
        "override_reason": override or None,
        "outcome_timestamp": item.outcomeTimestamp,
        "iss": iss,
        "tenant": tenant,
    }


def digest(fields: dict[str, Any]) -> str:
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class FeedbackStore:
    def __init__(self, database: Database | str) -> None:
        self.database = database if isinstance(database, Database) else Database(database)

    def add(
        self, service_id: str, items: list[FeedbackItem], *, iss: str | None = None, tenant: str | None = None
    ) -> tuple[int, int]:
        """Store items; return (stored, duplicates)."""
        new = self.add_each(service_id, items, iss=iss, tenant=tenant)
        return sum(new), len(new) - sum(new)

    def add_each(
        self, service_id: str, items: list[FeedbackItem], *, iss: str | None = None, tenant: str | None = None
    ) -> list[bool]:
        """Store items in one transaction; per item, whether it was new (False: a duplicate)."""
        new: list[bool] = []
        now = datetime.now(UTC)
        with self.database.begin() as conn:
            for item in items:
                fields = stored_fields(service_id, item, iss, tenant)
                try:
                    with conn.begin_nested():
                        conn.execute(insert(feedback_table).values(digest=digest(fields), received_at=now, **fields))
                    new.append(True)
                except IntegrityError:
                    new.append(False)
        return new

    def all(self, service_id: str | None = None) -> list[dict[str, Any]]:
        query = select(feedback_table).order_by(feedback_table.c.id)
        if service_id:
            query = query.where(feedback_table.c.service_id == service_id)
        with self.database.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def close(self) -> None:
        self.database.close()
