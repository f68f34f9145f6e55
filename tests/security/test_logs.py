"""The logs of full runs (successes, FHIR failures, bad input, refused tokens, a crash) carry one structured
line per hook call and never an access token, JWT, patient identifier, name or clinical value."""

from __future__ import annotations

import copy
import io
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.logs import THIRD_PARTY, JsonFormatter, configure_logging
from tests.conftest import draft_med, hook_request, load_bundle, store_of
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


class Capture(logging.Handler):
    """Keeps the raw records and the JSON lines the service's formatter writes for them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.stream = io.StringIO()
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.stream.write(self.formatter_.format(record) + "\n")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    loggers = [logging.getLogger(name) for name in ("cdshooks", "", *THIRD_PARTY)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


@pytest.fixture
def servers() -> Iterator[tuple[StubFhirServer, StubFhirServer]]:
    own, other = StubFhirServer(store_of(patient_bundle())), StubFhirServer(store_of(patient_bundle()))
    yield own, other
    own.close()
    other.close()


def test_full_runs_log_no_secrets_and_no_patient_data(
    tmp_path: Path, jwks_server: Any, servers: tuple[StubFhirServer, StubFhirServer], capture: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    fhir, other = servers
    settings = production_settings(
        tmp_path, jwks_server, fhir_allowlist=(fhir.base_url,), fhir_budget_seconds=1.0, fhir_request_timeout=0.5
    )
    configure_logging()  # as `cdshooks serve` does before it creates the app
    app = create_app(settings)
    for name in ("cdshooks", *THIRD_PARTY):
        logging.getLogger(name).addHandler(capture)  # configure_logging reset the handlers
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

    # what must never appear, in the written lines or anywhere in the records handed to logging
    secrets = [ACCESS_TOKEN, PATIENT_ID, GIVEN, FAMILY, BIRTH, *CLINICAL]
    for token in tokens:
        secrets += [token, *[part for part in token.split(".") if len(part) > 8]]
    written = capture.stream.getvalue()
    raw = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in capture.records)
    for secret in secrets:
        assert secret not in written, secret
        assert secret not in raw, secret

    # and what must: one structured line per hook call
    calls = [line for line in capture.lines() if line["message"] == "hook call"]
    # every call but the refused ones, plus the replayed token's first use
    assert len(calls) == len([s for s in statuses if s != 401]) + 1
    for line in calls:
        assert {"hookInstance", "service", "status", "duration_ms", "cards", "rules"} <= set(line)
    assert calls[0]["status"] == 200 and calls[0]["rules"] == ["T1"] and calls[0]["cards"] == 1
    assert calls[0]["iss"] == "https://ehr.example.org"
    assert any(line["hookInstance"].startswith("sha256:") for line in calls if line["hookInstance"])
    refusals = [line for line in capture.lines() if line["message"] == "authentication failed"]
    assert len(refusals) == 6 and all(line["reason"] for line in refusals)


def _crash(*args: Any, **kwargs: Any) -> Any:
    raise ValueError(f"cannot render for {GIVEN} {FAMILY} ({PATIENT_ID}): {NOTE}")


def test_library_records_are_written_without_their_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """urllib3 logs URLs (with patient ids) as arguments; the service's formatter never writes arguments."""
    configure_logging()
    url = f"https://ehr.example.org/fhir/Condition?patient={PATIENT_ID}"
    logging.getLogger("urllib3.connectionpool").warning("Failed to parse headers (url=%s): %s", url, "x")
    logging.getLogger("cdshooks").error(ValueError(f"{GIVEN} {FAMILY}"))  # type: ignore[arg-type]
    written = capsys.readouterr().err
    lines = [json.loads(line) for line in written.splitlines()]
    assert [line["message"] for line in lines] == ["Failed to parse headers (url=%s): %s", "ValueError"]
    assert PATIENT_ID not in written and GIVEN not in written
