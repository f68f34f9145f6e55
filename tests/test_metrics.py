"""`/metrics` under several gunicorn workers counts every worker's calls whichever worker answers the
scrape; spans reach an OTLP endpoint when one is configured; a metrics token, when set, is required."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
import requests

from cdshooks.app import create_app
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, service_url
from tests.live_server import running_server

CALLS = 24
TACROLIMUS = draft_med("tx-cscc", "42316", "tacrolimus")


def fresh_connection_post(base: str, path: str, body: Any) -> int:
    """POST on a connection of its own, so that calls spread over the workers."""
    return requests.post(base + path, json=body, headers={"Connection": "close"}, timeout=10).status_code


def counted(text: str, service: str) -> float:
    pattern = rf'^cdshooks_hook_call_seconds_count{{service="{service}",status="200"}} ([0-9.e+]+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found[1]) if found else 0.0


def test_every_worker_counts_in_every_scrape(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    with running_server(
        tmp_path, "--sandbox", "--workers", "2", env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}
    ) as (
        base,
        _,
    ):
        body = hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)
        assert {fresh_connection_post(base, service_url("order-select"), body) for _ in range(CALLS)} == {200}
        files = {path.name.split("_")[-1] for path in metrics_dir.glob("*.db")}
        assert len(files) >= 2, "both workers answered calls"  # one sample file per worker process
        scrapes = [requests.get(base + "/metrics", headers={"Connection": "close"}, timeout=10).text for _ in range(12)]
    for text in scrapes:
        assert counted(text, "skin-oncology-order-select") == CALLS
        assert 'cdshooks_cards_total{indicator="warning",rule="T1",service="skin-oncology-order-select"} 24.0' in text


def test_a_new_run_starts_its_counts_afresh(tmp_path: Path) -> None:
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_12345.db").write_bytes(b"left over by a previous run")
    with running_server(tmp_path, "--sandbox", env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)}) as (base, _):
        assert not (metrics_dir / "counter_12345.db").exists()
        assert requests.get(base + "/metrics", timeout=10).status_code == 200


class Collector(BaseHTTPRequestHandler):
    """An OTLP/HTTP endpoint that keeps what it is sent."""

    received: ClassVar[list[tuple[str, bytes]]] = []

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        Collector.received.append((self.path, self.rfile.read(length)))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def collector() -> Iterator[str]:
    Collector.received = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_spans_are_exported_when_an_otlp_endpoint_is_set(tmp_path: Path, collector: str) -> None:
    pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason="the otel extra is not installed")
    env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector, "OTEL_BSP_SCHEDULE_DELAY": "100"}
    with running_server(tmp_path, "--sandbox", env=env) as (base, _):
        body = hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)
        assert fresh_connection_post(base, service_url("order-select"), body) == 200
        pause = threading.Event()
        for _ in range(50):  # the batch processor sends within OTEL_BSP_SCHEDULE_DELAY
            if any(b"cdshooks.hook_call" in payload for _, payload in Collector.received):
                break
            pause.wait(0.1)
    payloads = [payload for path, payload in Collector.received if path == "/v1/traces"]
    assert payloads, Collector.received
    exported = b"".join(payloads)
    for name in (b"cdshooks.request", b"cdshooks.hook_call", b"cdshooks.fetch", b"cdshooks.rules", b"cdshooks.render"):
        assert name in exported
    assert b"tx-cscc" not in exported


def test_no_endpoint_no_export(tmp_path: Path, collector: str) -> None:
    with running_server(tmp_path, "--sandbox") as (base, _):
        body = hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)
        assert fresh_connection_post(base, service_url("order-select"), body) == 200
    assert Collector.received == []


def test_a_metrics_token_is_required_when_set(tmp_path: Path) -> None:
    client = create_app(
        Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'm.sqlite3'}", metrics_token="scrape-7f3a")
    ).test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401
    assert refused.get_json()["error"] == "unauthorized"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    scraped = client.get("/metrics", headers={"Authorization": "Bearer scrape-7f3a"})
    assert scraped.status_code == 200
    assert scraped.content_type.startswith("text/plain")
    assert "cdshooks_hook_call_seconds" in scraped.get_data(as_text=True)


def test_metrics_are_open_without_a_token(client: Any) -> None:
    assert client.get("/metrics").status_code == 200
