"""Explain mode says, for each rule of the hook, whether it fired and why not; it costs nothing and
shows nothing unless asked for, and never reaches a CDS Hooks response."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from cdshooks.pipeline import call_service
from cdshooks.settings import Settings
from tests.conftest import FIXTURES, SERVICE_FOR_HOOK, draft_med, hook_request, load_bundle, patient_id_of, service_url

SETTINGS = Settings(sandbox=True, database_url="sqlite://")
TACROLIMUS = draft_med("tx-cscc", "42316", "tacrolimus")
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"


def explained(hook: str, bundle: str | dict, draft: dict | None = None) -> dict:
    """The explanation of a call for the bundle's patient (the draft order made out to that patient)."""
    data = load_bundle(bundle) if isinstance(bundle, str) else bundle
    if draft is not None:
        draft = {**draft, "subject": {"reference": f"Patient/{patient_id_of(data)}"}}
    outcome = call_service(SERVICE_FOR_HOOK[hook], hook_request(hook, data, draft=draft), SETTINGS, explain=True)
    assert outcome.explanation is not None
    return outcome.explanation.to_json()


def by_rule(explanation: dict) -> dict[str, dict]:
    return {entry["rule"]: entry for entry in explanation["rules"]}


def test_a_fired_rule_and_the_silent_ones_with_their_reasons() -> None:
    rules = by_rule(explained("order-select", "transplant-cscc", TACROLIMUS))
    assert rules["T1"]["status"] == "fired" and rules["T1"]["cards"] == 1
    assert rules["T3"] == {**rules["T3"], "status": "silent", "why": ["no order for an immune checkpoint inhibitor"]}
    assert set(rules) == {"T1", "T3", "S3", "M1", "M2", "B3"}


def test_why_names_the_condition_that_failed() -> None:
    rules = by_rule(explained("order-select", "transplant-cscc-on-sirolimus", TACROLIMUS))
    assert rules["T1"]["why"] == ["already on systemic sirolimus or everolimus"]
    rules = by_rule(explained("order-select", "corneal-transplant-cscc", TACROLIMUS))
    assert rules["T1"]["why"] == ["no solid-organ transplant recorded"]


def test_resources_set_aside_are_listed_with_their_reason() -> None:
    bundle = load_bundle("transplant-cscc")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == "Condition" and resource["id"] == "cscc-scalp":
            resource["verificationStatus"] = {"coding": [{"system": VERIFICATION, "code": "refuted"}]}
    explanation = explained("order-select", bundle, TACROLIMUS)
    assert by_rule(explanation)["T1"]["status"] == "silent"
    (scalp,) = [item for item in explanation["setAside"] if item["resource"] == "Condition/cscc-scalp"]
    assert "refuted" in scalp["reason"]


def test_a_topical_form_is_set_aside_with_its_reason() -> None:
    ointment = draft_med("tx-cscc", None, "tacrolimus 0.1% ointment")
    explanation = explained("order-select", "transplant-cscc", ointment)
    assert by_rule(explanation)["T1"]["status"] == "silent"
    assert any("topical" in item["reason"] or "ointment" in item["reason"] for item in explanation["setAside"])


def test_a_deceased_patient_gets_the_reason_for_every_rule() -> None:
    bundle = load_bundle("transplant-cscc")
    for entry in bundle["entry"]:
        if entry["resource"]["resourceType"] == "Patient":
            entry["resource"]["deceasedBoolean"] = True
    rules = explained("order-select", bundle, TACROLIMUS)["rules"]
    assert {tuple(rule["why"]) for rule in rules} == {("the patient is deceased: no advice is given",)}


@pytest.mark.parametrize("fixture", sorted(p.stem for p in FIXTURES.glob("*.json")))
@pytest.mark.parametrize("hook", ["patient-view", "order-select", "order-sign"])
def test_every_silent_rule_says_why(fixture: str, hook: str) -> None:
    draft = TACROLIMUS if hook != "patient-view" else None
    for rule in explained(hook, fixture, draft)["rules"]:
        assert rule["status"] in {"fired", "silent", "skipped"}, rule
        if rule["status"] == "silent":
            assert rule.get("why"), rule


def test_no_explanation_unless_asked_for(client: FlaskClient) -> None:
    outcome = call_service(SERVICE_FOR_HOOK["order-select"], hook_request("order-select", "transplant-cscc",
                                                                          draft=TACROLIMUS), SETTINGS)  # fmt: skip
    assert outcome.explanation is None
    answer = client.post(service_url("order-select"), json=hook_request("order-select", "transplant-cscc",
                                                                        draft=TACROLIMUS))  # fmt: skip
    assert set(answer.get_json()) == {"cards"}
    assert "why" not in answer.get_data(as_text=True)


def test_the_command_line_explains_on_stderr(tmp_path: Path) -> None:
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(TACROLIMUS))
    done = subprocess.run(
        [sys.executable, "-m", "cdshooks.cli", "call", "order-select",
         "--bundle", str(FIXTURES / "transplant-cscc.json"), "--draft", str(draft), "--explain"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["cards"][0]["summary"].startswith("Transplant recipient")
    assert "T1 2.0.1: fired — 1 card(s)" in done.stderr
    assert "T3 2.0.1: silent — no order for an immune checkpoint inhibitor" in done.stderr
