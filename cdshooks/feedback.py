"""The feedback store (SQLAlchemy Core): what clinicians did with our cards.

SQLite by default, any SQLAlchemy URL via CDSHOOKS_DATABASE_URL. A repeated
identical feedback item (clients may resend) is stored once, keyed by a digest.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    insert,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from cdshooks.protocol import FeedbackItem

metadata = MetaData()

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
    Column("received_at", DateTime(timezone=True), nullable=False),
)


class FeedbackStore:
    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        connect_args: dict[str, Any] = {}
        if parsed.get_backend_name() == "sqlite":
            connect_args["timeout"] = 15
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine = create_engine(url, connect_args=connect_args, pool_pre_ping=True)
        metadata.create_all(self.engine)

    @staticmethod
    def digest(service_id: str, item: FeedbackItem) -> str:
        canonical = json.dumps(
            {"service": service_id, **item.model_dump(mode="json", exclude_none=True)},
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    def add(self, service_id: str, items: list[FeedbackItem]) -> tuple[int, int]:
        """Store items; return (stored, duplicates)."""
        stored = duplicates = 0
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for item in items:
                row = {
                    "digest": self.digest(service_id, item),
                    "service_id": service_id,
                    "card_uuid": item.card,
                    "outcome": item.outcome,
                    "accepted_suggestions": [s.model_dump(mode="json") for s in item.acceptedSuggestions]
                    if item.acceptedSuggestions
                    else None,
                    "override_reason": item.overrideReason.model_dump(mode="json", exclude_none=True)
                    if item.overrideReason
                    else None,
                    "outcome_timestamp": item.outcomeTimestamp,
                    "received_at": now,
                }
                try:
                    with conn.begin_nested():
                        conn.execute(insert(feedback_table).values(**row))
                    stored += 1
                except IntegrityError:
                    duplicates += 1
        return stored, duplicates

    def all(self, service_id: str | None = None) -> list[dict[str, Any]]:
        query = select(feedback_table).order_by(feedback_table.c.id)
        if service_id:
            query = query.where(feedback_table.c.service_id == service_id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def close(self) -> None:
        self.engine.dispose()
