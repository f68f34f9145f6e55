"""SIGTERM drains: the listening socket closes at once, calls in flight finish, the process exits 0
within the graceful timeout — as an orchestrator stopping a pod expects."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import requests

from tests.conftest import draft_med, hook_request, load_bundle, service_url, store_of
from tests.fhir_stub import StubFhirServer, hang
from tests.live_server import free_port

SLOW_FHIR_SECONDS = 1.5
GRACEFUL = 6
REFUSED_WITHIN = 2.5  # seconds after SIGTERM


def start(tmp_path: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDSHOOKS_")}
    env["CDSHOOKS_DATABASE_URL"] = f"sqlite:///{tmp_path / 'cdshooks.sqlite3'}"
    command = [sys.executable, "-m", "cdshooks.cli", "serve", "--sandbox", "--port", str(port), "--workers", "2", *args]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except requests.ConnectionError:
            pass
        assert process.poll() is None and time.monotonic() < deadline, "server did not start"
        time.sleep(0.1)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def test_sigterm_lets_calls_in_flight_finish_and_refuses_new_ones(tmp_path: Path) -> None:
    fhir = StubFhirServer(store_of(load_bundle("transplant-cscc")), behaviour=hang(SLOW_FHIR_SECONDS))
    port = free_port()
    process = start(tmp_path, port, "--graceful-timeout", str(GRACEFUL))
    base = f"http://127.0.0.1:{port}"
    answers: list[Any] = []
    body = hook_request(
        "order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"),
        with_prefetch=False, fhir_server=fhir.base_url,
    )  # fmt: skip

    def call() -> None:
        answers.append(requests.post(base + service_url("order-select"), json=body, timeout=30))

    try:
        in_flight = [threading.Thread(target=call) for _ in range(3)]
        for thread in in_flight:
            thread.start()
        deadline = time.monotonic() + 10
        while len(fhir.requests) < 3 and time.monotonic() < deadline:  # every call is waiting on the FHIR server
            time.sleep(0.05)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        # each worker notices within its loop's second, closes its listener and takes no new connection
        while not refused(port):
            assert time.monotonic() - signalled < REFUSED_WITHIN, "new connections are still taken"
            time.sleep(0.1)
        assert all(thread.is_alive() for thread in in_flight), "the calls in flight are still running"
        for thread in in_flight:
            thread.join(timeout=30)
        code = process.wait(timeout=GRACEFUL + 10)
        stopped = time.monotonic() - signalled
    finally:
        if process.poll() is None:
            process.kill()
        fhir.close()
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert all(answer.json()["cards"][0]["summary"].startswith("Transplant recipient") for answer in answers)
    assert code == 0
    assert stopped < GRACEFUL + 2, stopped


def test_a_call_longer_than_the_graceful_timeout_is_cut_off(tmp_path: Path) -> None:
    fhir = StubFhirServer(store_of(load_bundle("transplant-cscc")), behaviour=hang(3.5))
    port = free_port()
    process = start(tmp_path, port, "--graceful-timeout", "1")
    base = f"http://127.0.0.1:{port}"
    body = hook_request(
        "order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"),
        with_prefetch=False, fhir_server=fhir.base_url,
    )  # fmt: skip
    errors: list[BaseException] = []

    def call() -> None:
        try:
            requests.post(base + service_url("order-select"), json=body, timeout=30)
        except requests.RequestException as exc:
            errors.append(exc)

    try:
        thread = threading.Thread(target=call)
        thread.start()
        deadline = time.monotonic() + 10
        while not fhir.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
        stopped = time.monotonic() - signalled
        thread.join(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
        fhir.close()
    assert stopped < 3.5  # the bound held: the worker did not wait for the FHIR server
    assert errors, "the cut-off call got no answer"
