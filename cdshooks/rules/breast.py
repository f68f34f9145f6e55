"""Breast cancer: skin metastases and HER2 (rules B1–B3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import PatientRecord
from cdshooks.rules.common import linked_elsewhere, metastatic, on_drug
from cdshooks.rules.markers import Her2Status, her2_status
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

BREAST = vs("breast_cancer")
SKIN_SECONDARY = vs("secondary_skin")
RECEPTORS = vs("receptor_status")
HER2_THERAPY = vs("her2_directed_therapy")
TRASTUZUMAB_DERUXTECAN = vs("trastuzumab_deruxtecan")


@rule(
    "B1",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"observations"},
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when=(
        "Breast cancer with a skin metastasis and not all of ER, PR and HER2 resulted since the metastasis appeared."
    ),
    silent_when=(
        "receptor results dated on or after the metastasis onset",
        "the skin lesion is linked to another primary",
    ),
)
def b1_retest_skin_metastasis(record: PatientRecord) -> Iterator[Finding]:
    """Breast cancer with a skin metastasis and no ER/PR/HER2 result since the metastasis appeared."""
    breast = record.conditions_in(BREAST)
    if not breast:
        return
    for skin in record.conditions_in(SKIN_SECONDARY):
        if linked_elsewhere(record, skin, BREAST):
            continue
        results = record.observations_in(RECEPTORS)
        if skin.when is None:
            retested = bool(results)
        else:
            retested = any(r.when is not None and r.when.date() >= skin.when.date() for r in results)
        if not retested:
            yield fire(breast[0], skin, *results[:1], condition=skin.ref, cancer=breast[0].concept.label)
            return


@rule(
    "B2",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"medications", "observations"},
    reads={"conditions"},
    fills={"condition", "cancer", "result"},
    fires_when="The latest final HER2 result is positive in metastatic breast cancer, with no HER2-directed therapy.",
    silent_when=("a newer HER2-negative result", "already on HER2-directed therapy", "not metastatic"),
)
def b2_her2_positive_metastatic(record: PatientRecord) -> Iterator[Finding]:
    """Latest HER2 positive in metastatic breast cancer, not on HER2-directed therapy."""
    spread = metastatic(record, BREAST)
    if spread is None or on_drug(record, HER2_THERAPY):
        return
    her2 = her2_status(record)
    if her2.positive:
        yield fire(
            *spread.evidence,
            *her2.evidence,
            condition=spread.condition.ref,
            cancer=spread.condition.concept.label,
            result=her2.describe(),
        )


def _her2_supports(drug_is_tdxd: bool, her2: Her2Status) -> bool:
    return her2.positive or (drug_is_tdxd and her2.low)


@rule(
    "B3",
    version="1.0.0",
    hooks=ORDER_HOOKS,
    needs={"observations"},
    reads={"conditions"},
    fills={"order", "drug", "result", "condition"},
    variants={"no_condition": {"order", "drug", "result"}},
    fires_when=(
        "Trastuzumab, pertuzumab or trastuzumab deruxtecan is ordered while the latest HER2 result is negative, "
        "equivocal without ISH, or absent."
    ),
    silent_when=("the latest HER2 result is positive", "trastuzumab deruxtecan for HER2-low disease"),
)
def b3_her2_therapy_without_positive_result(record: PatientRecord) -> Iterator[Finding]:
    """Trastuzumab, pertuzumab or trastuzumab deruxtecan ordered without a positive (or, for T-DXd, low) HER2."""
    her2 = her2_status(record)
    breast = record.conditions_in(BREAST)
    for order in record.focus_orders:
        drug = HER2_THERAPY.member(order.concept) if order.resource_type == "MedicationRequest" else None
        if drug is None or _her2_supports(drug is TRASTUZUMAB_DERUXTECAN, her2):
            continue
        bindings = {"order": order.ref, "drug": drug.title, "result": her2.describe()}
        if breast:
            bindings["condition"] = breast[0].ref
        yield fire(order, *her2.evidence, *breast[:1], variant=None if breast else "no_condition", **bindings)
