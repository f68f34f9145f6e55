"""Prometheus metrics at `/metrics`: how busy and how healthy the service is, never about whom.

Every label value comes from a closed set the service defines — service ids, rule ids, HTTP
status codes, card indicators, refusal and failure kinds, feedback outcomes — never from a
request: no patient, user, token, code or clinical value can reach a label (tests/test_telemetry.py
scrapes the metrics after full runs and looks for them).

Under gunicorn every worker is a process of its own. `cdshooks serve` points
PROMETHEUS_MULTIPROC_DIR at a folder (`cdshooks.server.metrics_folder`) before anything imports
prometheus_client, each worker writes its samples there, and `/metrics` aggregates all of them,
whichever worker answers the scrape. Without that variable (tests,
`cdshooks call`) the metrics live in the process.

`/metrics` needs no CDS Client token — a scraper has none — so keep it off the public route (the
Ingress example routes only `/cds-services`), or set CDSHOOKS_METRICS_TOKEN and scrape with
`Authorization: Bearer <token>`.
"""

from __future__ import annotations

import hmac
import os
import re
from typing import Any

from flask import Flask, Response, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# prometheus_client chose how to keep samples when it was imported (just above): decide with it
MULTIPROCESS = bool(os.environ.get(MULTIPROC_ENV))

HOOK_CALLS = Histogram(
    "cdshooks_hook_call_seconds",
    "Hook calls by service and HTTP status: time from the request to the response, seconds.",
    ["service", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
CARDS = Counter(
    "cdshooks_cards_total", "Cards answered, by service, rule and indicator.", ["service", "rule", "indicator"]
)
FHIR_FAILURES = Counter(
    "cdshooks_fhir_fetch_failures_total", "FHIR searches or reads that gave no data, by kind of failure.", ["kind"]
)
JWT_REFUSALS = Counter("cdshooks_jwt_refusals_total", "CDS Client tokens refused, by reason.", ["reason"])
FEEDBACK = Counter(
    "cdshooks_feedback_items_total",
    "Feedback items by service, outcome (accepted, overridden) and result (stored, duplicate, unknown-card, "
    "over-quota).",
    ["service", "outcome", "result"],
)

# What a refusal's log reason says -> its label. The reasons are the service's own sentences
# (cdshooks.auth, cdshooks.client_auth); anything unforeseen is "other", never the text itself.
JWT_REASONS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), label)
    for pattern, label in (
        (r"^missing Authorization header$", "missing"),
        (r"^Authorization header is not a Bearer token$", "not-bearer"),
        (r"^token too long$|^malformed token$|^typ header|^invalid token \(", "malformed"),
        (r"^algorithm .* not allowed$", "algorithm"),
        (r"kid header$|^JWKS? |^unknown kid$|^key does not fit|^kid names a published test key|^RSA key", "key"),
        (r"^untrusted issuer$", "issuer"),
        (r"^bad signature$", "signature"),
        (r"^token expired$|^token issued in the future|CDSHOOKS_JWT_MAX_LIFETIME$", "lifetime"),
        (r"^aud does not name this endpoint$", "audience"),
        (r"^missing .* claim$|claim is not an integer$|claim out of range$|^invalid jti claim$", "claims"),
        (r"tenant", "tenant"),
        (r"^jku ", "jku"),
        (r"^jti replayed$", "replayed"),
    )
)

# A FHIR failure's reason (cdshooks.fhir_client) -> its label.
FHIR_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), label)
    for pattern, label in (
        (r"time budget|timed? ?out", "timeout"),
        (r"HTTP 401|HTTP 403", "unauthorized"),
        (r"HTTP 3\d\d", "redirect"),
        (r"HTTP 4\d\d", "http-4xx"),
        (r"HTTP 5\d\d", "http-5xx"),
        (r"pagination|outside the FHIR server|page", "paging"),
        (r"malformed JSON|not a FHIR resource|OperationOutcome|too large|not JSON", "invalid-response"),
        (r"connect|refused|unreachable|resolve|SSL|TLS|chunked|protocol|InvalidURL", "connection"),
    )
)


def _label(reason: str, table: tuple[tuple[re.Pattern[str], str], ...]) -> str:
    for pattern, label in table:
        if pattern.search(reason):
            return label
    return "other"


def jwt_reason(reason: str) -> str:
    return _label(reason, JWT_REASONS)


def fhir_kind(reason: str) -> str:
    return _label(reason, FHIR_KINDS)


# the labelled children of the per-call metrics, looked up once (labels() takes a lock and checks its values)
_CALL_CHILDREN: dict[tuple[str, int], Any] = {}
_CARD_CHILDREN: dict[tuple[str, str, str], Any] = {}


def hook_call(service_id: str, status: int, seconds: float) -> None:
    child = _CALL_CHILDREN.get((service_id, status))
    if child is None:
        child = _CALL_CHILDREN[(service_id, status)] = HOOK_CALLS.labels(service=service_id, status=str(status))
    child.observe(seconds)


def cards_answered(service_id: str, cards: list[tuple[str, str]]) -> None:
    """(rule id, indicator) of each card answered."""
    for rule, indicator in cards:
        child = _CARD_CHILDREN.get((service_id, rule, indicator))
        if child is None:
            child = _CARD_CHILDREN[(service_id, rule, indicator)] = CARDS.labels(
                service=service_id, rule=rule, indicator=indicator
            )
        child.inc()


def fhir_failure(reason: str) -> None:
    FHIR_FAILURES.labels(kind=fhir_kind(reason)).inc()


def jwt_refused(reason: str) -> None:
    JWT_REFUSALS.labels(reason=jwt_reason(reason)).inc()


def feedback_items(service_id: str, outcomes: list[str], result: str) -> None:
    for outcome in outcomes:
        FEEDBACK.labels(service=service_id, outcome=outcome, result=result).inc()


class Metrics:
    def __init__(self, token: str | None) -> None:
        self.token = token

    def init_app(self, app: Flask) -> None:
        app.add_url_rule("/metrics", "metrics", self.metrics)

    def metrics(self) -> Response:
        if self.token is not None:
            given = request.headers.get("Authorization", "")
            if not hmac.compare_digest(given.encode(), f"Bearer {self.token}".encode()):
                return Response(b'{"error":"unauthorized","message":"a metrics token is required"}', 401,
                                mimetype="application/json", headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        if MULTIPROCESS:
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
        else:
            registry = REGISTRY
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
