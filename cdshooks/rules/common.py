"""What several rules ask of the record: transplant status, metastatic disease, palliative care.

Metastatic disease is read the two ways EHRs record it: a code that says so
("metastatic malignant melanoma"), or (ICD-10-CM style) the primary plus a
secondary-neoplasm condition. A secondary that is linked to its primary
(`condition-related`, `condition-dueTo`, evidence) counts only for that primary;
an unlinked one counts for every primary on the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cdshooks.facts import ConditionFact, Fact, RequestFact
from cdshooks.record import PatientRecord
from cdshooks.terminology import ValueSet, vs

SOT = vs("solid_organ_transplant")
SOT_PROCEDURE = vs("solid_organ_transplant_procedure")
SECONDARY = vs("secondary_malignancy")
CHECKPOINT_INHIBITOR = vs("pd1_pdl1_inhibitor")

PALLIATIVE_WINDOW = timedelta(days=90)


def transplant_fact(record: PatientRecord) -> Fact | None:
    """Evidence of a solid-organ transplant: a status condition or a transplant procedure."""
    found: list[Fact] = [*record.conditions_in(SOT), *record.procedures_in(SOT_PROCEDURE)]
    return found[0] if found else None


@dataclass(frozen=True)
class Metastatic:
    """Metastatic disease of one cancer: the primary (if recorded) and the fact saying it has spread."""

    primary: ConditionFact | None
    spread: ConditionFact

    @property
    def condition(self) -> ConditionFact:
        """The condition to link suggestions to: the primary when known."""
        return self.primary or self.spread

    @property
    def evidence(self) -> tuple[ConditionFact, ...]:
        return tuple(dict.fromkeys(c for c in (self.primary, self.spread) if c is not None))


def metastatic(record: PatientRecord, primary: ValueSet, coded: ValueSet | None = None) -> Metastatic | None:
    """Metastatic disease of the cancer `primary`, coded as such (`coded`) or as primary + secondary."""
    primaries = record.conditions_in(primary)
    if coded is not None:
        for condition in record.conditions_in(coded):
            return Metastatic(primaries[0] if primaries else None, condition)
    if not primaries:
        return None
    primary_refs = {p.ref for p in primaries}
    for secondary in record.conditions_in(SECONDARY):
        if secondary.ref in primary_refs:
            continue
        if not secondary.related:
            return Metastatic(primaries[0], secondary)
        linked = [p for p in primaries if p.ref in secondary.related]
        if linked:
            return Metastatic(linked[0], secondary)
    return None


def linked_elsewhere(record: PatientRecord, condition: ConditionFact, primary: ValueSet) -> bool:
    """True when the condition is linked to its primary and that primary is not in `primary`."""
    if not condition.related:
        return False
    return not any(c.ref in condition.related and primary.matches(c.concept) for c in record.conditions)


def on_drug(record: PatientRecord, valueset: ValueSet) -> Fact | None:
    """A current medication (or a draft order of this session) in the value set."""
    found: list[Fact] = [*record.medications_in(valueset), *record.drafts_in(valueset)]
    return found[0] if found else None


def pending_requests(record: PatientRecord, valueset: ValueSet) -> list[RequestFact]:
    """Service requests on file not yet done (draft, active, on hold), and draft service orders, in the set."""
    on_file = record.pending_service_requests()
    drafts = [r for r in record.draft_orders if r.resource_type == "ServiceRequest"]
    return [r for r in [*on_file, *drafts] if valueset.matches(r.concept)]


def within_window(record: PatientRecord, fact: Fact, window: timedelta = PALLIATIVE_WINDOW) -> bool:
    """Dated within `window` before now (or later); undated facts are not."""
    return fact.when is not None and fact.when >= record.now - window
