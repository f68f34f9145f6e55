"""The seen-jti store: one use per (iss, jti), shared by all connections, pruned after expiry."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from cdshooks.replay import ReplayStore
from tests.databases import migrated


def test_second_use_is_refused_and_issuers_are_separate(tmp_path: Path) -> None:
    store = ReplayStore(migrated(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    assert store.first_use("https://a", "jti-1", 2_000_000_000)
    assert not store.first_use("https://a", "jti-1", 2_000_000_000)
    assert store.first_use("https://b", "jti-1", 2_000_000_000)
    other = ReplayStore(migrated(f"sqlite:///{tmp_path / 'db.sqlite3'}"))  # another worker
    assert not other.first_use("https://a", "jti-1", 2_000_000_000)


def test_expired_entries_are_pruned(tmp_path: Path) -> None:
    now = [1_700_000_000.0]
    store = ReplayStore(migrated(f"sqlite:///{tmp_path / 'db.sqlite3'}"), clock=lambda: now[0])
    store.first_use("https://a", "old", now[0] + 60)
    store.first_use("https://a", "new", now[0] + 600)
    now[0] += 120
    assert store.prune() == 1
    assert store.count() == 1
    assert not store.first_use("https://a", "new", now[0] + 600)


def test_concurrent_first_use_accepts_exactly_one(tmp_path: Path) -> None:
    store = ReplayStore(migrated(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    results: list[bool] = []
    barrier = threading.Barrier(8)

    def attempt() -> None:
        barrier.wait()
        results.append(store.first_use("https://a", "raced", 2_000_000_000))

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]


def test_in_memory_database_is_shared_by_threads() -> None:
    store = ReplayStore(migrated("sqlite:///:memory:"))
    assert store.first_use("https://a", "x", 2_000_000_000)
    seen: list[bool] = []
    thread = threading.Thread(target=lambda: seen.append(store.first_use("https://a", "x", 2_000_000_000)))
    thread.start()
    thread.join()
    assert seen == [False]


def test_overlong_values_are_refused(tmp_path: Path) -> None:
    store = ReplayStore(migrated(f"sqlite:///{tmp_path / 'db.sqlite3'}"))
    with pytest.raises(ValueError):
        store.first_use("https://a", "x" * 256, 2_000_000_000)
