"""Run a call in a child process under a deadline: a guard against hangs, not a speed test.

A regular expression that backtracks holds the GIL for as long as it runs, so no
timer in the same process can interrupt it; a child process can be waited for with a
timeout and killed. The deadline is coarse (seconds): it tells "answered" from "hung".
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable
from multiprocessing.pool import Pool
from typing import Any


class HangGuard:
    def __init__(self, timeout: float = 20.0) -> None:
        self.timeout = timeout
        self._pool: Pool | None = None

    def run(self, function: Callable[..., Any], *args: Any) -> Any:
        """`function(*args)` in the child (a module-level function, arguments picklable); fails if it hangs."""
        if self._pool is None:
            self._pool = multiprocessing.get_context("spawn").Pool(1)
        pending = self._pool.apply_async(function, args)
        try:
            return pending.get(self.timeout)
        except multiprocessing.TimeoutError:
            self.close()  # kill the stuck child; the next call starts a fresh one
            raise AssertionError(f"no answer within {self.timeout:.0f} s: the call hangs") from None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
