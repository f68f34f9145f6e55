"""Replay protection: a JWT's `jti` is accepted once per issuer within the token's lifetime.

The seen `(iss, jti)` pairs live in the shared database, so the guarantee holds across
gunicorn workers and hosts: a unique constraint makes the second insert of a pair
fail, whichever process tries. A hook call writes its pair in the same transaction as
the cards it issued (`record` on the caller's connection); discovery and feedback
calls write it on its own (`first_use`). Rows are kept until the token has expired
(plus the clock-skew leeway) — at most CDSHOOKS_JWT_MAX_LIFETIME after it was issued,
since longer-lived tokens are refused — and then pruned, at most once a minute per
process.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import BigInteger, Column, Integer, String, Table, UniqueConstraint, delete, func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from cdshooks.database import Database, Throttle, metadata

MAX_JTI_LENGTH = 255
MAX_ISS_LENGTH = 500
MAX_EXPIRES = 2**53  # epoch seconds; the authenticator never passes more than now + lifetime + leeway

seen_jwt_table = Table(
    "seen_jwt",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("iss", String(MAX_ISS_LENGTH), nullable=False),
    Column("jti", String(MAX_JTI_LENGTH), nullable=False),
    Column("expires", BigInteger, nullable=False, index=True),
    UniqueConstraint("iss", "jti", name="uq_seen_jwt_iss_jti"),
)


class Replayed(Exception):
    """This (iss, jti) was used before."""


class ReplayStore:
    def __init__(self, database: Database | str, *, clock: Callable[[], float] = time.time) -> None:
        self.database = database if isinstance(database, Database) else Database(database)
        self._clock = clock
        self._prune = Throttle(self._clock)

    def seen(self, iss: str, jti: str) -> bool:
        """Whether (iss, jti) is already recorded: lets a replay be refused before any work is done for it."""
        query = select(seen_jwt_table.c.id).where(seen_jwt_table.c.iss == iss, seen_jwt_table.c.jti == jti)
        with self.database.connect() as conn:
            return conn.execute(query.limit(1)).first() is not None

    def record(self, conn: Connection, iss: str, jti: str, expires: float) -> None:
        """Insert (iss, jti), kept until `expires` (epoch seconds), in the caller's transaction; raise Replayed."""
        if len(iss) > MAX_ISS_LENGTH or len(jti) > MAX_JTI_LENGTH:
            raise ValueError("iss or jti too long")
        if not 0 <= expires < MAX_EXPIRES:
            raise ValueError("expiry out of range")
        try:
            conn.execute(insert(seen_jwt_table).values(iss=iss, jti=jti, expires=int(expires) + 1))
        except IntegrityError:
            raise Replayed from None

    def first_use(self, iss: str, jti: str, expires: float) -> bool:
        """Record (iss, jti) in a transaction of its own; False if it was seen before."""
        self.maybe_prune()
        try:
            with self.database.begin() as conn:
                self.record(conn, iss, jti, expires)
        except Replayed:
            return False
        return True

    def maybe_prune(self) -> None:
        """Prune if this process has not done so for a minute (call it outside any open transaction)."""
        if self._prune.due():
            self.prune()

    def prune(self, now: float | None = None) -> int:
        """Forget the jtis of tokens that have expired; return how many."""
        cutoff = int(self._clock() if now is None else now)
        with self.database.begin() as conn:
            return conn.execute(delete(seen_jwt_table).where(seen_jwt_table.c.expires < cutoff)).rowcount

    def count(self) -> int:
        with self.database.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(seen_jwt_table)).scalar_one())

    def close(self) -> None:
        self.database.close()
