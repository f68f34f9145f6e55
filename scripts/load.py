"""A bounded load run against `cdshooks serve` on 127.0.0.1, in production mode with real JWTs.

    .venv/bin/python scripts/load.py [--duration 60] [--concurrency 8] [--workers 2] [--threads 4]

What it does, all on loopback and all stopped at the end:
- generates an EC P-384 key and serves its JWK Set (the "EHR" issuer) on 127.0.0.1;
- serves a small FHIR server on 127.0.0.1 holding the demo patient `transplant-cscc`;
- starts `cdshooks serve` (gunicorn, production mode) with CDSHOOKS_TRUSTED_ISSUERS pointing at that
  JWK Set, CDSHOOKS_PUBLIC_URL at itself and CDSHOOKS_FHIR_ALLOWLIST at that FHIR server, and a
  throw-away SQLite database;
- runs `--concurrency` client threads for `--duration` seconds (after a warm-up), each call signed with
  a fresh ES384 JWT (unique jti): 70% order-select with prefetch (fires T1), 10% order-select fetching
  from the FHIR server with an access token, 10% discovery, 10% feedback;
- samples the RSS of the gunicorn workers every 2 s, and scans the server's log for the access token
  and a sample of the JWTs sent;
- finally sends one token ten times on fresh connections: the workers share the seen jtis, so it must
  be accepted exactly once.
Exits 1 if any call failed, a secret reached the log, a replay was accepted, or a worker's RSS grew
(peak of the second half over peak of the first) by more than --max-growth-mb.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdshooks.sandbox.ehr import build_hook_request  # noqa: E402
from cdshooks.sandbox.store import BundleStore  # noqa: E402
from cdshooks.services import all_services  # noqa: E402

ISSUER = "https://ehr.load-test.invalid"
ACCESS_TOKEN = "load-test-access-token-" + uuid.uuid4().hex
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default 5 overflows under load (1 s SYN retries)


def serve(handler: type[BaseHTTPRequestHandler]) -> tuple[ThreadingHTTPServer, str]:
    server = LoopbackServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


class Quiet(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: Any) -> None:
        pass

    def answer(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def jwks_handler(document: dict[str, Any]) -> type[BaseHTTPRequestHandler]:
    class Handler(Quiet):
        def do_GET(self) -> None:
            self.answer(200, document) if self.path == "/jwks.json" else self.answer(404, {})

    return Handler


def fhir_handler(store: BundleStore) -> type[BaseHTTPRequestHandler]:
    class Handler(Quiet):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {ACCESS_TOKEN}":
                self.answer(401, {"resourceType": "OperationOutcome"})
                return
            found = store.query(self.path.removeprefix("/fhir/"))
            if found is None:
                self.answer(404, {"resourceType": "OperationOutcome"})
            else:
                self.answer(200, found, "application/fhir+json")

    return Handler


@dataclass
class Stats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    sampled_tokens: list[str] = field(default_factory=list)

    def record(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1


def worker_pids(master: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master:
                pids.append(int(entry.name))
    return sorted(pids)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load (default 60)")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (default 8)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--max-growth-mb", type=float, default=8.0, help="allowed RSS growth per worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and server log")
    args = parser.parse_args()
    if not (1 <= args.duration <= 600 and 1 <= args.concurrency <= 64):
        parser.error("duration must be 1-600 s and concurrency 1-64 (this is a bounded, local run)")

    key = ec.generate_private_key(ec.SECP384R1())
    jwk = {**ECAlgorithm.to_jwk(key.public_key(), as_dict=True), "kid": "load-key", "alg": "ES384", "use": "sig"}
    jwks_server, jwks_url = serve(jwks_handler({"keys": [jwk]}))
    bundle = json.loads((ROOT / "fixtures" / "fhir" / "transplant-cscc.json").read_text())
    store = BundleStore([e["resource"] for e in bundle["entry"]])
    fhir_server, fhir_url = serve(fhir_handler(store))
    fhir_base = fhir_url + "/fhir"

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    workdir = Path(tempfile.mkdtemp(prefix="cdshooks-load-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CDSHOOKS_")}
    env.update(
        {
            "CDSHOOKS_TRUSTED_ISSUERS": json.dumps({ISSUER: jwks_url + "/jwks.json"}),
            "CDSHOOKS_PUBLIC_URL": base,
            "CDSHOOKS_FHIR_ALLOWLIST": fhir_base,
            "CDSHOOKS_DATABASE_URL": f"sqlite:///{workdir / 'cdshooks.sqlite3'}",
        }
    )
    command = [str(Path(sys.executable).parent / "cdshooks"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(args.workers), "--threads", str(args.threads)]  # fmt: skip
    log_path = workdir / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    result = 1
    try:
        result = run(args, server, base, fhir_base, key, log_path)
        return result
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
        jwks_server.shutdown()
        fhir_server.shutdown()
        if args.keep or result != 0:
            print(f"server log and database kept in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def run(
    args: argparse.Namespace, server: subprocess.Popen[bytes], base: str, fhir_base: str, key: Any, log_path: Path
) -> int:
    for _ in range(100):
        try:
            if requests.get(base + "/healthz", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        if server.poll() is not None:
            print(log_path.read_text(), file=sys.stderr)
            return 1
        time.sleep(0.2)
    pids = []
    for _ in range(50):
        pids = worker_pids(server.pid)
        if len(pids) >= args.workers:
            break
        time.sleep(0.1)

    services = all_services()
    select = services["skin-oncology-order-select"]
    store = BundleStore.from_file(ROOT / "fixtures" / "fhir" / "transplant-cscc.json")
    draft = {"resourceType": "MedicationRequest", "id": "draft-tac", "status": "draft", "intent": "order",
             "medicationCodeableConcept": {"coding": [{"system": RX, "code": "42316", "display": "tacrolimus"}]},
             "subject": {"reference": "Patient/tx-cscc"}}  # fmt: skip
    prefetched = build_hook_request(select, store, "tx-cscc", draft=draft)
    fetching = build_hook_request(select, store, "tx-cscc", draft=draft, with_prefetch=False, fhir_server=fhir_base)
    fetching["fhirAuthorization"] = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "user/*.read", "subject": "cdshooks"}  # fmt: skip
    hook_path = f"/cds-services/{select.id}"
    feedback_path = hook_path + "/feedback"

    stats = Stats()
    stop = threading.Event()
    measuring = threading.Event()
    counter = iter(range(10**9))

    def token(path: str) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": base + path, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "load-key", "typ": "JWT"})

    def client() -> None:
        session = requests.Session()
        session.trust_env = False
        rng = random.Random()
        while not stop.is_set():
            roll = rng.random()
            if roll < 0.7:
                kind, path, body = "hook (prefetch)", hook_path, {**prefetched, "hookInstance": str(uuid.uuid4())}
            elif roll < 0.8:
                kind, path, body = "hook (FHIR fetch)", hook_path, {**fetching, "hookInstance": str(uuid.uuid4())}
            elif roll < 0.9:
                kind, path, body = "discovery", "/cds-services", None
            else:
                kind, path = "feedback", feedback_path
                body = {"feedback": [{"card": str(uuid.uuid4()), "outcome": "overridden",
                                      "outcomeTimestamp": "2024-05-01T10:00:00Z"}]}  # fmt: skip
            jwt_token = token(path)
            if next(counter) % 200 == 0:
                with stats.lock:
                    stats.sampled_tokens.append(jwt_token)
            headers = {"Authorization": f"Bearer {jwt_token}"}
            started = time.perf_counter()
            error = None
            try:
                if body is None:
                    response = session.get(base + path, headers=headers, timeout=10)
                else:
                    response = session.post(base + path, json=body, headers=headers, timeout=10)
                if response.status_code != 200:
                    error = f"{kind}: HTTP {response.status_code}"
                elif kind.startswith("hook"):
                    rules = [c["extension"]["org.cdshooks.evidence"]["rule"] for c in response.json()["cards"]]
                    if rules != ["T1"]:
                        error = f"{kind}: cards {rules}"
            except requests.RequestException as exc:
                error = f"{kind}: {type(exc).__name__}"
            if measuring.is_set():
                stats.record(kind, (time.perf_counter() - started) * 1000, error)

    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    time.sleep(args.warmup)
    baseline = {pid: rss_mb(pid) for pid in pids}
    samples: list[tuple[float, dict[int, float]]] = [(0.0, baseline)]
    measuring.set()
    started = time.monotonic()
    while time.monotonic() - started < args.duration:
        time.sleep(2.0)
        samples.append((time.monotonic() - started, {pid: rss_mb(pid) for pid in pids}))
    measuring.clear()
    elapsed = time.monotonic() - started
    stop.set()
    for thread in threads:
        thread.join(timeout=15)

    # one token sent ten times, on fresh connections (so to either worker): accepted once only
    replay_token = token("/cds-services")
    replay_statuses = []
    for _ in range(10):
        with requests.Session() as fresh:
            fresh.trust_env = False
            replay_statuses.append(
                fresh.get(base + "/cds-services", headers={"Authorization": f"Bearer {replay_token}"}).status_code
            )

    all_ms = [ms for values in stats.latencies.values() for ms in values]
    total = len(all_ms)
    errors = sum(stats.errors.values())
    print(f"cdshooks load run: {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up, "
          f"{args.concurrency} client threads, gunicorn {args.workers} workers x {args.threads} threads, "
          f"production mode (ES384 JWT per call)")  # fmt: skip
    print(f"requests: {total}  ({total / elapsed:.1f}/s)   errors: {errors}")
    for kind, values in sorted(stats.latencies.items()):
        print(f"  {kind:<18} {len(values):>7}  p50 {statistics.median(values):6.1f} ms  "
              f"p95 {percentile(values, 0.95):6.1f} ms  p99 {percentile(values, 0.99):6.1f} ms  "
              f"max {max(values):6.1f} ms")  # fmt: skip
    for error, count in sorted(stats.errors.items()):
        print(f"  error {error}: {count}")
    growth = {}
    for pid in pids:
        series = [s[1].get(pid, 0.0) for s in samples]
        half = len(series) // 2
        growth[pid] = max(series[half:]) - max(series[: half + 1])
        print(f"  worker {pid}: RSS {series[0]:.1f} MB after warm-up, {series[half]:.1f} MB at half time, "
              f"{series[-1]:.1f} MB at the end (max {max(series):.1f} MB; 2nd-half peak minus 1st-half peak "
              f"{growth[pid]:+.1f} MB)")  # fmt: skip
    log_text = log_path.read_text(errors="replace")
    leaked = [t for t in [ACCESS_TOKEN, *stats.sampled_tokens] if t in log_text]
    for part in (t.split(".")[2] for t in stats.sampled_tokens):
        if part in log_text:
            leaked.append(part)
    lines = log_text.count('"message": "hook call"')
    print(f"server log: {lines} hook-call lines; secrets found in it: {len(leaked)} "
          f"(access token and {len(stats.sampled_tokens)} sampled JWTs checked)")  # fmt: skip
    replay_ok = sorted(replay_statuses) == [200] + [401] * 9
    print(f"replay check: one token sent 10 times -> {replay_statuses.count(200)} accepted, "
          f"{replay_statuses.count(401)} refused")  # fmt: skip
    grew = [pid for pid, mb in growth.items() if mb > args.max_growth_mb]
    ok = errors == 0 and total > 0 and not leaked and not grew and len(pids) >= args.workers and replay_ok
    print("result:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
