"""A bounded load run against `cdshooks serve` on 127.0.0.1, in production mode with real JWTs.

    .venv/bin/python scripts/load.py [--duration 60] [--concurrency 8] [--workers 2]
                                     [--slow-clients 200] [--idle-clients 200] [--worker-class gevent]

What it does, all on loopback and all stopped at the end:
- generates an EC P-384 key and serves its JWK Set (the "EHR" issuer) on 127.0.0.1;
- serves a small FHIR server on 127.0.0.1 holding the demo patient `transplant-cscc`;
- starts `cdshooks serve` (gunicorn, production mode) with CDSHOOKS_TRUSTED_ISSUERS pointing at that
  JWK Set, CDSHOOKS_PUBLIC_URL at itself and CDSHOOKS_FHIR_ALLOWLIST at that FHIR server, and a
  throw-away SQLite database;
- holds `--slow-clients` connections that send their headers one byte a second and `--idle-clients`
  connections that send nothing, reopening any the server closes, for the whole run;
- probes /healthz on a fresh connection every 0.2 s and reports the worst probe latency (bar: 1 s);
- runs `--concurrency` client threads for `--duration` seconds (after a warm-up), each call signed with
  a fresh ES384 JWT (unique jti): 70% order-select with prefetch (fires T1), 10% order-select fetching
  from the FHIR server with an access token, 10% discovery, 10% feedback — feedback only on cards this
  run was issued (accepting their suggestion, or overriding them), paced to stay under the feedback
  quota (a feedback turn over budget becomes a hook call);
- samples the RSS of the gunicorn workers every 2 s, and scans the server's log for the access token
  and a sample of the JWTs sent;
- finally sends one token ten times on fresh connections: the workers share the seen jtis, so it must
  be accepted exactly once.
Exits 1 if any call or probe failed, a probe took 1 s or more, a secret reached the log, a replay was
accepted, or a worker's RSS grew (peak of the second half over peak of the first) by more than
--max-growth-mb.
"""

from __future__ import annotations

import argparse
import collections
import http.client
import json
import os
import random
import selectors
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
from datetime import UTC, datetime
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
PATIENT_KEY = uuid.uuid4().hex + uuid.uuid4().hex
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
PROBE_BAR_MS = 1000.0


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
    probes: list[float] = field(default_factory=list)
    probe_failures: int = 0
    feedback_items: int = 0
    feedback_stored: int = 0

    def record(self, kind: str, ms: float, error: str | None) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1


