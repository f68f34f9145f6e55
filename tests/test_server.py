"""The production WSGI server really starts and answers (what `make run` does), and keeps answering while
clients hold connections open slowly or idly; its own log lines are JSON.

Client-side timeouts here are hang guards (seconds): they tell "answered" from "starved".
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import draft_med, hook_request, service_url
from tests.live_server import running_server

TACROLIMUS = draft_med("tx-cscc", "42316", "tacrolimus")
GUARD = 5.0  # seconds a probe or call may take before it counts as starved


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with running_server(tmp_path_factory.mktemp("server"), "--sandbox") as (base, _):
        yield base


def port_of(base: str) -> int:
    return int(base.rsplit(":", 1)[1])


def post_json(base: str, path: str, body: Any, timeout: float = GUARD) -> tuple[int, Any]:
    request = urllib.request.Request(
        base + path, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def t1_call(base: str) -> tuple[int, Any]:
    body = hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)
    return post_json(base, service_url("order-select"), body)


def health(base: str) -> int:
    with urllib.request.urlopen(base + "/healthz", timeout=GUARD) as response:
        return response.status  # type: ignore[no-any-return]


class HeldConnections:
    """`slow` connections that send a request's headers a byte every half second, `idle` ones that send nothing."""

    def __init__(self, port: int, slow: int, idle: int) -> None:
        self.slow = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(slow)]
        self.idle = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(idle)]
        for sock in self.slow:
            sock.sendall(f"POST {service_url('order-select')} HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._trickle, daemon=True)
        self.thread.start()

    def _trickle(self) -> None:
        while not self.stop.wait(0.5):
            for sock in self.slow:
                with contextlib.suppress(OSError):
                    sock.send(b"a")

    def still_open(self) -> int:
        """How many of them the server has not closed."""
        count = 0
        for sock in self.slow + self.idle:
            sock.setblocking(False)
            try:
                count += sock.recv(1) != b""
            except BlockingIOError:
                count += 1
            except OSError:
                pass
            finally:
                sock.settimeout(5)
        return count

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        for sock in self.slow + self.idle:
            sock.close()


def test_gunicorn_serves_discovery_and_hooks(server: str) -> None:
    with urllib.request.urlopen(f"{server}/cds-services", timeout=5) as response:
        assert len(json.loads(response.read())["services"]) == 3
    body = hook_request("order-sign", "transplant-cscc", draft=TACROLIMUS)
    status, answer = post_json(server, service_url("order-sign"), body)
    assert status == 200 and len(answer["cards"]) == 1
    with urllib.request.urlopen(f"{server}/sandbox", timeout=5) as response:
        assert b"cdshooks sandbox" in response.read()


def test_slow_and_idle_clients_do_not_starve_the_service(server: str) -> None:
    """20 connections sending headers slowly and 20 idle ones: probes and hook calls are still answered."""
    held = HeldConnections(port_of(server), slow=20, idle=20)
    try:
        time.sleep(0.2)  # let the server take them all in
        assert [health(server) for _ in range(5)] == [200] * 5
        assert held.still_open() == 40  # the probes were answered while all of them were held
        for _ in range(3):
            status, answer = t1_call(server)
            assert status == 200 and len(answer["cards"]) == 1
    finally:
        held.close()


def test_a_connection_that_never_finishes_its_headers_is_closed(server: str) -> None:
    held = HeldConnections(port_of(server), slow=1, idle=1)
    try:
        deadline = time.monotonic() + 20  # hang guard; the server's header deadline is 5 s
        while held.still_open() and time.monotonic() < deadline:
            time.sleep(0.5)
        assert held.still_open() == 0
    finally:
        held.close()


def test_feedback_right_after_the_response_finds_the_card(server: str) -> None:
    """The ledger row is committed before the response is sent."""
    _, answer = t1_call(server)
    card = answer["cards"][0]
    accepted = [{"id": card["suggestions"][0]["uuid"]}]
    item = {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": accepted,
            "outcomeTimestamp": "2024-05-01T10:00:00Z"}  # fmt: skip
    status, stored = post_json(server, service_url("order-select") + "/feedback", {"feedback": [item]})
    assert (status, stored) == (200, {"stored": 1, "duplicates": 0})


def test_megabyte_fhir_servers_do_not_take_the_worker_down(server: str) -> None:
    body = hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)
    body["fhirServer"] = "http://" + "a" * 10**6 + " "
    for _ in range(2):
        status, answer = post_json(server, service_url("order-select"), body)
        assert status == 400 and answer["problems"][0]["field"] == "fhirServer"
    assert health(server) == 200


