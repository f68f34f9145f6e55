"""The patient banner of the sandbox page, read from a demo patient's FHIR data as an EHR shows it:
name, age, sex, the problems on the list, current medications and the latest results.

Display only (demo data, sandbox mode): it follows the obvious statuses — no entered-in-error,
refuted, resolved or inactive problem, no stopped or completed medication — and leaves the clinical
reading to the record and the rules.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from cdshooks.fhir_read import as_list, concept, first_instant, reference, status_code
from cdshooks.sandbox.store import BundleStore

LIVE_PROBLEM = {"active", "recurrence", "relapse", ""}
VOID_VERIFICATION = {"refuted", "entered-in-error"}
CURRENT_MEDICATION = {"active", "on-hold", "intended"}
FINAL_RESULT = {"final", "amended", "corrected"}
MAX_RESULTS = 6


def _age(birth: str | None, today: date) -> int | None:
    try:
        born = date.fromisoformat(str(birth)[:10])
    except ValueError:
        return None
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def _name(patient: dict[str, Any]) -> str:
    name = (patient.get("name") or [{}])[0]
    return " ".join([*name.get("given", []), name.get("family", "")]).strip() or "(no name)"


def _about(resource: dict[str, Any], patient_id: str) -> bool:
    subject = reference(resource.get("subject") or resource.get("patient"))
    return subject == f"Patient/{patient_id}"


def _medication_label(resource: dict[str, Any], store: BundleStore) -> str:
    if resource.get("medicationCodeableConcept"):
        return concept(resource["medicationCodeableConcept"]).label or "(medication)"
    ref = reference(resource.get("medicationReference"))
    for candidate in store.resources:
        if f"{candidate.get('resourceType')}/{candidate.get('id')}" == ref:
            return concept(candidate.get("code")).label or "(medication)"
    return (resource.get("medicationReference") or {}).get("display") or "(medication)"


def _value(observation: dict[str, Any]) -> str:
    if "valueQuantity" in observation:
        quantity = observation["valueQuantity"]
        return f"{quantity.get('value', '')} {quantity.get('unit', '')}".strip()
    if "valueCodeableConcept" in observation:
        return concept(observation["valueCodeableConcept"]).label
    for key in ("valueString", "valueBoolean", "valueInteger"):
        if key in observation:
            return str(observation[key])
    interpretation = as_list(observation.get("interpretation"))
    return concept(interpretation[0]).label if interpretation else ""


def banner(store: BundleStore, patient_id: str, *, today: date | None = None) -> dict[str, Any]:
    today = today or datetime.now(UTC).date()
    patient = next(p for p in store.patients() if p.get("id") == patient_id)
    problems, medications, results = [], [], []
    for resource in store.resources:
        if not _about(resource, patient_id):
            continue
        kind = resource.get("resourceType")
        if kind == "Condition":
            clinical = status_code(resource.get("clinicalStatus"))
            verified = status_code(resource.get("verificationStatus"))
            abated = "abatementDateTime" in resource or "abatementAge" in resource or "abatementPeriod" in resource
            if clinical in LIVE_PROBLEM and verified not in VOID_VERIFICATION and not (clinical == "" and abated):
                problems.append(concept(resource.get("code")).label or "(problem)")
        elif kind in ("MedicationRequest", "MedicationStatement"):
            if status_code(resource.get("status")) in CURRENT_MEDICATION:
                medications.append(_medication_label(resource, store))
        elif kind == "Observation" and status_code(resource.get("status")) in FINAL_RESULT:
            when = first_instant(resource, "effectiveDateTime", "issued")
            results.append((when, f"{concept(resource.get('code')).label}: {_value(resource)}".rstrip(": ")))
    results.sort(key=lambda item: item[0] or datetime.min.replace(tzinfo=UTC), reverse=True)
    return {
        "id": patient_id,
        "name": _name(patient),
        "sex": patient.get("gender", "unknown"),
        "birthDate": patient.get("birthDate"),
        "age": _age(patient.get("birthDate"), today),
        "deceased": bool(patient.get("deceasedBoolean") or patient.get("deceasedDateTime")),
        "problems": list(dict.fromkeys(problems)),
        "medications": list(dict.fromkeys(medications)),
        "results": [text for _, text in results[:MAX_RESULTS]],
    }
