"""A full run against a production-mode app — successes, failing FHIR servers, bad input carrying
patient data, feedback naming the patient, refused tokens, a crash quoting the patient — and the
values that must never leave the service in a log line, a metric or a span."""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.logs import configure_logging
from tests.conftest import draft_med, hook_request, load_bundle
from tests.fhir_stub import StubFhirServer, endless_pages, fail_with, hang, malformed_json, redirect_to
from tests.security.jwt_helpers import FEEDBACK, HOOK, bearer, mint, production_settings, unsigned

PATIENT_ID = "pt-zq81x7"
GIVEN, FAMILY, BIRTH = "Zebulon", "Quigleyford", "1957-09-23"
NOTE = "lesion 14 mm on the left temple"
ACCESS_TOKEN = "fhir-at-7c41d9e2b0"
CLINICAL = ["Z94.0", "254651007", "C44.42", "Squamous cell carcinoma", "Kidney transplant", "42316", "tacrolimus",
            "2025-09-15", "2014-06-01", "tacrolimus-current", "cscc-scalp", "kidney-tx-status", NOTE]  # fmt: skip


def patient_bundle() -> dict[str, Any]:
    text = json.dumps(load_bundle("transplant-cscc"))
    for old, new in (("tx-cscc", PATIENT_ID), ("Alex", GIVEN), ("Moreau", FAMILY), ("1961-04-02", BIRTH)):
        text = text.replace(old, new)
    bundle = json.loads(text)
    for entry in bundle["entry"]:
        if entry["resource"]["id"] == "cscc-scalp":
            entry["resource"]["note"] = [{"text": NOTE}]
    return bundle


@dataclass
class FullRun:
    client: FlaskClient
    statuses: list[int]
    secrets: list[str]  # what must never appear in a log line, a metric or a span


def full_run(
    tmp_path: Path,
    jwks_server: Any,
    servers: tuple[StubFhirServer, StubFhirServer],
    monkeypatch: pytest.MonkeyPatch,
    *,
    before_calls: Any = None,
) -> FullRun:
    """Every kind of call, from one production-mode app; `before_calls(app)` runs once the app exists."""
    fhir, other = servers
    settings = production_settings(
        tmp_path, jwks_server, fhir_allowlist=(fhir.base_url,), fhir_budget_seconds=1.0, fhir_request_timeout=0.5
    )
    configure_logging()  # as `cdshooks serve` does before it creates the app
    app = create_app(settings)
    if before_calls is not None:
        before_calls(app)
    client: FlaskClient = app.test_client()
    bundle = patient_bundle()
    draft = draft_med(PATIENT_ID, "42316", "tacrolimus", order_id=f"draft-for-{FAMILY}")
    tokens: list[str] = []

    def post(path: str, body: Any, token: str | None = None) -> Any:
        token = token or mint(path)
        tokens.append(token)
        return client.post(path, json=body, headers=bearer(token))

    def fetching(keep: tuple[str, ...] = ()) -> dict[str, Any]:
        body = hook_request("order-select", bundle, draft=draft, fhir_server=fhir.base_url)
        body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k in keep}
        body["fhirAuthorization"] = {"access_token": ACCESS_TOKEN, "token_type": "Bearer", "expires_in": 300,
                                     "scope": "user/*.read", "subject": "cdshooks", "patient": PATIENT_ID}  # fmt: skip
        return body

    statuses: list[int] = []
    # successes: from prefetch, and from the FHIR server with the access token
    first = post(HOOK, hook_request("order-select", bundle, draft=draft))
    statuses.append(first.status_code)
    card = first.get_json()["cards"][0]["uuid"]
    statuses.append(post(HOOK, fetching()).status_code)
    # failing FHIR servers
    for behaviour in (fail_with(500), fail_with(401), hang(3), malformed_json(), endless_pages(),
                      redirect_to(other.base_url + f"/Patient/{PATIENT_ID}")):  # fmt: skip
        fhir.behaviour = behaviour
        statuses.append(post(HOOK, fetching()).status_code)
        statuses.append(post(HOOK, fetching(keep=("conditions", "medicationRequests"))).status_code)
    fhir.behaviour = None
    # bad input that carries patient data in the wrong places
    named = hook_request("order-select", bundle, draft=draft)
    named["hookInstance"] = f"{GIVEN} {FAMILY} {BIRTH}"
    named["context"]["patientId"] = f"{GIVEN} {FAMILY}"
    statuses.append(post(HOOK, named).status_code)
    bad_prefetch = copy.deepcopy(hook_request("order-select", bundle, draft=draft))
    bad_prefetch["prefetch"]["conditions"] = [f"{PATIENT_ID} {NOTE}"]
    statuses.append(post(HOOK, bad_prefetch).status_code)
    # feedback with a comment naming the patient: stored, on a card issued above; refused, on an unknown card
    feedback = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2024-05-01T10:00:00Z",
                              "overrideReason": {"userComment": f"{GIVEN} {FAMILY} declined"}}]}  # fmt: skip
    assert post(FEEDBACK, feedback).get_json() == {"stored": 1, "duplicates": 0}
    feedback["feedback"][0]["card"] = f"{PATIENT_ID}-{FAMILY}"
    assert post(FEEDBACK, feedback).status_code == 422
    # refused tokens: expired, replayed, unsigned, wrong audience, garbage carrying the patient's name
    now = int(time.time())
    replayed = mint(HOOK)
    post(HOOK, hook_request("order-select", bundle, draft=draft), replayed)
    for token in (mint(HOOK, exp=now - 900, iat=now - 1200), replayed, unsigned(HOOK), mint(HOOK, aud="https://x"),
                  f"{GIVEN}.{FAMILY}.{PATIENT_ID}", mint(HOOK, key="attacker")):  # fmt: skip
        statuses.append(post(HOOK, hook_request("order-select", bundle, draft=draft), token).status_code)
    # a crash deep in the pipeline, with patient data in the exception
    monkeypatch.setattr("cdshooks.pipeline.render_cards", _crash)
    statuses.append(post(HOOK, hook_request("order-select", bundle, draft=draft)).status_code)

    assert statuses[:2] == [200, 200]
    assert {200, 400, 401, 412, 500} <= set(statuses)
    assert fhir.requests and other.requests == []

    secrets = [ACCESS_TOKEN, PATIENT_ID, GIVEN, FAMILY, BIRTH, *CLINICAL]
    for token in tokens:
        secrets += [token, *[part for part in token.split(".") if len(part) > 8]]
    return FullRun(client, statuses, secrets)


def _crash(*args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"cannot render for {GIVEN} {FAMILY} ({PATIENT_ID}): {NOTE}")
