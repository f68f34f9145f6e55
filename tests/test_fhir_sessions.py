"""FHIR reads share a process-wide pool of sessions: calls reuse kept-alive connections, and nothing a
server sets (a cookie) is carried into another call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from cdshooks.fhir_client import FhirClient, SessionPool

BUNDLE = json.dumps({"resourceType": "Bundle", "type": "searchset", "entry": []}).encode()


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        self.peers: list[tuple[str, int]] = []
        self.cookies: list[str | None] = []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server: Recorder

    def do_GET(self) -> None:
        self.server.peers.append(self.client_address)
        self.server.cookies.append(self.headers.get("Cookie"))
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(BUNDLE)))
        self.send_header("Set-Cookie", "session=patient-a; Path=/")
        self.end_headers()
        self.wfile.write(BUNDLE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[Recorder]:
    recorder = Recorder()
    thread = threading.Thread(target=recorder.serve_forever, daemon=True)
    thread.start()
    yield recorder
    recorder.shutdown()
    recorder.server_close()


def client(server: Recorder) -> FhirClient:
    base = f"http://127.0.0.1:{server.server_address[1]}/fhir"
    return FhirClient(base, "token", budget_seconds=5, request_timeout=2, max_pages=2)


def test_calls_reuse_a_kept_alive_connection(server: Recorder) -> None:
    for _ in range(3):  # three hook calls, each with its own client, each on a thread of its own
        worker = threading.Thread(target=client(server).search, args=("Condition?patient=p1",))
        worker.start()
        worker.join(10)
    assert len(server.peers) == 3
    assert len(set(server.peers)) == 1  # one TCP connection served all three


def test_no_cookie_set_by_a_server_reaches_a_later_call(server: Recorder) -> None:
    client(server).search("Condition?patient=p1")
    client(server).search("Condition?patient=p2")
    assert server.cookies == [None, None]


def test_a_session_serves_one_request_at_a_time_and_a_failed_one_is_not_kept() -> None:
    pool = SessionPool(keep=1)
    with pool.session() as first, pool.session() as second:
        assert first is not second  # in use: another is made
    with pool.session() as again:
        assert again in (first, second)  # one was kept, the other closed
    with pytest.raises(RuntimeError), pool.session() as failing:
        raise RuntimeError("cut")
    with pool.session() as after:
        assert after is not failing
