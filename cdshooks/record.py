"""The patient record: what the rules may ask, built once per call from FHIR data.

Every data-hygiene rule of the clinical catalogue is applied here, once, so no
rule can forget one: entered-in-error, refuted and resolved conditions are gone;
only current medications and final/amended/corrected observations remain; data
about another patient is dropped. Rules never read raw FHIR JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cdshooks.fhir_read import (
    Concept,
    as_list,
    concept,
    first_instant,
    flatten,
    reference,
    reference_id,
    status_code,
)
from cdshooks.terminology import ValueSet, title_of

log = logging.getLogger(__name__)

COUNTING_CLINICAL_STATUS = {"active", "recurrence", "relapse", ""}
EXCLUDED_VERIFICATION = {"entered-in-error", "refuted"}
CURRENT_REQUEST_STATUS = {"active", "on-hold"}
PENDING_REQUEST_STATUS = {"draft", "active", "on-hold"}  # ordered, not yet done
ORDER_INTENTS = {"order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"}
CURRENT_STATEMENT_STATUS = {"active", "intended"}
FINAL_OBSERVATION_STATUS = {"final", "amended", "corrected"}
CLOSED_ORDER_STATUS = {"entered-in-error", "revoked", "cancelled", "completed", "stopped"}
# Extensions and elements that tie a condition to another (a metastasis to its primary).
RELATED_CONDITION_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/condition-related",
    "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-primary-cancer-condition",
}
REQUEST_TYPES = {
    "MedicationRequest",
    "ServiceRequest",
    "NutritionOrder",
    "DeviceRequest",
    "VisionPrescription",
    "CommunicationRequest",
    "SupplyRequest",
    "ImmunizationRecommendation",
}


@dataclass(frozen=True)
class Fact:
    """One resource the record kept: its reference, what it is, and when."""

    ref: str
    concept: Concept
    when: datetime | None

    def evidence(self) -> str:
        """One 'Based on' line: what, value, date (no identifiers)."""
        named = self.concept.text or next((c.display for c in self.concept.codings if c.display), "")
        parts = [named or title_of(self.concept) or self.concept.label or self.ref.split("/")[0]]
        value = self.value_text()
        if value:
            parts.append(value)
        if self.when:
            parts.append(self.when.date().isoformat())
        return " — ".join(parts)

    def value_text(self) -> str:
        return ""


@dataclass(frozen=True)
class ConditionFact(Fact):
    clinical_status: str
    verification_status: str
    body_site: Concept = field(default_factory=Concept)
    related: tuple[str, ...] = ()  # `Condition/id` of conditions this one is linked to (e.g. its primary)


@dataclass(frozen=True)
class MedicationFact(Fact):
    status: str
    resource_type: str

    def value_text(self) -> str:
        return self.status


@dataclass(frozen=True)
class ObservationValue:
    concept: Concept | None = None
    quantity: float | None = None
    unit: str = ""
    text: str = ""

    def describe(self) -> str:
        if self.concept is not None:
            return self.concept.label
        if self.quantity is not None:
            return f"{self.quantity:g} {self.unit}".strip()
        return self.text

    def as_concept(self) -> Concept:
        """The value as a Concept for value-set matching (text values become `text`)."""
        if self.concept is not None:
            return self.concept
        return Concept(text=self.text)


@dataclass(frozen=True)
class ObservationFact(Fact):
    status: str
    value: ObservationValue | None
    interpretation: Concept
    components: tuple[tuple[Concept, ObservationValue | None], ...] = ()

    def value_text(self) -> str:
        value = self.value.describe() if self.value is not None else self.interpretation.label
        details = [found.describe() for _, found in self.components if found is not None and found.describe()]
        if details:
            more = ", …" if len(details) > MAX_EVIDENCE_COMPONENTS else ""
            shown = ", ".join(details[:MAX_EVIDENCE_COMPONENTS]) + more
            return f"{value} ({shown})" if value else shown
        return value

    def component_values(self, valueset: ValueSet) -> list[ObservationValue]:
        """Values of the components whose code is in the value set."""
        return [found for code, found in self.components if found is not None and valueset.matches(code)]


MAX_EVIDENCE_COMPONENTS = 4


@dataclass(frozen=True)
class ProcedureFact(Fact):
    status: str


@dataclass(frozen=True)
class RequestFact(Fact):
    """A ServiceRequest on file, or a draft order of the current ordering session."""

    resource_type: str
    status: str
    intent: str
    reasons: tuple[str, ...] = ()

    def value_text(self) -> str:
        return "draft order" if self.status == "draft" else self.status

    def is_pending(self) -> bool:
        return self.status in PENDING_REQUEST_STATUS


@dataclass(frozen=True)
class EncounterFact(Fact):
    status: str
    service_type: Concept = field(default_factory=Concept)
    reason: Concept = field(default_factory=Concept)

    def value_text(self) -> str:
        return self.status


@dataclass(frozen=True)
class PatientRecord:
    patient_id: str
    hook: str
    conditions: tuple[ConditionFact, ...] = ()
    medications: tuple[MedicationFact, ...] = ()
    observations: tuple[ObservationFact, ...] = ()
    procedures: tuple[ProcedureFact, ...] = ()
    service_requests: tuple[RequestFact, ...] = ()
    encounters: tuple[EncounterFact, ...] = ()
    draft_orders: tuple[RequestFact, ...] = ()
    focus_orders: tuple[RequestFact, ...] = ()
    unavailable: frozenset[str] = frozenset()
    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def conditions_in(self, valueset: ValueSet) -> list[ConditionFact]:
        return [c for c in self.conditions if valueset.matches(c.concept)]

    def medications_in(self, valueset: ValueSet) -> list[MedicationFact]:
        return [m for m in self.medications if valueset.matches(m.concept)]

    def procedures_in(self, valueset: ValueSet) -> list[ProcedureFact]:
        return [p for p in self.procedures if valueset.matches(p.concept)]

    def observations_in(self, valueset: ValueSet) -> list[ObservationFact]:
        """Matching results, newest first (undated last)."""
        found = [o for o in self.observations if valueset.matches(o.concept)]
        return sorted(found, key=_newest_first)

    def latest(self, valueset: ValueSet) -> ObservationFact | None:
        found = self.observations_in(valueset)
        return found[0] if found else None

    def pending_service_requests(self) -> list[RequestFact]:
        """Service requests on file that are ordered but not yet done (draft, active, on hold)."""
        return [r for r in self.service_requests if r.is_pending()]

    def drafts_in(self, valueset: ValueSet, *, focus: bool = False) -> list[RequestFact]:
        orders = self.focus_orders if focus else self.draft_orders
        return [o for o in orders if valueset.matches(o.concept)]


def _newest_first(fact: Fact) -> tuple[int, float]:
    return (0, -fact.when.timestamp()) if fact.when else (1, 0.0)


class _Reader:
    """Turns raw resources into facts for one patient."""

    def __init__(self, patient_id: str, resources: list[dict[str, Any]]) -> None:
        self.patient_id = patient_id
        self.other_patient = 0
        self.medications_by_ref: dict[str, Concept] = {}
        for resource in resources:
            if resource.get("resourceType") == "Medication" and isinstance(resource.get("id"), str):
                self.medications_by_ref[f"Medication/{resource['id']}"] = concept(resource.get("code"))

    def belongs(self, resource: dict[str, Any]) -> bool:
        ref = reference(resource.get("subject")) or reference(resource.get("patient"))
        if reference_id(ref, "Patient") == self.patient_id:
            return True
        self.other_patient += 1
        return False

    def medication_concept(self, resource: dict[str, Any]) -> Concept:
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

    @staticmethod
    def ref(resource: dict[str, Any]) -> str:
        return f"{resource.get('resourceType')}/{resource.get('id', '')}"

    def condition(self, r: dict[str, Any]) -> ConditionFact | None:
        clinical = status_code(r.get("clinicalStatus"))
        verification = status_code(r.get("verificationStatus"))
        if clinical not in COUNTING_CLINICAL_STATUS or verification in EXCLUDED_VERIFICATION:
            return None
        when = first_instant(r, "onsetDateTime", "onsetPeriod", "recordedDate")
        body_site = concept(r.get("bodySite"))
        return ConditionFact(
            self.ref(r), concept(r.get("code")), when, clinical, verification, body_site, related_conditions(r)
        )

    def medication(self, r: dict[str, Any]) -> MedicationFact | None:
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
        return MedicationFact(self.ref(r), self.medication_concept(r), when, status, kind)

    def observation(self, r: dict[str, Any]) -> ObservationFact | None:
        status = status_code(r.get("status"))
        if status not in FINAL_OBSERVATION_STATUS:
            return None
        components = tuple(
            (concept(c.get("code")), observation_value(c)) for c in as_list(r.get("component")) if isinstance(c, dict)
        )
        when = first_instant(r, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
        return ObservationFact(
            self.ref(r),
            concept(r.get("code")),
            when,
            status,
            observation_value(r),
            concept(r.get("interpretation")),
            components,
        )

    def procedure(self, r: dict[str, Any]) -> ProcedureFact | None:
        status = status_code(r.get("status"))
        if status != "completed":
            return None
        when = first_instant(r, "performedDateTime", "performedPeriod")
        return ProcedureFact(self.ref(r), concept(r.get("code")), when, status)

    def request(self, r: dict[str, Any]) -> RequestFact:
        kind = r["resourceType"]
        what = self.medication_concept(r) if kind == "MedicationRequest" else concept(r.get("code"))
        reasons = tuple(ref for ref in (reference(x) for x in as_list(r.get("reasonReference"))) if ref)
        return RequestFact(
            self.ref(r),
            what,
            first_instant(r, "authoredOn", "occurrenceDateTime"),
            kind,
            status_code(r.get("status")),
            status_code(r.get("intent")),
            reasons,
        )

    def encounter(self, r: dict[str, Any]) -> EncounterFact:
        kinds = concept(r.get("type"))
        return EncounterFact(
            self.ref(r),
            kinds,
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


def build_record(
    *,
    patient_id: str,
    hook: str,
    resources: Iterable[dict[str, Any]],
    draft_orders: dict[str, Any] | None = None,
    selections: Iterable[str] = (),
    unavailable: Iterable[str] = (),
    now: datetime | None = None,
) -> PatientRecord:
    """Read fetched resources and the hook's draft orders into a PatientRecord."""
    flat = list(flatten(resources))
    drafts = list(flatten([draft_orders])) if draft_orders else []
    reader = _Reader(patient_id, flat + drafts)
    facts: dict[str, list[Any]] = {
        "conditions": [],
        "medications": [],
        "observations": [],
        "procedures": [],
        "service_requests": [],
        "encounters": [],
    }
    seen: set[str] = set()
    for r in flat:
        kind = r.get("resourceType")
        key = f"{kind}/{r.get('id')}" if r.get("id") else None
        if key and key in seen:
            continue
        if kind in {"Medication", "Patient", "Practitioner", "PractitionerRole"} or not reader.belongs(r):
            continue
        if key:
            seen.add(key)
        fact: Any = None
        if kind == "Condition":
            fact, bucket = reader.condition(r), "conditions"
        elif kind in {"MedicationRequest", "MedicationStatement"}:
            fact, bucket = reader.medication(r), "medications"
        elif kind == "Observation":
            fact, bucket = reader.observation(r), "observations"
        elif kind == "Procedure":
            fact, bucket = reader.procedure(r), "procedures"
        elif kind == "ServiceRequest":
            fact, bucket = reader.request(r), "service_requests"
        elif kind == "Encounter":
            fact, bucket = reader.encounter(r), "encounters"
        if fact is not None:
            facts[bucket].append(fact)

    orders = [
        reader.request(r)
        for r in drafts
        if r.get("resourceType") in REQUEST_TYPES
        and status_code(r.get("status")) not in CLOSED_ORDER_STATUS
        and reader.belongs(r)
    ]
    wanted = set(selections)
    focus = [o for o in orders if o.ref in wanted] if hook == "order-select" else orders
    if reader.other_patient:
        log.warning("ignored resources about another patient", extra={"ignored": reader.other_patient})
    return PatientRecord(
        patient_id=patient_id,
        hook=hook,
        conditions=tuple(facts["conditions"]),
        medications=tuple(facts["medications"]),
        observations=tuple(facts["observations"]),
        procedures=tuple(facts["procedures"]),
        service_requests=tuple(facts["service_requests"]),
        encounters=tuple(facts["encounters"]),
        draft_orders=tuple(orders),
        focus_orders=tuple(focus),
        unavailable=frozenset(unavailable),
        now=now or datetime.now(UTC),
    )
