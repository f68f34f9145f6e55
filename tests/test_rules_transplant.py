"""Rules T1 and T2: every fire and must-not-fire condition of the clinical catalogue."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import RX, draft_med, hook_request, load_bundle, service_url
from tests.spec_checks import assert_conformant_response
from tests.spec_checks import rule_ids as all_rule_ids

SN = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"

Mutation = Callable[[dict[str, Any]], None]


def resource(bundle: dict[str, Any], resource_id: str) -> dict[str, Any]:
    return next(e["resource"] for e in bundle["entry"] if e["resource"]["id"] == resource_id)


def add(bundle: dict[str, Any], new: dict[str, Any]) -> None:
    bundle["entry"].append({"resource": new})


def med(patient: str, rid: str, code: str | None, text: str, status="active", kind="MedicationRequest"):
    concept: dict[str, Any] = {"text": text}
    if code:
        concept["coding"] = [{"system": RX, "code": code}]
    body = {"resourceType": kind, "id": rid, "status": status, "subject": {"reference": f"Patient/{patient}"}}
    if kind == "MedicationRequest":
        body["intent"] = "order"
    body["medicationCodeableConcept"] = concept
    return body


def condition(patient: str, rid: str, system: str, code: str, clinical="active", verification="confirmed"):
    return {
        "resourceType": "Condition",
        "id": rid,
        "clinicalStatus": {"coding": [{"code": clinical}]},
        "verificationStatus": {"coding": [{"code": verification}]},
        "code": {"coding": [{"system": system, "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
    }


def set_status(rid: str, clinical: str | None = None, verification: str | None = None) -> Mutation:
    def mutate(bundle: dict[str, Any]) -> None:
        r = resource(bundle, rid)
        if clinical:
            r["clinicalStatus"] = {"coding": [{"code": clinical}]}
        if verification:
            r["verificationStatus"] = {"coding": [{"code": verification}]}

    return mutate


def move_to_other_patient(rid: str) -> Mutation:
    return lambda bundle: resource(bundle, rid).__setitem__("subject", {"reference": "Patient/someone-else"})


def remove(rid: str) -> Mutation:
    def mutate(bundle: dict[str, Any]) -> None:
        bundle["entry"] = [e for e in bundle["entry"] if e["resource"]["id"] != rid]

    return mutate


def adding(new: dict[str, Any]) -> Mutation:
    return lambda bundle: add(bundle, copy.deepcopy(new))


def replace_code(rid: str, system: str, code: str) -> Mutation:
    return lambda bundle: resource(bundle, rid).__setitem__("code", {"coding": [{"system": system, "code": code}]})


def rule_ids(body: dict[str, Any]) -> list[str]:
    """The transplant rules that fired (other rules, e.g. P1 palliative care, are tested elsewhere)."""
    return [r for r in all_rule_ids(body) if r in {"T1", "T2"}]


P = "tx-cscc"
TACROLIMUS = draft_med(P, "42316", "tacrolimus")


def run(client, hook: str, fixture: str, mutations=(), draft=TACROLIMUS, extra_drafts=()):
    bundle = load_bundle(fixture)
    for mutate in mutations:
        mutate(bundle)
    draft_bundle = None
    if hook != "patient-view":
        draft_bundle = {
            "resourceType": "Bundle",
            "type": "collection",
            "entry": [{"resource": copy.deepcopy(d)} for d in (draft, *extra_drafts)],
        }
    body = hook_request(hook, bundle, draft=draft_bundle)
    if hook == "order-select":
        body["context"]["selections"] = [f"MedicationRequest/{draft['id']}"]
    response = client.post(service_url(hook), json=body)
    assert response.status_code == 200, response.get_json()
    assert_conformant_response(response.get_json())
    return response.get_json()


T1_FIRES = {
    "tacrolimus by RxNorm ingredient": ((), TACROLIMUS),
    "cyclosporine by name only": ((), draft_med(P, None, "Cyclosporine 100 MG Oral Capsule [Neoral]")),
    "azathioprine": ((), draft_med(P, "1256", "azathioprine")),
    "mycophenolate": ((), draft_med(P, "68149", "mycophenolate mofetil")),
    "mycophenolic acid by brand": ((), draft_med(P, None, "Myfortic 360 MG Delayed Release Oral Tablet")),
    "transplant by procedure": (
        [
            remove("kidney-tx-status"),
            adding(
                {
                    "resourceType": "Procedure",
                    "id": "ltx",
                    "status": "completed",
                    "code": {"coding": [{"system": SN, "code": "32413006"}]},
                    "subject": {"reference": f"Patient/{P}"},
                }
            ),
        ],
        TACROLIMUS,
    ),
    "transplant by SNOMED 737294004": ([replace_code("kidney-tx-status", SN, "737294004")], TACROLIMUS),
    "transplant by ICD-10 Z94.83 without dot": ([replace_code("kidney-tx-status", ICD, "Z9483")], TACROLIMUS),
    "cSCC by ICD-10 only": ([replace_code("cscc-scalp", ICD, "C44.92")], TACROLIMUS),
    "cSCC with no clinical status": ([lambda b: resource(b, "cscc-scalp").pop("clinicalStatus")], TACROLIMUS),
    "cSCC recurrence": ([set_status("cscc-scalp", clinical="recurrence")], TACROLIMUS),
    "sirolimus stopped earlier": ([adding(med(P, "old-siro", "35302", "sirolimus", status="stopped"))], TACROLIMUS),
    "sirolimus request completed": ([adding(med(P, "old-siro", "35302", "sirolimus", status="completed"))], TACROLIMUS),
    "everolimus statement not-taken": (
        [adding(med(P, "evero", "141704", "everolimus", status="not-taken", kind="MedicationStatement"))],
        TACROLIMUS,
    ),
    "draft with contained Medication": (
        (),
        {
            **{k: v for k, v in TACROLIMUS.items() if k != "medicationCodeableConcept"},
            "contained": [
                {"resourceType": "Medication", "id": "m1", "code": {"coding": [{"system": RX, "code": "42316"}]}}
            ],
            "medicationReference": {"reference": "#m1"},
        },
    ),
}

T1_SILENT = {
    "cSCC refuted": ([set_status("cscc-scalp", verification="refuted")], TACROLIMUS),
    "cSCC entered-in-error": ([set_status("cscc-scalp", verification="entered-in-error")], TACROLIMUS),
    "cSCC resolved": ([set_status("cscc-scalp", clinical="resolved")], TACROLIMUS),
    "cSCC inactive": ([set_status("cscc-scalp", clinical="inactive")], TACROLIMUS),
    "cSCC in remission": ([set_status("cscc-scalp", clinical="remission")], TACROLIMUS),
    "transplant entered-in-error": ([set_status("kidney-tx-status", verification="entered-in-error")], TACROLIMUS),
    "transplant refuted": ([set_status("kidney-tx-status", verification="refuted")], TACROLIMUS),
    "no transplant": ([remove("kidney-tx-status")], TACROLIMUS),
    "no cSCC": ([remove("cscc-scalp")], TACROLIMUS),
    "corneal transplant": ([replace_code("kidney-tx-status", ICD, "Z94.7")], TACROLIMUS),
    "bone marrow transplant": ([replace_code("kidney-tx-status", ICD, "Z94.81")], TACROLIMUS),
    "stem cell transplant": ([replace_code("kidney-tx-status", ICD, "Z94.84")], TACROLIMUS),
    "ICD C44.102 is not SCC": ([replace_code("cscc-scalp", ICD, "C44.102")], TACROLIMUS),
    "already on sirolimus": ([adding(med(P, "siro", "35302", "sirolimus"))], TACROLIMUS),
    "already on sirolimus by name": ([adding(med(P, "siro", None, "Rapamune 1 MG Oral Tablet"))], TACROLIMUS),
    "already on everolimus (statement)": (
        [adding(med(P, "evero", "141704", "everolimus", kind="MedicationStatement"))],
        TACROLIMUS,
    ),
    "sirolimus on hold": ([adding(med(P, "siro", "35302", "sirolimus", status="on-hold"))], TACROLIMUS),
    "cSCC belongs to another patient": ([move_to_other_patient("cscc-scalp")], TACROLIMUS),
    "transplant belongs to another patient": ([move_to_other_patient("kidney-tx-status")], TACROLIMUS),
    "draft order for another patient": ((), draft_med("someone-else", "42316", "tacrolimus")),
    "topical tacrolimus ointment": ((), draft_med(P, None, "Tacrolimus 0.1% Topical Ointment")),
    "ophthalmic cyclosporine": ((), draft_med(P, None, "Cyclosporine 0.05% Ophthalmic Emulsion")),
    "unrelated drug": ((), draft_med(P, "723", "amoxicillin")),
    "procedure not done": (
        [
            remove("kidney-tx-status"),
            adding(
                {
                    "resourceType": "Procedure",
                    "id": "ktx",
                    "status": "not-done",
                    "code": {"coding": [{"system": SN, "code": "70536003"}]},
                    "subject": {"reference": f"Patient/{P}"},
                }
            ),
        ],
        TACROLIMUS,
    ),
}


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("case", sorted(T1_FIRES))
def test_t1_fires(client, hook, case):
    mutations, draft = T1_FIRES[case]
    assert rule_ids(run(client, hook, "transplant-cscc", mutations, draft)) == ["T1"]


@pytest.mark.parametrize("hook", ["order-select", "order-sign"])
@pytest.mark.parametrize("case", sorted(T1_SILENT))
def test_t1_stays_silent(client, hook, case):
    mutations, draft = T1_SILENT[case]
    assert "T1" not in rule_ids(run(client, hook, "transplant-cscc", mutations, draft))


def test_t1_silent_on_order_select_when_sirolimus_is_already_drafted(client):
    sirolimus = draft_med(P, "35302", "sirolimus", order_id="draft-siro")
    assert rule_ids(run(client, "order-sign", "transplant-cscc", draft=TACROLIMUS, extra_drafts=[sirolimus])) == []


def test_t1_only_looks_at_selected_orders_on_order_select(client):
    bundle = load_bundle("transplant-cscc")
    drafts = {
        "resourceType": "Bundle",
        "entry": [{"resource": TACROLIMUS}, {"resource": draft_med(P, "723", "amoxicillin", order_id="amox")}],
    }
    body = hook_request("order-select", bundle, draft=drafts)
    body["context"]["selections"] = ["MedicationRequest/amox"]
    assert client.post(service_url("order-select"), json=body).get_json() == {"cards": []}
    body["context"]["selections"] = ["MedicationRequest/draft-1"]
    assert rule_ids(client.post(service_url("order-select"), json=body).get_json()) == ["T1"]


def test_t1_silent_for_corneal_transplant_fixture(client):
    draft = draft_med("cornea-cscc", "42316", "tacrolimus")
    assert rule_ids(run(client, "order-select", "corneal-transplant-cscc", draft=draft)) == []


def test_t1_card_content(client):
    body = run(client, "order-sign", "transplant-cscc")
    card = body["cards"][0]
    assert card["indicator"] == "warning"
    assert "consider" in card["summary"].lower()
    assert "doi.org/10.1016/j.ejca.2023.113252" in card["source"]["url"]
    for caveat in ("liver", "lung", "wound healing", "trough"):
        assert caveat in card["detail"]
    assert card["selectionBehavior"] == "any"
    referral, proposal = card["suggestions"]
    assert referral["isRecommended"] is True and proposal["isRecommended"] is False
    assert all(a["type"] == "create" for s in card["suggestions"] for a in s["actions"])  # the draft is never removed
    (refer,) = referral["actions"]
    assert refer["resource"]["resourceType"] == "ServiceRequest"
    assert refer["resource"]["reasonReference"] == [{"reference": "Condition/cscc-scalp"}]
    (create,) = proposal["actions"]
    new = create["resource"]
    assert new["resourceType"] == "MedicationRequest"
    assert (new["status"], new["intent"]) == ("draft", "proposal")
    assert new["subject"] == {"reference": f"Patient/{P}"}
    assert new["medicationCodeableConcept"]["coding"][0]["code"] == "35302"
    assert new["reasonReference"] == [{"reference": "Condition/cscc-scalp"}]
    assert "dosageInstruction" not in new and "dispenseRequest" not in new
    assert all(r["display"] for r in card["overrideReasons"])
    evidence = card["extension"]["org.cdshooks.evidence"]
    assert evidence["rule"] == "T1" and evidence["version"]
    assert evidence["resources"] == ["Condition/kidney-tx-status", "Condition/cscc-scalp", "MedicationRequest/draft-1"]
    assert "**Based on**" in card["detail"]


M = "tx-cscc-met"

T2_SILENT = {
    "single non-metastatic cSCC": [remove("met-scc")],
    "metastatic SCC resolved": [set_status("met-scc", clinical="resolved")],
    "already on sirolimus": [adding(med(M, "siro", "35302", "sirolimus"))],
    "immunosuppressants stopped": [
        lambda b: resource(b, "tacrolimus-current-met").__setitem__("status", "stopped"),
        lambda b: resource(b, "mmf-current").__setitem__("status", "completed"),
    ],
    "no transplant": [remove("kidney-transplant")],
    "cSCC entered-in-error": [set_status("cscc-cheek", verification="entered-in-error")],
    "medications of another patient": [
        move_to_other_patient("tacrolimus-current-met"),
        move_to_other_patient("mmf-current"),
    ],
}


def test_t2_fires_for_metastatic_cscc(client):
    body = run(client, "patient-view", "transplant-cscc-metastatic")
    assert rule_ids(body) == ["T2"]
    card = body["cards"][0]
    create = card["suggestions"][0]["actions"][0]
    assert create["resource"]["resourceType"] == "ServiceRequest"
    assert create["resource"]["reasonReference"] == [{"reference": "Condition/cscc-cheek"}]
    assert (create["resource"]["status"], create["resource"]["intent"]) == ("draft", "proposal")


def test_t2_fires_for_multiple_cscc(client):
    mutations = [remove("met-scc"), adding(condition(M, "cscc-2", ICD, "C44.622"))]
    assert rule_ids(run(client, "patient-view", "transplant-cscc-metastatic", mutations)) == ["T2"]


@pytest.mark.parametrize("case", sorted(T2_SILENT))
def test_t2_stays_silent(client, case):
    assert rule_ids(run(client, "patient-view", "transplant-cscc-metastatic", T2_SILENT[case])) == []


def test_t2_silent_for_patient_on_sirolimus_fixture(client):
    assert rule_ids(run(client, "patient-view", "transplant-cscc-on-sirolimus")) == []
