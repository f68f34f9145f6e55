"""The one SQL database behind the seen-JWT store, the card ledger, the feedback store and its quota.

All their tables are SQLAlchemy Core `Table`s on one `MetaData`, so that a hook call's
replay row and ledger rows can be written in one transaction, on one engine, and so
that the migrations (`cdshooks.schema`) have a single schema to describe. Nothing here
is SQLite-only: the same tables run on PostgreSQL by URL (psycopg 3).

An in-memory SQLite database lives inside one process. Replay protection and the
feedback quota only hold if every worker sees the same rows, so production mode
refuses such a URL (`is_shared`); sandbox mode may use it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

metadata = MetaData()


def in_memory(url: str) -> bool:
    """Whether `url` names an SQLite database that lives in one process's memory."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        return True
    return str(parsed.query.get("mode", "")) == "memory"


def engine_url(url: str) -> URL:
    """The URL as given, except that PostgreSQL without a named driver means psycopg 3 (the `postgres`
    extra), not SQLAlchemy's default psycopg2."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def shown(url: str) -> str:
    """The URL fit for a log line or a message: no password."""
    return make_url(url).render_as_string(hide_password=True)


def _engine(url: str) -> Engine:
    parsed = engine_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, pool_pre_ping=True)
    if in_memory(url):
        # one shared in-memory database for all threads of this process (sandbox and tests only)
        return create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 15})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers and the (short) writes of several workers overlap
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


class Database:
    """An engine on CDSHOOKS_DATABASE_URL; each store creates (and checks) its own tables on it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _engine(url)

    @property
    def shared(self) -> bool:
        """True when other processes (gunicorn workers, hosts) see the same rows."""
        return not in_memory(self.url)

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.engine.begin() as conn:
            yield conn

    def connect(self) -> Connection:
        return self.engine.connect()

    def close(self) -> None:
        self.engine.dispose()


PRUNE_EVERY_SECONDS = 60.0  # how often each process prunes a store's expired rows


class Throttle:
    """Whether a periodic chore (pruning a table) is due in this process: at most once per `every` seconds,
    whichever thread asks first. Several processes doing it at once delete the same rows, which is harmless."""

    def __init__(self, clock: Callable[[], float], every: float = PRUNE_EVERY_SECONDS) -> None:
        self._clock = clock
        self.every = every
        self._lock = threading.Lock()
        self._last = float("-inf")

    def due(self) -> bool:
        now = self._clock()
        with self._lock:
            if now - self._last < self.every:
                return False
            self._last = now
            return True
