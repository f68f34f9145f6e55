"""The patient record: what the rules may ask, built once per call from FHIR data.

Every data-hygiene rule of the clinical catalogue is applied here, once, so no
rule can forget one: data about another patient and repeated resources are
dropped before any reader sees them, and each domain's reader (see
`cdshooks.domains`) sets aside what its kind's hygiene excludes (entered-in-error,
refuted and resolved conditions; stopped or never-taken medications; non-final
results). Nothing is dropped silently: every resource set aside keeps its reason,
for explanations. A domain is read the first time a rule asks for it; derived
clinical facts (tumours, medication products, tumour markers) are computed once
per call and kept. Rules never read raw FHIR JSON.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from cdshooks.domains import DOMAINS, Domain, domain_for_type
from cdshooks.facts import (
    CLOSED_ORDER_STATUS,
    ConditionFact,
    EncounterFact,
    EpisodeFact,
    Fact,
    MedicationFact,
    ObservationFact,
    PatientFact,
    ProcedureFact,
    RequestFact,
    SetAside,
    newest_first,
)
from cdshooks.fhir_read import ResourceIndex, flatten, reference, reference_id, status_code
from cdshooks.readers import ReadContext, read_request, ref_of
from cdshooks.terminology import ValueSet

log = logging.getLogger(__name__)
T = TypeVar("T")

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
        set_aside: Iterable[SetAside] = (),
    ) -> None:
        self.patient_id = patient_id
        self.hook = hook
        self.draft_orders = draft_orders
        self.focus_orders = focus_orders
        self.unavailable = unavailable
        self.now = now or datetime.now(UTC)
        self.index = context.index
        self._resources = resources_by_domain
        self._context = context
        self._facts: dict[str, tuple[Any, ...]] = {}
        self._set_aside: list[SetAside] = list(set_aside)
        self._derived: dict[str, Any] = {}
        self.reasons: list[str] | None = None  # a list only while explain mode records why a rule stays silent
        self._versions: dict[str, str] = {}  # ref -> "versionId|lastUpdated" of the facts read (cdshooks.fingerprint)

    def facts(self, domain: str) -> tuple[Any, ...]:
        """The facts of a data domain (read on first use; unknown domains raise KeyError)."""
        found = self._facts.get(domain)
        if found is None:
            read = DOMAINS[domain].read
            kept = []
            for resource in self._resources.get(domain, ()):
                fact = read(resource, self._context)
                if isinstance(fact, SetAside):
                    self._set_aside.append(fact)
                else:
                    kept.append(fact)
                    meta = resource.get("meta")
                    if meta:
                        self._versions[fact.ref] = f"{meta.get('versionId', '')}|{meta.get('lastUpdated', '')}"
            found = self._facts[domain] = tuple(kept)
        return found

    def version_of(self, ref: str) -> str:
        """The `meta.versionId` and `meta.lastUpdated` of a fact read (empty when the resource has no meta)."""
        return self._versions.get(ref, "")

    def derived(self, name: str, compute: Callable[[PatientRecord], T]) -> T:
        """A clinical fact computed from the record once per call (tumours, products, markers...)."""
        if name not in self._derived:
            self._derived[name] = compute(self)
        return self._derived[name]  # type: ignore[no-any-return]

    def because(self, reason: str | Callable[[], str]) -> None:
        """Why the rule being evaluated stays silent — a rule says it as it returns without a card. Kept only
        in explain mode (`cdshooks.explain`); otherwise nothing is done (a reason that costs something to
        word is given as a function, called only then)."""
        if self.reasons is not None:
            self.reasons.append(reason if isinstance(reason, str) else reason())

    def set_aside(self, ref: str, reason: str) -> None:
        """Note a resource a rule's reading did not count (e.g. a topical form), for explanations."""
        self._set_aside.append(SetAside(ref, reason))

    def explained(self) -> list[SetAside]:
        """Every resource set aside and why (reads every domain; for explanations only)."""
        for domain in self._resources:
            self.facts(domain)
        return list(dict.fromkeys(self._set_aside))

    @property
    def patient(self) -> PatientFact | None:
        found = self.facts("patient")
        return found[0] if found else None

    @property
    def deceased(self) -> bool:
        return self.patient is not None and self.patient.deceased

    @property
    def conditions(self) -> tuple[ConditionFact, ...]:
        return self.facts("conditions")

    @property
    def medications(self) -> tuple[MedicationFact, ...]:
        """Current medications (active/on-hold orders, active/intended statements)."""
        return tuple(m for m in self.facts("medications") if m.current)

    @property
    def medication_history(self) -> tuple[MedicationFact, ...]:
        """Current and past medications (completed or stopped: given once); never-taken ones are set aside."""
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

    @property
    def episodes_of_care(self) -> tuple[EpisodeFact, ...]:
        return self.facts("episodes_of_care")

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


def patient_of(resource: Mapping[str, Any]) -> str | None:
    """The id of the Patient a resource is about (a Patient resource is about itself)."""
    if resource.get("resourceType") == "Patient":
        return resource.get("id") if isinstance(resource.get("id"), str) else None
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
    index: ResourceIndex | None = None,
) -> PatientRecord:
    """Sort fetched resources into data domains (this patient's, once each) and read the draft orders."""
    resources = list(resources)
    if index is None:
        index = ResourceIndex.over(resources)
        if draft_orders:
            index.add(draft_orders)
    context = ReadContext(patient_id, index)
    by_domain: dict[str, list[Mapping[str, Any]]] = {}
    seen: set[str] = set()
    set_aside: list[SetAside] = []
    types: dict[str, Domain | None] = {}
    for r in flatten(resources):  # the hot loop of a call: every resource passes here once
        kind = r.get("resourceType")
        domain = types[kind] if kind in types else types.setdefault(kind, domain_for_type(kind))
        if domain is None or not domain.relevant(r, context):
            continue  # no rule's value set could match it: not read further
        key = ref_of(r) if r.get("id") else None
        if key and key in seen:
            continue
        if patient_of(r) != patient_id:
            set_aside.append(SetAside(key or str(kind), "about another patient"))
            continue
        if key:
            seen.add(key)
        by_domain.setdefault(domain.name, []).append(r)

    orders = []
    for r in flatten([draft_orders]) if draft_orders else ():
        if r.get("resourceType") not in REQUEST_TYPES or status_code(r.get("status")) in CLOSED_ORDER_STATUS:
            continue
        if patient_of(r) != patient_id:
            set_aside.append(SetAside(ref_of(r), "draft order about another patient"))
            continue
        order = read_request(r, context)
        if isinstance(order, RequestFact):
            orders.append(order)
    wanted = set(selections)
    focus = [o for o in orders if o.ref in wanted] if hook == "order-select" else orders
    other_patient = sum(1 for s in set_aside if "another patient" in s.reason)
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
        set_aside=set_aside,
    )


__all__ = ["Fact", "PatientRecord", "build_record"]
