"""Palliative care in metastatic skin disease (rule P1)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import PatientRecord
from cdshooks.rules.common import metastatic, within_window
from cdshooks.rules.registry import PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

SKIN_CANCERS = (
    (vs("cutaneous_scc"), vs("metastatic_scc")),
    (vs("melanoma"), vs("metastatic_melanoma")),
    (vs("merkel_cell_carcinoma"), vs("secondary_merkel_cell_carcinoma")),
    (vs("basal_cell_carcinoma"), vs("metastatic_bcc")),
)
SKIN_METASTASIS = vs("skin_metastasis")
PALLIATIVE_ENCOUNTER = vs("palliative_care_encounter")
PALLIATIVE_REFERRAL = vs("palliative_care_referral")
PALLIATIVE_INTERVENTION = vs("palliative_care_intervention")
PALLIATIVE_CONDITION = vs("palliative_care_condition")

ONGOING_ENCOUNTER = {"planned", "arrived", "triaged", "in-progress", "onleave"}
VOID = {"cancelled", "entered-in-error", "revoked", "unknown"}


def palliative_care_documented(record: PatientRecord) -> bool:
    """A palliative-care encounter, referral or intervention within 90 days (or still open)."""
    for encounter in record.encounters:
        about = encounter.concept.merged(encounter.service_type).merged(encounter.reason)
        if encounter.status in VOID or not PALLIATIVE_ENCOUNTER.matches(about):
            continue
        if encounter.status in ONGOING_ENCOUNTER or within_window(record, encounter):
            return True
    for request in record.service_requests:
        if request.status in VOID or not PALLIATIVE_REFERRAL.matches(request.concept):
            continue
        if request.is_pending() or within_window(record, request):
            return True
    recent = [*record.procedures_in(PALLIATIVE_INTERVENTION), *record.conditions_in(PALLIATIVE_CONDITION)]
    return any(within_window(record, fact) for fact in recent)


@rule(
    "P1",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"encounters", "service_requests"},
    reads={"conditions", "procedures"},
    fills={"condition", "cancer"},
    fires_when=(
        "Metastatic skin cancer or a skin metastasis with no palliative-care encounter, referral or intervention "
        "in the last 90 days."
    ),
    silent_when=("palliative care documented within 90 days (or an open referral or encounter)",),
)
def p1_palliative_care(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic skin cancer or a skin metastasis, and no palliative care in the last 90 days."""
    found = None
    for primary, coded in SKIN_CANCERS:
        spread = metastatic(record, primary, coded)
        if spread is not None:
            found = spread.evidence
            break
    if found is None:
        skin = record.conditions_in(SKIN_METASTASIS)
        found = tuple(skin[:1])
    if not found or palliative_care_documented(record):
        return
    condition = found[0]
    yield fire(*found, condition=condition.ref, cancer=condition.concept.label)
