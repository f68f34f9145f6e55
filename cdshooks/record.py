"""The patient record: what the rules may ask, built once per call from FHIR data.

Every data-hygiene rule of the clinical catalogue is applied here, once, so no
rule can forget one: data about another patient and repeated resources are
dropped before any reader sees them, and each domain's reader (see
`cdshooks.domains`) drops what its kind's hygiene excludes (entered-in-error,
refuted and resolved conditions; non-current medications; non-final results).
A domain is read the first time a rule asks for it. Rules never read raw FHIR JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from cdshooks.domains import DOMAINS, domain_for_type
from cdshooks.facts import (
    CLOSED_ORDER_STATUS,
    ConditionFact,
    EncounterFact,
    Fact,
    MedicationFact,
    ObservationFact,
    ProcedureFact,
    RequestFact,
    newest_first,
)
from cdshooks.fhir_read import flatten, reference, reference_id, status_code
from cdshooks.readers import ReadContext, read_request, ref_of
from cdshooks.terminology import ValueSet

log = logging.getLogger(__name__)

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


class PatientRecord:
    """The facts of one patient for one hook call, read lazily per data domain."""

    def __init__(
        self,
        *,
        patient_id: str,
        hook: str,
        resources_by_domain: Mapping[str, list[Mapping[str, Any]]],
        context: ReadContext,
        draft_orders: tuple[RequestFact, ...] = (),
        focus_orders: tuple[RequestFact, ...] = (),
        unavailable: frozenset[str] = frozenset(),
        now: datetime | None = None,
    ) -> None:
        self.patient_id = patient_id
        self.hook = hook
        self.draft_orders = draft_orders
        self.focus_orders = focus_orders
        self.unavailable = unavailable
        self.now = now or datetime.now(UTC)
        self._resources = resources_by_domain
        self._context = context
        self._facts: dict[str, tuple[Any, ...]] = {}

    def facts(self, domain: str) -> tuple[Any, ...]:
        """The facts of a data domain (read on first use; unknown domains raise KeyError)."""
        found = self._facts.get(domain)
        if found is None:
            read = DOMAINS[domain].read
            facts = (read(r, self._context) for r in self._resources.get(domain, ()))
            found = self._facts[domain] = tuple(f for f in facts if f is not None)
        return found

    @property
    def conditions(self) -> tuple[ConditionFact, ...]:
        return self.facts("conditions")

    @property
    def medications(self) -> tuple[MedicationFact, ...]:
        return self.facts("medications")

    @property
    def observations(self) -> tuple[ObservationFact, ...]:
        return self.facts("observations")

    @property
    def procedures(self) -> tuple[ProcedureFact, ...]:
        return self.facts("procedures")

    @property
    def service_requests(self) -> tuple[RequestFact, ...]:
        return self.facts("service_requests")

    @property
    def encounters(self) -> tuple[EncounterFact, ...]:
        return self.facts("encounters")

    def conditions_in(self, valueset: ValueSet) -> list[ConditionFact]:
        return [c for c in self.conditions if valueset.matches(c.concept)]

    def medications_in(self, valueset: ValueSet) -> list[MedicationFact]:
        return [m for m in self.medications if valueset.matches(m.concept)]

    def procedures_in(self, valueset: ValueSet) -> list[ProcedureFact]:
        return [p for p in self.procedures if valueset.matches(p.concept)]

    def observations_in(self, valueset: ValueSet) -> list[ObservationFact]:
        """Matching results, newest first (undated last)."""
        found = [o for o in self.observations if valueset.matches(o.concept)]
        return sorted(found, key=newest_first)

    def latest(self, valueset: ValueSet) -> ObservationFact | None:
        found = self.observations_in(valueset)
        return found[0] if found else None

    def pending_service_requests(self) -> list[RequestFact]:
        """Service requests on file that are ordered but not yet done (draft, active, on hold)."""
        return [r for r in self.service_requests if r.is_pending()]

    def drafts_in(self, valueset: ValueSet, *, focus: bool = False) -> list[RequestFact]:
        orders = self.focus_orders if focus else self.draft_orders
        return [o for o in orders if valueset.matches(o.concept)]


def _subject_id(resource: Mapping[str, Any]) -> str | None:
    ref = reference(resource.get("subject")) or reference(resource.get("patient"))
    return reference_id(ref, "Patient")


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
    """Sort fetched resources into data domains (this patient's, once each) and read the draft orders."""
    flat = list(flatten(resources))
    drafts = list(flatten([draft_orders])) if draft_orders else []
    context = ReadContext.over(patient_id, flat + drafts)
    by_domain: dict[str, list[Mapping[str, Any]]] = {}
    seen: set[str] = set()
    other_patient = 0
    for r in flat:
        domain = domain_for_type(str(r.get("resourceType")))
        if domain is None:
            continue
        key = ref_of(r) if r.get("id") else None
        if key and key in seen:
            continue
        if _subject_id(r) != patient_id:
            other_patient += 1
            continue
        if key:
            seen.add(key)
        by_domain.setdefault(domain.name, []).append(r)

    orders = []
    for r in drafts:
        if r.get("resourceType") not in REQUEST_TYPES or status_code(r.get("status")) in CLOSED_ORDER_STATUS:
            continue
        if _subject_id(r) != patient_id:
            other_patient += 1
            continue
        orders.append(read_request(r, context))
    wanted = set(selections)
    focus = [o for o in orders if o.ref in wanted] if hook == "order-select" else orders
    if other_patient:
        log.warning("ignored resources about another patient", extra={"ignored": other_patient})
    return PatientRecord(
        patient_id=patient_id,
        hook=hook,
        resources_by_domain=by_domain,
        context=context,
        draft_orders=tuple(orders),
        focus_orders=tuple(focus),
        unavailable=frozenset(unavailable),
        now=now,
    )


__all__ = ["Fact", "PatientRecord", "build_record"]
