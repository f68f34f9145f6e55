"""Readers: one FHIR resource in, one fact out (or nothing, when hygiene sets it aside).

Each data domain of `cdshooks.domains` names the reader for its resources. A
reader sees the resource and a `ReadContext` (the call's patient, and the
Medications a `medicationReference` may point to); the record has already dropped
other patients' data and duplicates, so a reader only applies its own kind's
hygiene: entered-in-error, refuted and resolved conditions, non-current
medications, non-final observations, procedures not done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from cdshooks.facts import (
    COUNTING_CLINICAL_STATUS,
    CURRENT_REQUEST_STATUS,
    CURRENT_STATEMENT_STATUS,
    EXCLUDED_VERIFICATION,
    FINAL_OBSERVATION_STATUS,
    ORDER_INTENTS,
    ConditionFact,
    EncounterFact,
    MedicationFact,
    ObservationFact,
    ObservationValue,
    ProcedureFact,
    RequestFact,
)
from cdshooks.fhir_read import Concept, as_list, concept, first_instant, reference, reference_id, status_code

# Extensions and elements that tie a condition to another (a metastasis to its primary).
RELATED_CONDITION_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/condition-related",
    "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-primary-cancer-condition",
}


@dataclass
class ReadContext:
    """What readers may need beyond the resource itself."""

    patient_id: str
    medications_by_ref: dict[str, Concept] = field(default_factory=dict)

    @classmethod
    def over(cls, patient_id: str, resources: Iterable[Mapping[str, Any]]) -> ReadContext:
        found = {
            f"Medication/{r['id']}": concept(r.get("code"))
            for r in resources
            if r.get("resourceType") == "Medication" and isinstance(r.get("id"), str)
        }
        return cls(patient_id, found)

    def medication_concept(self, resource: Mapping[str, Any]) -> Concept:
        """The drug of a MedicationRequest/Statement: its own concept, or the Medication it references."""
        if "medicationCodeableConcept" in resource:
            return concept(resource["medicationCodeableConcept"])
        med_ref = resource.get("medicationReference")
        ref = reference(med_ref)
        display = med_ref.get("display", "") if isinstance(med_ref, dict) else ""
        found = Concept()
        if ref.startswith("#"):
            for contained in as_list(resource.get("contained")):
                if isinstance(contained, dict) and contained.get("id") == ref[1:]:
                    found = concept(contained.get("code"))
        elif ref:
            med_id = reference_id(ref, "Medication")
            found = self.medications_by_ref.get(f"Medication/{med_id}", Concept())
        if isinstance(display, str) and display and not found.text:
            found = Concept(found.codings, display)
        return found


def ref_of(resource: Mapping[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '')}"


def read_condition(r: Mapping[str, Any], _ctx: ReadContext) -> ConditionFact | None:
    clinical = status_code(r.get("clinicalStatus"))
    verification = status_code(r.get("verificationStatus"))
    if clinical not in COUNTING_CLINICAL_STATUS or verification in EXCLUDED_VERIFICATION:
        return None
    when = first_instant(r, "onsetDateTime", "onsetPeriod", "recordedDate")
    return ConditionFact(
        ref_of(r),
        concept(r.get("code")),
        when,
        clinical,
        verification,
        concept(r.get("bodySite")),
        related_conditions(r),
    )


def read_medication(r: Mapping[str, Any], ctx: ReadContext) -> MedicationFact | None:
    kind = r["resourceType"]
    status = status_code(r.get("status"))
    if kind == "MedicationRequest":
        if status not in CURRENT_REQUEST_STATUS or status_code(r.get("intent")) not in ORDER_INTENTS:
            return None
        when = first_instant(r, "authoredOn")
    else:
        if status not in CURRENT_STATEMENT_STATUS:
            return None
        when = first_instant(r, "effectiveDateTime", "effectivePeriod", "dateAsserted")
    return MedicationFact(ref_of(r), ctx.medication_concept(r), when, status, kind)


def read_observation(r: Mapping[str, Any], _ctx: ReadContext) -> ObservationFact | None:
    status = status_code(r.get("status"))
    if status not in FINAL_OBSERVATION_STATUS:
        return None
    components = tuple(
        (concept(c.get("code")), observation_value(c)) for c in as_list(r.get("component")) if isinstance(c, dict)
    )
    when = first_instant(r, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
    return ObservationFact(
        ref_of(r),
        concept(r.get("code")),
        when,
        status,
        observation_value(r),
        concept(r.get("interpretation")),
        components,
    )


def read_procedure(r: Mapping[str, Any], _ctx: ReadContext) -> ProcedureFact | None:
    status = status_code(r.get("status"))
    if status != "completed":
        return None
    when = first_instant(r, "performedDateTime", "performedPeriod")
    return ProcedureFact(ref_of(r), concept(r.get("code")), when, status)


def read_request(r: Mapping[str, Any], ctx: ReadContext) -> RequestFact:
    """A ServiceRequest on file, or any draft order of the ordering session."""
    kind = r["resourceType"]
    what = ctx.medication_concept(r) if kind == "MedicationRequest" else concept(r.get("code"))
    reasons = tuple(ref for ref in (reference(x) for x in as_list(r.get("reasonReference"))) if ref)
    return RequestFact(
        ref_of(r),
        what,
        first_instant(r, "authoredOn", "occurrenceDateTime"),
        kind,
        status_code(r.get("status")),
        status_code(r.get("intent")),
        reasons,
    )


def read_encounter(r: Mapping[str, Any], _ctx: ReadContext) -> EncounterFact:
    return EncounterFact(
        ref_of(r),
        concept(r.get("type")),
        first_instant(r, "period"),
        status_code(r.get("status")),
        concept(r.get("serviceType")),
        concept(r.get("reasonCode")),
    )


def related_conditions(r: Mapping[str, Any]) -> tuple[str, ...]:
    """`Condition/id` references a condition is linked to: related/dueTo extensions, evidence details."""
    refs = [
        reference(ext.get("valueReference"))
        for ext in as_list(r.get("extension"))
        if isinstance(ext, dict) and ext.get("url") in RELATED_CONDITION_EXTENSIONS
    ]
    for evidence in as_list(r.get("evidence")):
        if isinstance(evidence, dict):
            refs.extend(reference(detail) for detail in as_list(evidence.get("detail")))
    ids = (reference_id(ref, "Condition") for ref in refs if ref)
    return tuple(dict.fromkeys(f"Condition/{i}" for i in ids if i))


def observation_value(r: Mapping[str, Any]) -> ObservationValue | None:
    if "valueCodeableConcept" in r:
        return ObservationValue(concept=concept(r["valueCodeableConcept"]))
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        return ObservationValue(quantity=float(quantity["value"]), unit=str(quantity.get("unit", "")))
    if isinstance(r.get("valueInteger"), int) and not isinstance(r.get("valueInteger"), bool):
        return ObservationValue(quantity=float(r["valueInteger"]))
    if isinstance(r.get("valueString"), str):
        return ObservationValue(text=r["valueString"])
    if isinstance(r.get("valueBoolean"), bool):
        return ObservationValue(text="true" if r["valueBoolean"] else "false")
    return None
