"""Latency benchmark on the production WSGI server (gunicorn), over real HTTP on loopback.

Starts `cdshooks serve --sandbox` on a free port, then for each scenario sends a
fixed number of sequential calls (latency percentiles) and a fixed number of
concurrent calls (throughput). Prints a Markdown table for the README.

    make bench            # or: .venv/bin/python scripts/bench.py --requests 300
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdshooks.sandbox.ehr import build_hook_request  # noqa: E402
from cdshooks.sandbox.store import BundleStore  # noqa: E402
from cdshooks.services import all_services  # noqa: E402

FIXTURES = ROOT / "fixtures" / "fhir"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def draft(patient: str, code: str, name: str) -> dict:
    return {
        "resourceType": "MedicationRequest",
        "id": "bench-draft",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code}],
            "text": name,
        },
        "subject": {"reference": f"Patient/{patient}"},
    }


HEADERS = {"Content-Type": "application/json"}


def start_server(port: int, env: dict[str, str], workers: int, threads: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cdshooks.cli",
            "serve",
            "--sandbox",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            requests.get(f"http://127.0.0.1:{port}/cds-services", timeout=1).raise_for_status()
            return server
        except requests.RequestException:
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise SystemExit("server did not start") from None
            time.sleep(0.2)


def scenarios(fhir_base: str) -> list[tuple[str, str, dict]]:
    services = {s.hook: s for s in all_services().values()}
    tx = BundleStore.from_file(FIXTURES / "transplant-cscc.json")
    met = BundleStore.from_file(FIXTURES / "transplant-cscc-metastatic.json")
    tacrolimus = draft("tx-cscc", "42316", "tacrolimus")
    return [
        (
            "order-select, prefetch, T1 card",
            services["order-select"].id,
            build_hook_request(services["order-select"], tx, "tx-cscc", draft=tacrolimus),
        ),
        (
            "order-sign, prefetch, T1 card",
            services["order-sign"].id,
            build_hook_request(services["order-sign"], tx, "tx-cscc", draft=tacrolimus),
        ),
        (
            "patient-view, prefetch, T2 card",
            services["patient-view"].id,
            build_hook_request(services["patient-view"], met, "tx-cscc-met"),
        ),
        (
            "order-select, no prefetch, 5 searches on a FHIR server",
            services["order-select"].id,
            build_hook_request(
                services["order-select"],
                tx,
                "tx-cscc",
                draft=tacrolimus,
                with_prefetch=False,
                fhir_server=f"{fhir_base}/sandbox/fhir",
            ),
        ),
    ]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300, help="sequential calls per scenario")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()

    port, fhir_port = free_port(), free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "CDSHOOKS_DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3"}
        # The demo FHIR data is served by a second instance, as an EHR's FHIR server would be.
        fhir = start_server(fhir_port, env, 2, 8)
        server = start_server(port, env, args.workers, args.threads)
        try:
            rows = []
            for label, service_id, body in scenarios(f"http://127.0.0.1:{fhir_port}"):
                url = f"{base}/cds-services/{service_id}"
                payload = json.dumps(body)
                session = requests.Session()
                for _ in range(20):
                    session.post(url, data=payload, headers=HEADERS, timeout=10).raise_for_status()
                latencies = []
                for _ in range(args.requests):
                    started = time.perf_counter()
                    response = session.post(url, data=payload, headers=HEADERS, timeout=10)
                    latencies.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()

                def one(_: int, url: str = url, payload: str = payload) -> int:
                    return requests.post(url, data=payload, headers=HEADERS, timeout=10).status_code

                started = time.perf_counter()
                total = args.requests * 2
                with ThreadPoolExecutor(args.concurrency) as pool:
                    statuses = list(pool.map(one, range(total)))
                elapsed = time.perf_counter() - started
                errors = sum(s != 200 for s in statuses)
                rows.append(
                    (
                        label,
                        statistics.median(latencies),
                        percentile(latencies, 95),
                        percentile(latencies, 99),
                        max(latencies),
                        total / elapsed,
                        errors,
                    )
                )
        finally:
            for process in (server, fhir):
                process.terminate()
                process.wait(timeout=15)

    print(
        f"gunicorn gthread, {args.workers} workers x {args.threads} threads; {args.requests} sequential "
        f"calls per scenario (keep-alive), then {args.requests * 2} calls at concurrency {args.concurrency}\n"
    )
    print("| scenario | p50 ms | p95 ms | p99 ms | max ms | throughput req/s | errors |")
    print("|---|---|---|---|---|---|---|")
    for label, p50, p95, p99, worst, rps, errors in rows:
        print(f"| {label} | {p50:.1f} | {p95:.1f} | {p99:.1f} | {worst:.1f} | {rps:.0f} | {errors} |")
    return 1 if any(r[-1] for r in rows) else 0


if __name__ == "__main__":
    raise SystemExit(main())
