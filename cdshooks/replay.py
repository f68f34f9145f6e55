"""Replay protection: a JWT's `jti` is accepted once per issuer within the token's lifetime.

The seen `(iss, jti)` pairs live in the database (SQLAlchemy Core, the same URL as
the feedback store), so the guarantee holds across gunicorn workers and hosts: a
unique constraint makes the second insert of a pair fail, whichever process tries.
Rows are kept until the token has expired (plus the clock-skew leeway) and then
pruned, at most once a minute per process.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    create_engine,
    delete,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.pool import StaticPool

MAX_JTI_LENGTH = 255
MAX_ISS_LENGTH = 500
PRUNE_EVERY_SECONDS = 60.0

metadata = MetaData()

seen_jwt_table = Table(
    "seen_jwt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("iss", String(MAX_ISS_LENGTH), nullable=False),
    Column("jti", String(MAX_JTI_LENGTH), nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
    UniqueConstraint("iss", "jti", name="uq_seen_jwt_iss_jti"),
)


def _engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if not parsed.database or parsed.database == ":memory:":
        # one shared in-memory database for all threads of this process
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers and the (short) jti inserts of several workers overlap
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class ReplayStore:
    def __init__(self, url: str, *, clock: Any = time.time) -> None:
        self.engine = _engine(url)
        metadata.create_all(self.engine)
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def first_use(self, iss: str, jti: str, expires: float) -> bool:
        """Record (iss, jti) until `expires` (epoch seconds); False if it was seen before."""
        if len(iss) > MAX_ISS_LENGTH or len(jti) > MAX_JTI_LENGTH:
            raise ValueError("iss or jti too long")
        self._maybe_prune()
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(seen_jwt_table).values(iss=iss, jti=jti, expires=int(expires) + 1))
        except IntegrityError:
            return False
        return True

    def _maybe_prune(self) -> None:
        now = self._clock()
        with self._lock:
            if now - self._pruned_at < PRUNE_EVERY_SECONDS:
                return
            self._pruned_at = now
        self.prune(now)

    def prune(self, now: float | None = None) -> int:
        """Forget the jtis of tokens that have expired; return how many."""
        cutoff = int(self._clock() if now is None else now)
        with self.engine.begin() as conn:
            return conn.execute(delete(seen_jwt_table).where(seen_jwt_table.c.expires < cutoff)).rowcount

    def count(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(seen_jwt_table)).scalar_one())

    def close(self) -> None:
        self.engine.dispose()
