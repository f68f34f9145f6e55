"""The feedback quota: fixed windows per issuer, one count for every process on the database."""

from __future__ import annotations

import threading
from pathlib import Path

from sqlalchemy import func, select

from cdshooks.quota import FeedbackQuota, feedback_quota_table
from tests.databases import migrated


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0  # the start of a 60 s window

    def __call__(self) -> float:
        return self.now


def test_a_window_fills_up_then_the_next_one_starts_empty(tmp_path: Path) -> None:
    clock = Clock()
    quota = FeedbackQuota(migrated(f"sqlite:///{tmp_path / 'q.db'}"), limit=5, window_seconds=60, clock=clock)
    assert [quota.take("https://a", 2) for _ in range(2)] == [None, None]
    clock.now += 15
    assert quota.take("https://a", 2) == 45  # only 1 left: wait for the window's end
    assert quota.take("https://a", 1) is None
    assert quota.take("https://b", 5) is None  # another issuer has its own count
    assert quota.used("https://a") == 5
    clock.now += 45
    assert quota.take("https://a", 5) is None


def test_one_count_for_every_process(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'q.db'}"
    clock = Clock()
    workers = [FeedbackQuota(migrated(url), limit=50, window_seconds=60, clock=clock) for _ in range(4)]
    results: list[int | None] = []
    lock = threading.Lock()
    barrier = threading.Barrier(8)

    def attempt(quota: FeedbackQuota) -> None:
        barrier.wait()
        for _ in range(10):
            outcome = quota.take("https://a", 1)
            with lock:
                results.append(outcome)

    threads = [threading.Thread(target=attempt, args=(workers[i % 4],)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results.count(None) == 50 and len(results) == 80
    assert workers[0].used("https://a") == 50


def test_past_windows_are_pruned(tmp_path: Path) -> None:
    clock = Clock()
    database = migrated(f"sqlite:///{tmp_path / 'q.db'}")
    quota = FeedbackQuota(database, limit=5, window_seconds=60, clock=clock)
    for _ in range(3):
        quota.take("https://a", 1)
        clock.now += 60
    quota.take("https://a", 1)
    with database.connect() as conn:
        assert conn.execute(select(func.count()).select_from(feedback_quota_table)).scalar_one() == 1
