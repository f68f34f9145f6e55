"""Metrics and spans of full runs (successes, FHIR failures, bad input, refused tokens, feedback naming
the patient, a crash quoting the patient) carry no token, patient identifier, name or clinical value —
as the logs do not (tests/security/test_logs.py runs the same calls)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from cdshooks import metrics, tracing
from tests.fhir_stub import StubFhirServer
from tests.security.full_run import full_run

ROOT = Path(__file__).resolve().parents[2]
EXPORTER = InMemorySpanExporter()


class WhileListening(SpanProcessor):
    """Hands ended spans to the in-memory exporter while a test listens (the process's provider is set
    once, and the other tests' spans are not kept)."""

    listening = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.listening:
            EXPORTER.export([span])


PROCESSOR = WhileListening()


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """Every span the service ends during the test."""
    if not isinstance(trace.get_tracer_provider(), TracerProvider):
        provider = TracerProvider()
        provider.add_span_processor(PROCESSOR)
        tracing.enable(provider)
    EXPORTER.clear()
    PROCESSOR.listening = True
    yield EXPORTER
    PROCESSOR.listening = False
    EXPORTER.clear()


def everything_in(span: ReadableSpan) -> str:
    """A span as text: name, attributes, status, events, links and resource."""
    return json.dumps(
        {
            "name": span.name,
            "attributes": {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()},
            "status": [str(span.status.status_code), span.status.description],
            "events": [[e.name, dict(e.attributes or {})] for e in span.events],
            "links": [dict(link.attributes or {}) for link in span.links],
            "resource": dict(span.resource.attributes),
        },
        default=str,
    )


def test_full_runs_put_no_patient_data_in_spans_or_metrics(
    tmp_path: Path, jwks_server: Any, servers: tuple[StubFhirServer, StubFhirServer],
    monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter,
) -> None:  # fmt: skip
    run = full_run(tmp_path, jwks_server, servers, monkeypatch)
    finished = spans.get_finished_spans()
    exported = "\n".join(everything_in(span) for span in finished)
    scraped = run.client.get("/metrics").get_data(as_text=True)
    for secret in run.secrets:
        assert secret not in exported, secret
        assert secret not in scraped, secret

    # and what must be there: a request span holding auth and the hook call with its steps
    by_name: dict[str, list[ReadableSpan]] = {}
    for span in finished:
        by_name.setdefault(span.name, []).append(span)
    steps = ("cdshooks.parse", "cdshooks.fetch", "cdshooks.record", "cdshooks.rules", "cdshooks.render")
    assert {"cdshooks.request", "cdshooks.auth", "cdshooks.hook_call", *steps} <= by_name.keys()
    requests = {span.context.span_id: span for span in by_name["cdshooks.request"]}
    assert all(span.parent is not None and span.parent.span_id in requests for span in by_name["cdshooks.auth"])
    calls = {span.context.span_id for span in by_name["cdshooks.hook_call"]}
    assert all(span.parent.span_id in requests for span in by_name["cdshooks.hook_call"])  # type: ignore[union-attr]
    for step in steps:
        assert all(span.parent.span_id in calls for span in by_name[step])  # type: ignore[union-attr]
    statuses = {span.attributes["http.response.status_code"] for span in by_name["cdshooks.request"]}
    assert {200, 400, 401, 412, 500} <= statuses
    crashed = [span for span in by_name["cdshooks.render"] if span.attributes.get("error.type") == "ValueError"]
    assert crashed and all(span.status.description == "ValueError" for span in crashed)
    assert ("T1",) in [span.attributes.get("cdshooks.rules_fired") for span in by_name["cdshooks.rules"]]

    # the metrics count what happened, by closed labels
    for expected in (
        'cdshooks_hook_call_seconds_count{service="skin-oncology-order-select",status="200"}',
        'cdshooks_hook_call_seconds_count{service="skin-oncology-order-select",status="500"}',
        'cdshooks_cards_total{indicator="warning",rule="T1",service="skin-oncology-order-select"}',
        'cdshooks_fhir_fetch_failures_total{kind="http-5xx"}',
        'cdshooks_fhir_fetch_failures_total{kind="unauthorized"}',
        'cdshooks_fhir_fetch_failures_total{kind="timeout"}',
        'cdshooks_fhir_fetch_failures_total{kind="invalid-response"}',
        'cdshooks_jwt_refusals_total{reason="lifetime"}',
        'cdshooks_jwt_refusals_total{reason="replayed"}',
        'cdshooks_jwt_refusals_total{reason="audience"}',
        'cdshooks_jwt_refusals_total{reason="malformed"}',
        'cdshooks_feedback_items_total{outcome="overridden",result="stored",service="skin-oncology-order-select"}',
        'cdshooks_feedback_items_total{outcome="overridden",result="unknown-card",service="skin-oncology-order-select"}',
    ):
        assert expected in scraped, expected
    assert 'reason="other"' not in scraped and 'kind="other"' not in scraped


def _messages(path: Path, names: set[str]) -> list[str]:
    """The fixed text of every `raise Name("...")` / `Name(f"...")` in a module (an f-string's literal parts)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in names and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                found.append(first.value)
            elif isinstance(first, ast.JoinedStr):
                found.append("".join(p.value if isinstance(p, ast.Constant) else "x" for p in first.values))
    return found


def test_every_refusal_reason_has_a_label_of_its_own() -> None:
    reasons = _messages(ROOT / "cdshooks" / "auth.py", {"Unauthorized"})
    reasons += _messages(ROOT / "cdshooks" / "jwks.py", {"JwksError"})  # passed on as the refusal's reason
    reasons += re.findall(r'_refusal\("([^"]+)"\)', (ROOT / "cdshooks" / "client_auth.py").read_text())
    assert len(reasons) > 30
    unlabelled = [reason for reason in reasons if metrics.jwt_reason(reason) == "other"]
    assert unlabelled == []


def test_every_fhir_failure_has_a_kind() -> None:
    reasons = _messages(ROOT / "cdshooks" / "fhir_client.py", {"FhirError", "Incomplete", "Retryable"})
    reasons += _messages(ROOT / "cdshooks" / "bounded_get.py", {"GetFailed"})
    assert "HTTP x" in reasons  # f"HTTP {code}": every status the server may answer
    reasons = [r for r in reasons if r != "HTTP x"] + [f"HTTP {code}" for code in (302, 400, 401, 403, 404, 500, 503)]
    reasons += ["ConnectionError", "SSLError", "ChunkedEncodingError", "ConnectTimeout", "ReadTimeout"]  # by class
    assert len(reasons) > 8
    unlabelled = [reason for reason in reasons if metrics.fhir_kind(reason) == "other"]
    assert unlabelled == []
