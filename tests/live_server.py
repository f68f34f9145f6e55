"""Run `cdshooks serve` (gunicorn) in a subprocess on a free loopback port, for tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def stop(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not exited within `timeout` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def running_server(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, list[bytes]]]:
    """Yield (base URL, [stderr once stopped]) of a server started with `cdshooks serve ARGS`."""
    port = free_port()
    environment = {**os.environ, "CDSHOOKS_DATABASE_URL": f"sqlite:///{tmp_path / 'fb.sqlite3'}", **(env or {})}
    process = subprocess.Popen(
        [sys.executable, "-m", "cdshooks.cli", "serve", "--port", str(port), "--workers", "1", *args],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    stderr: list[bytes] = []
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{base}/healthz", timeout=1)
                break
            except OSError:
                if process.poll() is not None:
                    raise AssertionError(process.stderr.read().decode()) from None
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        yield base, stderr
    finally:
        process.terminate()
        stderr.append(process.communicate(timeout=15)[1])
