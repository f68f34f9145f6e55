"""A real PostgreSQL server for tests: Debian's package, a throw-away cluster on a free loopback port.

initdb refuses to run as root, so when the tests run as root (CI does) the cluster belongs to an
unprivileged user (`postgres`, which Debian's package creates, else `nobody`) and its commands run
through `runuser`. The cluster trusts local connections and skips fsync: test data only. Without
PostgreSQL (`apt-get install postgresql`) or psycopg (the `postgres` extra) the tests that need it
skip, unless CDSHOOKS_REQUIRE_INTEGRATION=1 (see tests/integration.py).
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.integration import unavailable
from tests.live_server import free_port, stop

READY_TIMEOUT = 30.0
INSTALL = "apt-get install postgresql"


def _binaries() -> Path | None:
    """The bin folder of the newest PostgreSQL Debian installs side by side (else initdb on PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _owner() -> str | None:
    """The unprivileged user to run the cluster as when the tests run as root (None: run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
            return name
        except KeyError:
            continue
    unavailable("the tests run as root and there is no unprivileged user to own a PostgreSQL cluster")


def _as_owner(owner: str | None, command: list[str]) -> list[str]:
    return ["runuser", "-u", owner, "--", *command] if owner else command


@dataclass(frozen=True)
class PostgresServer:
    host: str
    port: int
    user: str

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def new_database(self) -> str:
        """The URL of a new, empty database of its own (tests do not share rows)."""
        import psycopg

        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host={self.host} port={self.port} user={self.user} dbname=postgres") as conn:
            conn.autocommit = True
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    try:
        import psycopg
    except ImportError:
        unavailable("psycopg is not installed (pip install -e '.[postgres]')")
    binaries = _binaries()
    if binaries is None:
        unavailable(f"PostgreSQL is not installed ({INSTALL})")
    owner = _owner()
    folder = Path(tempfile.mkdtemp(prefix="cdshooks-pg-"))
    data, sockets, log = folder / "data", folder / "sockets", folder / "postgres.log"
    sockets.mkdir()
    if owner:
        shutil.chown(folder, owner)
        shutil.chown(sockets, owner)
    user = "cdshooks"
    initdb = [str(binaries / "initdb"), "-D", str(data), "-U", user, "-A", "trust", "-E", "UTF8", "--no-sync"]
    done = subprocess.run(_as_owner(owner, initdb), capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        shutil.rmtree(folder, ignore_errors=True)
        raise RuntimeError(f"initdb failed: {done.stderr.strip()[-2000:]}")
    port = free_port()
    settings = ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    command = [str(binaries / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(sockets)]
    with log.open("wb") as output:
        process = subprocess.Popen(_as_owner(owner, command + settings), stdout=output, stderr=subprocess.STDOUT)
    server = PostgresServer("127.0.0.1", port, user)
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                psycopg.connect(f"host=127.0.0.1 port={port} user={user} dbname=postgres", connect_timeout=2).close()
                break
            except psycopg.OperationalError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        yield server
    finally:
        stop(process)
        shutil.rmtree(folder, ignore_errors=True)
