"""Benchmark payloads: a demo patient's hook request, padded with ordinary data to N prefetched resources.

The padding is what a real chart holds besides the few resources a rule looks at:
problem-list conditions and encounter diagnoses, medication orders, procedures and
encounters, each shaped as EHRs send them (codings with displays, categories,
statuses, dates), so that the service reads as much JSON as it would in a clinic.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdshooks.sandbox.ehr import build_hook_request  # noqa: E402
from cdshooks.sandbox.store import BundleStore  # noqa: E402
from cdshooks.services import all_services  # noqa: E402

FIXTURES = ROOT / "fixtures" / "fhir"
PATIENT_FOR_HOOK = {  # a patient for whom the hook's main rule fires
    "order-select": "transplant-cscc",
    "order-sign": "transplant-cscc",
    "patient-view": "transplant-cscc-metastatic",
}
ORDINARY_CONDITIONS = [
    ("I10", "Essential (primary) hypertension"),
    ("E11.9", "Type 2 diabetes mellitus without complications"),
    ("E78.5", "Hyperlipidemia, unspecified"),
    ("N18.3", "Chronic kidney disease, stage 3 (moderate)"),
    ("K21.9", "Gastro-esophageal reflux disease without esophagitis"),
    ("M81.0", "Age-related osteoporosis without current pathological fracture"),
]
ORDINARY_DRUGS = [
    "amlodipine 5 mg tablet",
    "metformin 500 mg tablet",
    "atorvastatin 20 mg tablet",
    "omeprazole 20 mg capsule",
    "alendronate 70 mg tablet",
    "valganciclovir 450 mg tablet",
]
SERVICE_FOR_HOOK = {s.hook: s for s in all_services().values()}


def _bundle(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def _condition(pid: str, i: int) -> dict[str, Any]:
    code, display = ORDINARY_CONDITIONS[i % len(ORDINARY_CONDITIONS)]
    category = "problem-list-item" if i % 2 else "encounter-diagnosis"
    return {
        "resourceType": "Condition",
        "id": f"pad-cond-{i}",
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed"}]
        },
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-category", "code": category}]}
        ],
        "code": {
            "coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code, "display": display}],
            "text": display,
        },
        "subject": {"reference": f"Patient/{pid}"},
        "onsetDateTime": f"20{10 + i % 15:02d}-0{1 + i % 9}-15",
    }


def _medication(pid: str, i: int) -> dict[str, Any]:
    drug = ORDINARY_DRUGS[i % len(ORDINARY_DRUGS)]
    return {
        "resourceType": "MedicationRequest",
        "id": f"pad-med-{i}",
        "status": "active" if i % 3 else "completed",
        "intent": "order",
        "medicationCodeableConcept": {"text": drug},
        "subject": {"reference": f"Patient/{pid}"},
        "authoredOn": f"20{15 + i % 10:02d}-0{1 + i % 9}-01",
        "dosageInstruction": [{"text": "1 tablet by mouth daily", "route": {"text": "oral"}}],
    }


def _procedure(pid: str, i: int) -> dict[str, Any]:
    return {
        "resourceType": "Procedure",
        "id": f"pad-proc-{i}",
        "status": "completed",
        "code": {"text": "Influenza vaccination" if i % 2 else "Colonoscopy"},
        "subject": {"reference": f"Patient/{pid}"},
        "performedDateTime": f"20{15 + i % 10:02d}-10-01",
    }


def _encounter(pid: str, i: int) -> dict[str, Any]:
    return {
        "resourceType": "Encounter",
        "id": f"pad-enc-{i}",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [{"text": "Outpatient visit"}],
        "subject": {"reference": f"Patient/{pid}"},
        "period": {
            "start": f"20{15 + i % 10:02d}-0{1 + i % 9}-10T09:00:00Z",
            "end": f"20{15 + i % 10:02d}-0{1 + i % 9}-10T09:30:00Z",
        },
    }


PADDING = {  # prefetch key -> (builder, share of the padding)
    "conditions": (_condition, 0.4),
    "medicationRequests": (_medication, 0.4),
    "procedures": (_procedure, 0.1),
    "encounters": (_encounter, 0.1),
}


def _searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [{"fullUrl": f"urn:uuid:{r['id']}", "resource": r} for r in resources],
    }


def padded_request(hook: str, resources: int) -> dict[str, Any]:
    """The hook's request for its demo patient, its prefetch padded to `resources` resources in all."""
    name = PATIENT_FOR_HOOK[hook]
    bundle = _bundle(name)
    pid = next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")
    store = BundleStore([e["resource"] for e in bundle["entry"]])
    draft = None
    if hook != "patient-view":
        draft = {
            "resourceType": "MedicationRequest",
            "id": "bench-draft",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": {
                "coding": [
                    {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "42316", "display": "tacrolimus"}
                ],
                "text": "tacrolimus 1 mg capsule",
            },
            "subject": {"reference": f"Patient/{pid}"},
        }
    request = build_hook_request(SERVICE_FOR_HOOK[hook], store, pid, draft=draft)
    prefetch = request["prefetch"]
    present = sum(len(v.get("entry", [])) if v.get("resourceType") == "Bundle" else 1 for v in prefetch.values() if v)
    missing = max(0, resources - present)
    keys = {k: v for k, v in PADDING.items() if k in prefetch}
    total_share = sum(share for _, share in keys.values())
    made = 0
    for index, (key, (build, share)) in enumerate(keys.items()):
        count = missing - made if index == len(keys) - 1 else round(missing * share / total_share)
        made += count
        original = [e["resource"] for e in prefetch[key].get("entry", [])] if prefetch.get(key) else []
        prefetch[key] = _searchset(original + [build(pid, i) for i in range(count)])
    return request
