"""A fixed-window quota of feedback items per issuer, counted in the shared SQL store.

Every worker and host increments the same row for (issuer, window), so the quota holds
for the whole service, not per process. Only feedback is counted: hook calls are never
throttled, since one hospital is one `iss` and a throttled hook call is advice a
clinician does not get. The increment is one conditional UPDATE (`used + n <= limit`),
atomic in any SQL database; the first request of a window INSERTs the row, and a
concurrent first INSERT that loses the race retries the UPDATE.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable

from sqlalchemy import BigInteger, Column, Integer, String, Table, UniqueConstraint, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from cdshooks.database import Database, metadata

feedback_quota_table = Table(
    "feedback_quota",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("iss", String(500), nullable=False),
    Column("window_start", BigInteger, nullable=False, index=True),
    Column("used", Integer, nullable=False),
    UniqueConstraint("iss", "window_start", name="uq_feedback_quota_iss_window"),
)


class FeedbackQuota:
    def __init__(
        self, database: Database, *, limit: int, window_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        if limit < 1 or window_seconds < 1:
            raise ValueError("the feedback quota and its window must be positive")
        self.database = database
        self.limit = limit
        self.window = window_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._pruned_window = -1

    def take(self, iss: str | None, items: int) -> int | None:
        """Count `items` against the issuer's current window: None if within the quota, else seconds to wait."""
        now = self._clock()
        start = int(now // self.window) * self.window
        retry_after = max(1, math.ceil(start + self.window - now))
        if items > self.limit:
            return retry_after
        self._maybe_prune(start)
        key = iss or ""
        table = feedback_quota_table
        row = (table.c.iss == key) & (table.c.window_start == start)
        for _ in range(2):
            with self.database.begin() as conn:
                counted = conn.execute(
                    update(table).where(row, table.c.used + items <= self.limit).values(used=table.c.used + items)
                ).rowcount
                if counted:
                    return None
                if conn.execute(select(table.c.used).where(row)).first() is not None:
                    return retry_after  # the window is full
            try:
                with self.database.begin() as conn:
                    conn.execute(insert(table).values(iss=key, window_start=start, used=items))
                return None
            except IntegrityError:
                continue  # another worker opened the window first: count against its row
        return retry_after

    def used(self, iss: str | None) -> int:
        start = int(self._clock() // self.window) * self.window
        table = feedback_quota_table
        with self.database.connect() as conn:
            value = conn.execute(
                select(table.c.used).where(table.c.iss == (iss or ""), table.c.window_start == start)
            ).scalar()
        return int(value or 0)

    def _maybe_prune(self, start: int) -> None:
        with self._lock:
            if self._pruned_window == start:
                return
            self._pruned_window = start
        with self.database.begin() as conn:
            conn.execute(delete(feedback_quota_table).where(feedback_quota_table.c.window_start < start))
