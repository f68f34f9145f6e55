"""The production WSGI server really starts and answers (what `make run` does)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import draft_med, hook_request, service_url


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorn_serves_discovery_and_hooks(tmp_path: Path):
    port = free_port()
    env = {**os.environ, "CDSHOOKS_DATABASE_URL": f"sqlite:///{tmp_path / 'fb.sqlite3'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "cdshooks.cli", "serve", "--sandbox", "--port", str(port), "--workers", "1"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"{base}/cds-services", timeout=2) as response:
                    discovery = json.loads(response.read())
                break
            except OSError:
                assert process.poll() is None, process.stderr.read().decode()
                assert time.monotonic() < deadline, "server did not start"
                time.sleep(0.2)
        assert len(discovery["services"]) == 3
        body = hook_request("order-sign", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
        request = urllib.request.Request(
            base + service_url("order-sign"),
            data=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert len(json.loads(response.read())["cards"]) == 1
        with urllib.request.urlopen(f"{base}/sandbox", timeout=5) as response:
            assert b"cdshooks sandbox" in response.read()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert b"SANDBOX MODE" in stderr