class QuotaBudget:
    """The feedback quota as the server counts it (per issuer, fixed windows of wall-clock time), kept under."""

    def __init__(self, limit: int, window: int, share: float = 0.9) -> None:
        self.budget = int(limit * share)
        self.window = window
        self.lock = threading.Lock()
        self.used: dict[int, int] = {}

    def take(self, items: int) -> bool:
        with self.lock:
            current = int(time.time() // self.window)
            if self.used.get(current, 0) + items > self.budget:
                return False
            self.used[current] = self.used.get(current, 0) + items
            return True

    def most_in_a_window(self) -> int:
        with self.lock:
            return max(self.used.values(), default=0)


class Pressure:
    """Connections that starve a thread-per-connection server: `slow` send a header byte a second, `idle` nothing.

    Any connection the server closes is reopened, so the pressure lasts the whole run.
    """

    def __init__(self, host: str, port: int, slow: int, idle: int, path: str) -> None:
        self.address = (host, port)
        self.head = f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nX-Slow: ".encode()
        self.wanted = {"slow": slow, "idle": idle}
        self.selector = selectors.DefaultSelector()
        self.open = {"slow": 0, "idle": 0}
        self.reopened = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        for kind, count in self.wanted.items():
            for _ in range(count):
                self._connect(kind)
        self.thread.start()

    def _connect(self, kind: str) -> None:
        try:
            sock = socket.create_connection(self.address, timeout=5)
        except OSError:
            return
        sock.setblocking(False)
        if kind == "slow":
            try:
                sock.send(self.head)
            except OSError:
                sock.close()
                return
        self.selector.register(sock, selectors.EVENT_READ, kind)
        self.open[kind] += 1

    def _run(self) -> None:
        last_byte = time.monotonic()
        while not self.stop.is_set():
            for key, _ in self.selector.select(timeout=0.2):
                try:
                    data = key.fileobj.recv(4096)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:  # the server closed it: reopen, as an attacker would
                    self._close(key)
                    self._connect(key.data)
                    self.reopened += 1
            if time.monotonic() - last_byte >= 1.0:
                last_byte = time.monotonic()
                for key in list(self.selector.get_map().values()):
                    if key.data == "slow":
                        try:
                            key.fileobj.send(b"a")  # type: ignore[union-attr]
                        except OSError:
                            self._close(key)
                            self._connect("slow")
                            self.reopened += 1
        for key in list(self.selector.get_map().values()):
            self._close(key)

    def _close(self, key: selectors.SelectorKey) -> None:
        self.selector.unregister(key.fileobj)
        self.open[key.data] -= 1
        key.fileobj.close()  # type: ignore[union-attr]

    def close(self) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def probe(host: str, port: int) -> float:
    """GET /healthz on a fresh connection, as a load balancer's health check does; milliseconds."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        body = response.read()
        if response.status != 200 or b"ok" not in body:
            raise OSError(f"HTTP {response.status}")
    finally:
        connection.close()
    return (time.perf_counter() - started) * 1000


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
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (gthread only)")
    parser.add_argument("--worker-class", choices=["gevent", "gthread"], default="gevent")
    parser.add_argument("--slow-clients", type=int, default=200, help="connections sending headers slowly")
    parser.add_argument("--idle-clients", type=int, default=200, help="connections sending nothing")
    parser.add_argument("--feedback-quota", type=int, default=1200, help="feedback items per issuer per window")
    parser.add_argument("--feedback-window", type=int, default=60, help="seconds")
    parser.add_argument("--max-growth-mb", type=float, default=8.0, help="allowed RSS growth per worker")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and server log")
    args = parser.parse_args()
    if not (1 <= args.duration <= 600 and 1 <= args.concurrency <= 64):
        parser.error("duration must be 1-600 s and concurrency 1-64 (this is a bounded, local run)")
    if not (0 <= args.slow_clients <= 400 and 0 <= args.idle_clients <= 400):
        parser.error("slow and idle clients: 0-400 each (this is a bounded, local run)")

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
            "CDSHOOKS_PATIENT_KEY_SECRET": PATIENT_KEY,
            "CDSHOOKS_FEEDBACK_QUOTA": str(args.feedback_quota),
            "CDSHOOKS_FEEDBACK_QUOTA_WINDOW": str(args.feedback_window),
        }
    )
    command = [str(Path(sys.executable).parent / "cdshooks"), "serve", "--host", "127.0.0.1", "--port", str(port),
               "--workers", str(args.workers), "--threads", str(args.threads),
               "--worker-class", args.worker_class]  # fmt: skip
    migrate = subprocess.run([command[0], "db", "upgrade"], env=env, capture_output=True, text=True, timeout=120)
    if migrate.returncode != 0:
        raise SystemExit(f"load: cdshooks db upgrade failed: {migrate.stderr}")
    log_path = workdir / "server.log"
    with log_path.open("wb") as log_file:
        server = subprocess.Popen(command, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    result = 1
    try:
        result = run(args, server, base, port, fhir_base, key, log_path)
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
    args: argparse.Namespace,
    server: subprocess.Popen[bytes],
    base: str,
    port: int,
    fhir_base: str,
    key: Any,
    log_path: Path,
) -> int:
    for _ in range(100):
        try:
            if requests.get(base + "/readyz", timeout=1).status_code == 200:
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
    budget = QuotaBudget(args.feedback_quota, args.feedback_window)

    def token(path: str) -> str:
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": base + path, "exp": now + 300, "iat": now, "jti": str(uuid.uuid4())}
        return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "load-key", "typ": "JWT"})

    def feedback_on(issued: collections.deque[tuple[str, str | None]], rng: random.Random) -> dict[str, Any]:
        card, suggestion = rng.choice(issued)
        stamp = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if suggestion and rng.random() < 0.5:
            return {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
                    "outcomeTimestamp": stamp}  # fmt: skip
        return {"card": card, "outcome": "overridden", "outcomeTimestamp": stamp,
                "overrideReason": {"userComment": "load test"}}  # fmt: skip

    def client() -> None:
        session = requests.Session()
        session.trust_env = False
        rng = random.Random()
        issued: collections.deque[tuple[str, str | None]] = collections.deque(maxlen=50)  # cards this thread got
        while not stop.is_set():
            roll = rng.random()
            if roll >= 0.9 and issued and budget.take(1):
                kind, path = "feedback", feedback_path
                body: Any = {"feedback": [feedback_on(issued, rng)]}
            elif roll < 0.7 or roll >= 0.9:
                kind, path, body = "hook (prefetch)", hook_path, {**prefetched, "hookInstance": str(uuid.uuid4())}
            elif roll < 0.8:
                kind, path, body = "hook (FHIR fetch)", hook_path, {**fetching, "hookInstance": str(uuid.uuid4())}
            else:
                kind, path, body = "discovery", "/cds-services", None
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
                    cards = response.json()["cards"]
                    rules = [c["extension"]["org.cdshooks.evidence"]["rule"] for c in cards]
                    if rules != ["T1"]:
                        error = f"{kind}: cards {rules}"
                    for card in cards:
                        suggestion = next((s["uuid"] for s in card.get("suggestions", [])), None)
                        issued.append((card["uuid"], suggestion))
                elif kind == "feedback":
                    with stats.lock:
                        stats.feedback_items += 1
                        stats.feedback_stored += response.json()["stored"]
            except (requests.RequestException, ValueError, KeyError) as exc:
                error = f"{kind}: {type(exc).__name__}"
            if measuring.is_set():
                stats.record(kind, (time.perf_counter() - started) * 1000, error)

    def prober() -> None:
        while not stop.is_set():
            try:
                ms = probe("127.0.0.1", port)
                failed = False
            except OSError:
                ms, failed = 10_000.0, True
            if measuring.is_set():
                with stats.lock:
                    stats.probes.append(ms)
                    stats.probe_failures += failed
            stop.wait(0.2)

    pressure = Pressure("127.0.0.1", port, args.slow_clients, args.idle_clients, hook_path)
    pressure.start()
    threads = [threading.Thread(target=client, daemon=True) for _ in range(args.concurrency)]
    threads.append(threading.Thread(target=prober, daemon=True))
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
    held = dict(pressure.open)
    stop.set()
    for thread in threads:
        thread.join(timeout=15)
    pressure.close()

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
    shape = (
        f"{args.workers} workers x {args.threads} threads"
        if args.worker_class == "gthread"
        else (f"{args.workers} workers")
    )
    print(f"cdshooks load run: {args.duration:.0f} s measured after {args.warmup:.0f} s warm-up, "
          f"{args.concurrency} client threads, gunicorn {args.worker_class} {shape}, "
          f"production mode (ES384 JWT per call)")  # fmt: skip
    print(f"pressure: {args.slow_clients} slow-header + {args.idle_clients} idle connections held "
          f"({held['slow']} + {held['idle']} open at the end; the server closed {pressure.reopened} of them, "
          f"each reopened at once)")  # fmt: skip
    print(f"requests: {total}  ({total / elapsed:.1f}/s)   errors: {errors}")
    for kind, values in sorted(stats.latencies.items()):
        print(f"  {kind:<18} {len(values):>7}  p50 {statistics.median(values):6.1f} ms  "
              f"p95 {percentile(values, 0.95):6.1f} ms  p99 {percentile(values, 0.99):6.1f} ms  "
              f"max {max(values):6.1f} ms")  # fmt: skip
    for error, count in sorted(stats.errors.items()):
        print(f"  error {error}: {count}")
    worst_probe = max(stats.probes, default=0.0)
    print(
        f"health probes: {len(stats.probes)} (fresh connection every 0.2 s), failures {stats.probe_failures}, "
        f"p50 {statistics.median(stats.probes) if stats.probes else 0:.1f} ms, "
        f"p99 {percentile(stats.probes, 0.99):.1f} ms, worst {worst_probe:.1f} ms (bar: under {PROBE_BAR_MS:.0f} ms)"
    )
    print(f"feedback: {stats.feedback_items} items, all on cards issued in this run ({stats.feedback_stored} stored); "
          f"most in one quota window {budget.most_in_a_window()} of {args.feedback_quota} per "
          f"{args.feedback_window} s")  # fmt: skip
    growth = {}
    for pid in pids:
        series = [s[1].get(pid, 0.0) for s in samples]
        half = len(series) // 2
        growth[pid] = max(series[half:]) - max(series[: half + 1])
        print(f"  worker {pid}: RSS {series[0]:.1f} MB after warm-up, {series[half]:.1f} MB at half time, "
              f"{series[-1]:.1f} MB at the end (max {max(series):.1f} MB; 2nd-half peak minus 1st-half peak "
              f"{growth[pid]:+.1f} MB)")  # fmt: skip
    log_text = log_path.read_text(errors="replace")
    leaked = [t for t in [ACCESS_TOKEN, PATIENT_KEY, *stats.sampled_tokens] if t in log_text]
    for part in (t.split(".")[2] for t in stats.sampled_tokens):
        if part in log_text:
            leaked.append(part)
    lines = log_text.count('"message": "hook call"')
    not_json = [line for line in log_text.splitlines() if line.strip() and not _is_json(line)]
    print(f"server log: {lines} hook-call lines, {len(not_json)} lines not JSON; secrets found in it: {len(leaked)} "
          f"(access token, patient key and {len(stats.sampled_tokens)} sampled JWTs checked)")  # fmt: skip
    replay_ok = sorted(replay_statuses) == [200] + [401] * 9
    print(f"replay check: one token sent 10 times -> {replay_statuses.count(200)} accepted, "
          f"{replay_statuses.count(401)} refused")  # fmt: skip
    grew = [pid for pid, mb in growth.items() if mb > args.max_growth_mb]
    probes_ok = stats.probes and stats.probe_failures == 0 and worst_probe < PROBE_BAR_MS
    ok = (errors == 0 and total > 0 and not leaked and not grew and len(pids) >= args.workers and replay_ok
          and bool(probes_ok) and not not_json)  # fmt: skip
    print("result:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


def _is_json(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