def chunked_post(base: str, chunks: Iterator[bytes]) -> tuple[int, Any]:
    connection = http.client.HTTPConnection("127.0.0.1", port_of(base), timeout=GUARD * 2)
    try:
        connection.request("POST", service_url("order-select"), body=chunks, encode_chunked=True,
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})  # fmt: skip
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_an_oversize_chunked_body_is_413(server: str) -> None:
    """No Content-Length: the limit (5 MiB) holds while reading, and is answered, not cut."""
    megabyte = b"[" + b" " * (1024 * 1024 - 1)
    status, answer = chunked_post(server, iter([megabyte] * 6))
    assert status == 413
    assert answer == {"error": "payload-too-large", "message": "the request body is larger than 5242880 bytes",
                      "field": "(body)"}  # fmt: skip


def test_a_chunked_body_within_the_limit_is_read_whole(server: str) -> None:
    raw = json.dumps(hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)).encode()
    status, answer = chunked_post(server, iter([raw[:100], raw[100:]]))
    assert status == 200 and len(answer["cards"]) == 1


@pytest.mark.parametrize("path", ["/healthz", "/cds-services", "/sandbox", "/no-such-page"])
def test_every_response_says_nosniff(server: str, path: str) -> None:
    try:
        with urllib.request.urlopen(server + path, timeout=GUARD) as response:
            headers = response.headers
    except urllib.error.HTTPError as error:
        headers = error.headers
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_the_server_log_is_json_lines(tmp_path: Path) -> None:
    """gunicorn's own lines (start, workers, signals) go through the service's JSON formatter too."""
    with running_server(tmp_path, "--sandbox") as (base, stderr):
        assert health(base) == 200
        sock = socket.create_connection(("127.0.0.1", port_of(base)), timeout=5)
        sock.sendall(b"NOT A REQUEST\r\n\r\n")  # gunicorn answers and logs the bad request itself
        sock.recv(4096)
        sock.close()
    lines = [line for line in stderr[0].decode().splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]
    assert all(isinstance(entry, dict) and entry["message"] for entry in parsed)
    assert any(entry["logger"] == "gunicorn.error" for entry in parsed)
    assert b"SANDBOX MODE" in stderr[0]


@pytest.fixture
def logging_as_before() -> Iterator[None]:
    """`cdshooks serve` configures logging for the process: give the loggers their handlers back afterwards."""
    import logging

    from cdshooks.logs import THIRD_PARTY

    loggers = [logging.getLogger(name) for name in ("cdshooks", "py.warnings", *THIRD_PARTY)]
    saved = [list(logger.handlers) for logger in loggers]
    yield
    for logger, handlers in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers


@pytest.mark.usefixtures("logging_as_before")
def test_serve_inside_a_process_that_imported_ssl_refuses_gevent(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Patching after ssl was imported would leave https blocking the worker: refused, and nothing patched."""
    from gevent import monkey

    from cdshooks.cli import main

    monkeypatch.setenv("CDSHOOKS_DATABASE_URL", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    assert main(["serve", "--sandbox", "--port", "0"]) == 2
    assert "needs a process that has not imported ssl" in capsys.readouterr().err
    assert not monkey.is_module_patched("socket")
