"""Databases for tests: a SQLite file migrated to the head, as `cdshooks db upgrade` leaves one."""

from __future__ import annotations

from cdshooks.database import Database
from cdshooks.schema import upgrade


def migrated(url: str) -> Database:
    database = Database(url)
    upgrade(database)
    return database


def migrated_url(url: str) -> str:
    """`url`, once its database is at the head (the connection pool is closed again)."""
    migrated(url).close()
    return url
