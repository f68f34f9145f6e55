"""The production WSGI server really starts and answers (what `make run` does)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

from tests.conftest import draft_med, hook_request, service_url
from tests.live_server import running_server


def test_gunicorn_serves_discovery_and_hooks(tmp_path: Path):
    with running_server(tmp_path, "--sandbox") as (base, stderr):
        with urllib.request.urlopen(f"{base}/cds-services", timeout=5) as response:
            assert len(json.loads(response.read())["services"]) == 3
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
    assert b"SANDBOX MODE" in stderr[0]
