"""Clinical governance: a card overridden with a reason is snoozed for that patient (at that tenant) and
that clinician, or for everyone when the reason is patient-wide, until its facts change; critical cards
are never snoozed; a card acted on at order-select is not repeated at order-sign for the same draft; a
shadow rule is recorded but never shown; `cdshooks report` reads it all back as figures."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.cli import main
from cdshooks.settings import ConfigurationError, Settings
from tests.conftest import draft_med, hook_request, load_bundle
from tests.security.jwt_helpers import JwksServer, bearer, mint, production_settings

SELECT = "/cds-services/skin-oncology-order-select"
SIGN = "/cds-services/skin-oncology-order-sign"
VIEW = "/cds-services/skin-oncology-patient-view"
CLINICIAN, COLLEAGUE = "Practitioner/dr-ana", "Practitioner/dr-ben"
REASON = "urn:cdshooks:override-reason"


def patient(bundle_name: str = "transplant-cscc", patient_id: str = "tx-cscc") -> dict[str, Any]:
    text = json.dumps(load_bundle(bundle_name))
    return json.loads(text.replace('"tx-cscc"', f'"{patient_id}"').replace("Patient/tx-cscc", f"Patient/{patient_id}"))


def call(
    client: FlaskClient, path: str, bundle: dict[str, Any], *, drug: tuple[str, str] = ("42316", "tacrolimus"),
    order_id: str = "draft-1", user: str = CLINICIAN, tenant: str | None = "hospital-a",
) -> list[dict[str, Any]]:  # fmt: skip
    """The cards of one signed call (order hooks: one draft order of `drug`)."""
    hook = {SELECT: "order-select", SIGN: "order-sign", VIEW: "patient-view"}[path]
    patient_id = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    draft = draft_med(patient_id, drug[0], drug[1], order_id=order_id) if hook != "patient-view" else None
    body = hook_request(hook, bundle, draft=draft)
    body["context"]["userId"] = user
    claims = {"tenant": tenant} if tenant else {}
    response = client.post(path, json=body, headers=bearer(mint(path, **claims)))
    assert response.status_code == 200, response.get_json()
    return response.get_json()["cards"]


def rules(cards: list[dict[str, Any]]) -> list[str]:
    return [card["extension"]["org.cdshooks.evidence"]["rule"] for card in cards]


def feedback(client: FlaskClient, path: str, card: dict[str, Any], outcome: str, reason: str | None = None,
             *, tenant: str | None = "hospital-a", comment: str | None = None) -> Any:  # fmt: skip
    item: dict[str, Any] = {"card": card["uuid"], "outcome": outcome, "outcomeTimestamp": "2026-12-01T10:00:00Z"}
    if outcome == "accepted":
        item["acceptedSuggestions"] = [{"id": card["suggestions"][0]["uuid"]}]
    if reason or comment:
        item["overrideReason"] = {}
        if reason:
            item["overrideReason"]["reason"] = {"system": REASON, "code": reason}
        if comment:
            item["overrideReason"]["userComment"] = comment
    claims = {"tenant": tenant} if tenant else {}
    answer = client.post(
        path + "/feedback", json={"feedback": [item]}, headers=bearer(mint(path + "/feedback", **claims))
    )
    return answer


def test_an_override_with_a_reason_snoozes_the_card_for_that_patient_tenant_and_clinician(prod: Flask) -> None:
    client = prod.test_client()
    p = patient()
    (card,) = call(client, SELECT, p)
    assert feedback(client, SELECT, card, "overridden", "surgery-planned").status_code == 200

    assert call(client, SELECT, p) == []  # snoozed for this patient, at this tenant, for this clinician
    assert rules(call(client, SELECT, p, user=COLLEAGUE)) == ["T1"]  # the reason was the clinician's own
    assert rules(call(client, SELECT, patient(patient_id="tx-other"))) == ["T1"]  # another patient
    assert rules(call(client, SELECT, p, tenant="hospital-b")) == ["T1"]  # the same id at another tenant
    another = call(client, SELECT, p, drug=("5640", "cyclosporine"), order_id="draft-2")
    assert rules(another) == ["T1"]  # another order: another card


def test_a_patient_wide_reason_snoozes_the_card_for_every_clinician(prod: Flask) -> None:
    client = prod.test_client()
    p = patient()
    (card,) = call(client, SELECT, p)
    assert feedback(client, SELECT, card, "overridden", "managed-by-transplant-team").status_code == 200
    assert call(client, SELECT, p) == []
    assert call(client, SELECT, p, user=COLLEAGUE) == []


def test_a_new_fact_lifts_the_snooze(prod: Flask) -> None:
    client = prod.test_client()
    p = patient()
    (card,) = call(client, SELECT, p)
    feedback(client, SELECT, card, "overridden", "managed-by-transplant-team")
    assert call(client, SELECT, p) == []
    updated = copy.deepcopy(p)
    for entry in updated["entry"]:
        if entry["resource"]["id"] == "cscc-scalp":  # the cSCC is recorded again (a new version of it)
            entry["resource"]["meta"] = {"versionId": "2", "lastUpdated": "2026-12-01T09:00:00Z"}
    assert rules(call(client, SELECT, updated)) == ["T1"]


def test_a_critical_card_is_never_snoozed(prod: Flask) -> None:
    client = prod.test_client()
    p = patient()
    pembrolizumab = ("1547545", "pembrolizumab")
    cards = call(client, SELECT, p, drug=pembrolizumab)
    (critical,) = [c for c in cards if c["indicator"] == "critical"]
    assert feedback(client, SELECT, critical, "overridden", "transplant-team-agreed").status_code == 200
    assert "T3" in rules(call(client, SELECT, p, drug=pembrolizumab))


def test_a_card_acted_on_at_order_select_is_not_repeated_at_order_sign_for_the_same_draft(prod: Flask) -> None:
    client = prod.test_client()
    p = patient()
    (card,) = call(client, SELECT, p, order_id="draft-7")
    assert feedback(client, SELECT, card, "overridden").status_code == 200  # no reason: no snooze
    assert call(client, SIGN, p, order_id="draft-7") == []  # the same draft order, unchanged facts
    assert rules(call(client, SIGN, p, order_id="draft-8")) == ["T1"]  # another draft order
    assert rules(call(client, SELECT, p, order_id="draft-7")) == ["T1"]  # chosen again: shown again


def test_a_shadow_rule_is_recorded_not_shown_and_refuses_feedback(tmp_path: Path, keyserver: JwksServer) -> None:
    app = create_app(production_settings(tmp_path, keyserver, rule_modes={"T1": "shadow"}))
    client = app.test_client()
    assert call(client, SELECT, patient()) == []
    (row,) = app.config["CDSHOOKS_LEDGER"].rows()
    assert (row["rule_id"], row["shown"]) == ("T1", False)
    refused = feedback(client, SELECT, {"uuid": row["card_uuid"]}, "overridden")
    assert refused.status_code == 422
    unknown = feedback(client, SELECT, {"uuid": "6a0d7c1e-3c59-4d6e-9a51-0e2f6b1d7c33"}, "overridden")
    assert refused.get_json() == unknown.get_json()


def test_a_rule_switched_off_is_not_evaluated(tmp_path: Path, keyserver: JwksServer) -> None:
    app = create_app(production_settings(tmp_path, keyserver, rule_modes={"T1": "off"}))
    assert call(app.test_client(), SELECT, patient()) == []
    assert app.config["CDSHOOKS_LEDGER"].rows() == []


def test_unknown_rules_in_the_modes_stop_start_up(tmp_path: Path, keyserver: JwksServer) -> None:
    with pytest.raises(ConfigurationError, match="Z9"):
        create_app(production_settings(tmp_path, keyserver, rule_modes={"Z9": "shadow"}))


def test_explain_says_snoozed_until(tmp_path: Path) -> None:
    app = create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 's.sqlite3'}"))
    client = app.test_client()
    body = hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
    (card,) = client.post(SELECT, json=body).get_json()["cards"]
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-01T10:00:00Z",
            "overrideReason": {"reason": {"system": REASON, "code": "surgery-planned"}}}  # fmt: skip
    assert client.post(SELECT + "/feedback", json={"feedback": [item]}).status_code == 200
    assert client.post(SELECT, json=body).get_json()["cards"] == []
    explanation = client.post("/sandbox/api/explain/skin-oncology-order-select", json=body).get_json()
    (t1,) = [r for r in explanation["rules"] if r["rule"] == "T1"]
    assert t1["status"] == "snoozed" and t1["why"][0].startswith("snoozed until ")


def test_the_report_counts_outcomes_and_never_prints_comments(
    tmp_path: Path, keyserver: JwksServer, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = production_settings(tmp_path, keyserver, rule_modes={"P1": "shadow"})
    client = create_app(settings).test_client()
    for n in range(3):  # three patients: accepted, overridden with a reason and a comment, no feedback
        (card,) = call(client, SELECT, patient(patient_id=f"tx-{n}"))
        if n == 0:
            assert feedback(client, SELECT, card, "accepted").status_code == 200
        if n == 1:
            answer = feedback(client, SELECT, card, "overridden", "surgery-planned", comment="Dr Quill's patient Ivo")
            assert answer.status_code == 200
    assert rules(call(client, VIEW, load_bundle("transplant-cscc-metastatic"))) == ["T2"]  # and P1, in shadow
    time.sleep(0.01)
    chart = tmp_path / "outcomes.png"
    assert main(["report", "--database-url", settings.database_url, "--png", str(chart)]) == 0
    out = capsys.readouterr().out
    (t1,) = [line for line in out.splitlines() if line.startswith("T1 ")]
    assert "3" in t1.split()[3] and "1 (33%)" in t1 and "Surgery or wound healing pending (1)" in t1
    assert any(line.startswith("P1 ") and "shadow" in line and "(would-be)" in line for line in out.splitlines())
    assert "Quill" not in out and "Ivo" not in out
    assert chart.read_bytes().startswith(b"\x89PNG")
    assert main(["report", "--database-url", settings.database_url, "--tenant", "hospital-b"]) == 0
    assert "(no cards issued)" in capsys.readouterr().out
    assert main(["report", "--database-url", settings.database_url, "--since", "2999-01-01"]) == 0
    assert "(no cards issued)" in capsys.readouterr().out
    assert main(["report", "--database-url", settings.database_url, "--since", "last week"]) == 2
