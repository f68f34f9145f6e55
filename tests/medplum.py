"""Medplum's FHIR engine as a real FHIR server on loopback, for tests (the Node project in tests/fhir_server).

The stub in tests/fhir_stub.py answers exactly what our prefetch templates ask for; this one
is somebody else's reading of FHIR search, so it catches queries a real server would answer
differently. `npm ci` in tests/fhir_server installs it from its lock file (`.ci/run` does so
in CI); without that, tests using it skip (see tests/integration.py).
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.integration import node_version, require_node_modules
from tests.live_server import stop

SERVER_DIR = Path(__file__).resolve().parent / "fhir_server"
# @medplum/core reads the WebSocket global at import: built into Node 22, behind a flag from Node 20.10.
MIN_NODE = (20, 10)
READY_TIMEOUT = 60.0


@dataclass(frozen=True)
class MedplumServer:
    base_url: str
    token: str
    log_path: Path
    startup_seconds: float  # from spawning node to the server listening, seeded

    def requests(self) -> list[dict[str, Any]]:
        """Every request the server answered so far, as it logged them (method, path, query, status, …)."""
        lines = self.log_path.read_text().splitlines()
        return [record for record in map(json.loads, lines) if record.get("event") == "request"]

    def mark(self) -> int:
        """A position in the request log, for `requests_since`."""
        return len(self.requests())

    def requests_since(self, mark: int) -> list[dict[str, Any]]:
        """The requests answered after `mark` (the server logs each one before it answers)."""
        return self.requests()[mark:]


@contextmanager
def medplum_server(bundles: Sequence[Path], workdir: Path, *, page_size: int = 2) -> Iterator[MedplumServer]:
    """A Medplum FHIR server seeded with `bundles`, paging searches by `page_size`; stopped on exit."""
    node = require_node_modules(SERVER_DIR, min_node=MIN_NODE)
    flags = ["--experimental-websocket"] if node_version(node)[0] < 22 else []
    token = secrets.token_urlsafe(24)
    log_path, err_path = workdir / "medplum.log", workdir / "medplum.err"
    command = [node, *flags, "server.mjs", "--port", "0", "--page-size", str(page_size), *map(str, bundles)]
    started = time.monotonic()
    with log_path.open("wb") as out, err_path.open("wb") as err:
        process = subprocess.Popen(
            command, cwd=SERVER_DIR, stdout=out, stderr=err, env={**os.environ, "FHIR_SERVER_TOKEN": token}
        )
    try:
        listening = _wait_until_listening(process, log_path, err_path)
        yield MedplumServer(listening["base"], token, log_path, time.monotonic() - started)
    finally:
        stop(process, timeout=10)


def _wait_until_listening(process: subprocess.Popen[bytes], log_path: Path, err_path: Path) -> dict[str, Any]:
    """The server's first log line, once seeding is done and it listens; AssertionError if it never does."""
    deadline = time.monotonic() + READY_TIMEOUT
    while True:
        first = log_path.read_text().partition("\n")
        if first[1]:
            record = json.loads(first[0])
            assert record.get("event") == "listening", record
            return record
        if process.poll() is not None:
            raise AssertionError(f"the Medplum server exited with {process.returncode}: {err_path.read_text()}")
        assert time.monotonic() < deadline, f"the Medplum server did not listen within {READY_TIMEOUT:.0f} s"
        time.sleep(0.05)
