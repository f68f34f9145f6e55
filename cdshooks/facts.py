"""What the record keeps of a FHIR resource: facts, the reasons resources are set aside, and the
data-hygiene vocabulary.

A fact is one resource reduced to what rules may ask: a reference, a concept, a
date, and the few fields of its kind (status, body site, value, dose form...).
A resource the record does not count is not silently lost: it becomes a
`SetAside` with its reason (refuted, resolved, stopped, another patient, topical
form...), so that an explanation of a call can say why a card did not fire. The
status sets below are the catalogue's data-hygiene rules, defined once for every
step that needs them (the readers, the reference resolution of the fetch step,
the rules).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cdshooks.fhir_read import Concept
from cdshooks.terminology import ValueSet, title_of

COUNTING_CLINICAL_STATUS = {"active", "recurrence", "relapse", ""}
EXCLUDED_VERIFICATION = {"entered-in-error", "refuted"}
CURRENT_REQUEST_STATUS = {"active", "on-hold"}
PENDING_REQUEST_STATUS = {"draft", "active", "on-hold"}  # ordered, not yet done
ORDER_INTENTS = {"order", "original-order", "reflex-order", "filler-order", "instance-order", "plan"}
CURRENT_STATEMENT_STATUS = {"active", "intended"}
PAST_REQUEST_STATUS = {"completed", "stopped"}  # given once, no longer: "previously treated"
PAST_STATEMENT_STATUS = {"completed", "stopped"}
FINAL_OBSERVATION_STATUS = {"final", "amended", "corrected"}
CLOSED_ORDER_STATUS = {"entered-in-error", "revoked", "cancelled", "completed", "stopped"}
CURRENT_MEDICATION_STATUS = CURRENT_REQUEST_STATUS | CURRENT_STATEMENT_STATUS


@dataclass(frozen=True)
class SetAside:
    """A resource the record did not count, and why (for explanations; never shown to a patient)."""

    ref: str
    reason: str


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
    links: tuple[str, ...] = ()  # stage assessments and evidence it rests on (shared ones tie two conditions)
    categories: tuple[str, ...] = ()  # problem-list-item, encounter-diagnosis, ...


@dataclass(frozen=True)
class MedicationFact(Fact):
    """A medication as a product: the drug concept with its dose form and route, and where it stands."""

    status: str
    resource_type: str
    form: Concept = field(default_factory=Concept)  # Medication.form, or the dose form a clinical drug names
    route: Concept = field(default_factory=Concept)  # dosage route(s)
    current: bool = True  # being taken or ordered now
    resolved: bool = True  # False: a medicationReference that pointed nowhere we could read

    def value_text(self) -> str:
        return self.status

    def product_words(self) -> str:
        """Lower-cased text of the drug, its dose form and route (for telling topical from systemic)."""
        return " ".join(w for w in (self.concept.words(), self.form.words(), self.route.words()) if w)


@dataclass(frozen=True)
class ObservationValue:
    concept: Concept | None = None
    quantity: float | None = None
    unit: str = ""
    text: str = ""
    comparator: str = ""

    def describe(self) -> str:
        if self.concept is not None:
            return self.concept.label
        if self.quantity is not None:
            return f"{self.comparator}{self.quantity:g} {self.unit}".strip()
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
    members: tuple[str, ...] = ()  # hasMember references (a panel's results)
    notes: str = ""  # note[].text, where labs often write the narrative

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
    form: Concept = field(default_factory=Concept)  # a medication order's dose form
    route: Concept = field(default_factory=Concept)  # a medication order's dosage route and text

    def value_text(self) -> str:
        return "draft order" if self.status == "draft" else self.status

    def is_pending(self) -> bool:
        return self.status in PENDING_REQUEST_STATUS


@dataclass(frozen=True)
class EncounterFact(Fact):
    status: str
    service_type: Concept = field(default_factory=Concept)
    reason: Concept = field(default_factory=Concept)
    ended: datetime | None = None

    def value_text(self) -> str:
        return self.status


@dataclass(frozen=True)
class EpisodeFact(Fact):
    """An EpisodeOfCare (e.g. hospice): its type, status and period."""

    status: str
    ended: datetime | None = None

    def value_text(self) -> str:
        return self.status


@dataclass(frozen=True)
class PatientFact(Fact):
    """The Patient resource: what decides whether cards are shown at all, and the banner of a demo EHR."""

    deceased: bool = False
    gender: str = ""
    birth_date: date | None = None
    name: str = ""


def newest_first(fact: Fact) -> tuple[int, float]:
    return (0, -fact.when.timestamp()) if fact.when else (1, 0.0)
