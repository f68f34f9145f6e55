"""Palliative care in metastatic skin disease (rule P1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from cdshooks.clinical.tumours import SKIN_KINDS, tumours
from cdshooks.facts import Fact
from cdshooks.fhir_read import Concept
from cdshooks.record import PatientRecord
from cdshooks.rules.common import PALLIATIVE_WINDOW, within_window
from cdshooks.rules.registry import PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import ValueSet, vs

SKIN_METASTASIS = vs("skin_metastasis")
PALLIATIVE_ENCOUNTER = vs("palliative_care_encounter")
PALLIATIVE_REFERRAL = vs("palliative_care_referral")
PALLIATIVE_INTERVENTION = vs("palliative_care_intervention")
PALLIATIVE_CONDITION = vs("palliative_care_condition")
HOSPICE = vs("hospice_care")

ONGOING = {"planned", "arrived", "triaged", "in-progress", "onleave", "active", "waitlist", "onhold"}
VOID = {"cancelled", "entered-in-error", "revoked", "unknown"}


def _about(concept: Concept, *sets: ValueSet) -> bool:
    return any(valueset.matches(concept) for valueset in sets)


def palliative_care_documented(record: PatientRecord) -> bool:
    """Palliative or hospice care: an encounter, episode of care, referral or intervention within 90 days (or open)."""
    for encounter in record.encounters:
        about = encounter.concept.merged(encounter.service_type).merged(encounter.reason)
        if encounter.status in VOID or not _about(about, PALLIATIVE_ENCOUNTER, HOSPICE):
            continue
        if encounter.status in ONGOING or within_window(record, encounter) or _recent(record, encounter.ended):
            return True
    for episode in record.episodes_of_care:
        if episode.status in VOID or not _about(episode.concept, HOSPICE, PALLIATIVE_ENCOUNTER):
            continue
        if episode.status in ONGOING or within_window(record, episode) or _recent(record, episode.ended):
            return True
    for request in record.service_requests:
        if request.status in VOID or not _about(request.concept, PALLIATIVE_REFERRAL, HOSPICE):
            continue
        if request.is_pending() or within_window(record, request):
            return True
    recent = [
        *record.procedures_in(PALLIATIVE_INTERVENTION),
        *record.procedures_in(HOSPICE),
        *record.conditions_in(PALLIATIVE_CONDITION),
    ]
    return any(within_window(record, fact) for fact in recent)


def _recent(record: PatientRecord, ended: datetime | None) -> bool:
    """Care that ended within the window counts as documented in it."""
    return ended is not None and ended >= record.now - PALLIATIVE_WINDOW


@rule(
    "P1",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"encounters", "service_requests"},
    reads={"conditions", "procedures", "episodes_of_care"},
    fills={"condition", "cancer"},
    fires_when=(
        "Metastatic skin cancer or a skin metastasis (or a metastasis that may be a skin cancer's) with no "
        "palliative-care or hospice encounter, episode, referral or intervention in the last 90 days."
    ),
    silent_when=(
        "palliative or hospice care documented within 90 days, or still open (a pending referral, an ongoing "
        "encounter or episode of care)",
        "the only metastases belong to a primary that is not a skin cancer",
    ),
)
def p1_palliative_care(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic skin cancer or a skin metastasis, and no palliative care in the last 90 days."""
    found = tumours(record)
    evidence: tuple[Fact, ...] = ()
    spread = next((t for t in found.tumours if t.metastatic and t.kind in SKIN_KINDS), None)
    if spread is not None:
        evidence = spread.evidence
    elif found.possibly_metastatic_skin_cancer():
        skin = next(t for t in found.tumours if t.kind in SKIN_KINDS)
        evidence = (skin.condition, found.unattributed[0])
    else:
        skin_metastases = record.conditions_in(SKIN_METASTASIS)
        evidence = tuple(skin_metastases[:1])
    if not evidence:
        return record.because("no metastatic skin cancer or skin metastasis")
    if palliative_care_documented(record):
        return record.because("palliative or hospice care documented within 90 days, or still open")
    condition = evidence[0]
    yield fire(*evidence, condition=condition.ref, cancer=condition.concept.label)
