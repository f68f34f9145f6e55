"""Small builders for FHIR R4 resources, so tests state only what matters to a rule."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"

SYSTEMS = {
    "snomed": "http://snomed.info/sct",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "loinc": "http://loinc.org",
    "hgnc": "http://www.genenames.org",
    "hgnc-id": "http://www.genenames.org/geneId",
    "hgvs": "http://varnomen.hgvs.org",
}
Json = dict[str, Any]


def cc(*codings: tuple[str, str, str], text: str | None = None) -> Json:
    """A CodeableConcept from (system key, code, display) triples."""
    concept: Json = {}
    if codings:
        concept["coding"] = [{"system": SYSTEMS[s], "code": c, "display": d} for s, c, d in codings]
    if text:
        concept["text"] = text
    return concept


def ref(kind: str, rid: str) -> Json:
    return {"reference": f"{kind}/{rid}"}


def patient(pid: str, given: str, family: str, gender: str = "female", birth: str = "1960-01-01") -> Json:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"given": [given], "family": family}],
        "gender": gender,
        "birthDate": birth,
    }


def condition(
    pid: str,
    cid: str,
    code: Json,
    *,
    onset: str | None = None,
    clinical: str = "active",
    verification: str = "confirmed",
    related: str | None = None,
) -> Json:
    resource: Json = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": clinical}]
        },
        "verificationStatus": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": verification}]
        },
        "category": [
            {
                "coding": [
                    {
                        "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                        "code": "problem-list-item",
                    }
                ]
            }
        ],
        "code": code,
        "subject": ref("Patient", pid),
    }
    if onset:
        resource["onsetDateTime"] = onset
    if related:
        resource["extension"] = [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                "valueReference": ref("Condition", related),
            }
        ]
    return resource


def medication(mid: str, code: Json) -> Json:
    return {"resourceType": "Medication", "id": mid, "code": code}


def med_request(
    pid: str,
    mid: str,
    drug: Json | str,
    *,
    status: str = "active",
    intent: str = "order",
    authored: str = "2025-06-01",
    contained: Json | None = None,
) -> Json:
    """A MedicationRequest; `drug` is a CodeableConcept, or 'Medication/x' / '#x' for a reference."""
    resource: Json = {"resourceType": "MedicationRequest", "id": mid, "status": status, "intent": intent}
    if isinstance(drug, str):
        resource["medicationReference"] = {"reference": drug}
    else:
        resource["medicationCodeableConcept"] = drug
    if contained:
        resource["contained"] = [contained]
    resource["subject"] = ref("Patient", pid)
    resource["authoredOn"] = authored
    return resource


def med_statement(pid: str, mid: str, drug: Json | str, *, status: str = "active") -> Json:
    resource: Json = {"resourceType": "MedicationStatement", "id": mid, "status": status}
    if isinstance(drug, str):
        resource["medicationReference"] = {"reference": drug}
    else:
        resource["medicationCodeableConcept"] = drug
    resource["subject"] = ref("Patient", pid)
    resource["effectiveDateTime"] = "2025-06-01"
    return resource


def observation(
    pid: str,
    oid: str,
    code: Json,
    *,
    value: Json | str | float | None = None,
    status: str = "final",
    effective: str = "2025-01-15",
    components: Iterable[tuple[Json, Json | str | float]] = (),
    interpretation: Json | None = None,
) -> Json:
    resource: Json = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": code,
        "subject": ref("Patient", pid),
        "effectiveDateTime": effective,
    }
    resource.update(_value(value))
    if interpretation:
        resource["interpretation"] = [interpretation]
    parts = [{"code": c, **_value(v)} for c, v in components]
    if parts:
        resource["component"] = parts
    return resource


def _value(value: Json | str | float | None) -> Json:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {"valueCodeableConcept": value}
    if isinstance(value, str):
        return {"valueString": value}
    return {"valueQuantity": {"value": value}}


def service_request(pid: str, sid: str, code: Json, *, status: str = "active", authored: str = "2025-06-01") -> Json:
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": status,
        "intent": "order",
        "code": code,
        "subject": ref("Patient", pid),
        "authoredOn": authored,
    }


def encounter(pid: str, eid: str, kind: Json, *, status: str = "finished", start: str = "2025-06-01") -> Json:
    return {
        "resourceType": "Encounter",
        "id": eid,
        "status": status,
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "type": [kind],
        "subject": ref("Patient", pid),
        "period": {"start": start},
    }


def procedure(pid: str, prid: str, code: Json, *, performed: str = "2015-03-01", status: str = "completed") -> Json:
    return {
        "resourceType": "Procedure",
        "id": prid,
        "status": status,
        "code": code,
        "subject": ref("Patient", pid),
        "performedDateTime": performed,
    }


def bundle(*resources: Json) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": f"urn:uuid:{r['resourceType'].lower()}-{r['id']}", "resource": r} for r in resources],
    }


# --- working with bundles ---------------------------------------------------


def load(name: str) -> Json:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


def load_mcode(name: str, patient_id: str) -> Json:
    """A vendored mCODE example, re-pointed at one of our test patients."""
    resource = json.loads((FIXTURES / "mcode" / f"{name}.json").read_text(encoding="utf-8"))
    resource["subject"] = ref("Patient", patient_id)
    return resource


def patient_id(data: Json) -> str:
    return next(e["resource"]["id"] for e in data["entry"] if e["resource"]["resourceType"] == "Patient")


def variant(base: Json, *changes: Callable[[Json], None]) -> Json:
    """A copy of a bundle with changes applied (add, drop, edit resources)."""
    data = copy.deepcopy(base)
    for change in changes:
        change(data)
    return data


def add(*resources: Json) -> Callable[[Json], None]:
    def apply(data: Json) -> None:
        data["entry"].extend({"resource": copy.deepcopy(r)} for r in resources)

    return apply


def drop(rid: str) -> Callable[[Json], None]:
    def apply(data: Json) -> None:
        data["entry"] = [e for e in data["entry"] if e["resource"].get("id") != rid]

    return apply


def edit(rid: str, **fields: Any) -> Callable[[Json], None]:
    """Set fields on the resource with this id (None removes the field)."""

    def apply(data: Json) -> None:
        for entry in data["entry"]:
            if entry["resource"].get("id") == rid:
                for key, value in fields.items():
                    if value is None:
                        entry["resource"].pop(key, None)
                    else:
                        entry["resource"][key] = value

    return apply


def status(kind: str, code: str) -> Json:
    """clinicalStatus / verificationStatus CodeableConcept."""
    system = {
        "clinical": "http://terminology.hl7.org/CodeSystem/condition-clinical",
        "verification": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
    }[kind]
    return {"coding": [{"system": system, "code": code}]}


def draft_order(pid: str, drug: Json | str, oid: str = "draft-1", **kwargs: Any) -> Json:
    kwargs.setdefault("status", "draft")
    return med_request(pid, oid, drug, authored="2026-03-01", **kwargs)


def draft_bundle(*orders: Json) -> Json:
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": o} for o in orders]}
