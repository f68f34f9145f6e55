"""Breast cancer: skin metastases and HER2 (rules B1–B3)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from cdshooks.clinical import products
from cdshooks.clinical.markers import Her2Status, her2_status, results_in
from cdshooks.clinical.tumours import Tumour, tumours
from cdshooks.facts import ObservationFact
from cdshooks.record import PatientRecord
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import ValueSet, vs

SKIN_METASTASIS = vs("skin_metastasis")
# each receptor B1 asks for, with the value sets its results come under
RECEPTORS = {
    "ER": (vs("estrogen_receptor"),),
    "PR": (vs("progesterone_receptor"),),
    "HER2": (vs("her2"), vs("her2_quantitative")),
}
HER2_THERAPY = vs("her2_directed_therapy")
TRASTUZUMAB_DERUXTECAN = vs("trastuzumab_deruxtecan")


def breast_cancer(record: PatientRecord) -> Tumour | None:
    """An active breast cancer, or a recurrence (a history code with a new metastasis)."""
    found = tumours(record)
    active = found.active("breast")
    return active[0] if active else None


@rule(
    "B1",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"observations"},
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when=(
        "Breast cancer (or a history of it) with a skin metastasis that belongs to it, and not all three of ER, PR and "
        "HER2 resulted on or after the metastasis appeared."
    ),
    silent_when=(
        "ER, PR and HER2 all resulted on or after the metastasis onset (results inside panels count)",
        "the skin lesion belongs to another primary, or to one of several candidates with no link",
    ),
)
def b1_retest_skin_metastasis(record: PatientRecord) -> Iterator[Finding]:
    """Breast cancer with a skin metastasis and ER, PR or HER2 not resulted since the metastasis appeared."""
    skin_metastases = 0
    for breast in tumours(record).of_kind("breast"):
        for skin in (s for s in breast.secondaries if SKIN_METASTASIS.matches(s.concept)):
            skin_metastases += 1
            results = {name: _results(record, sets) for name, sets in RECEPTORS.items()}
            retested = all(_since(found, skin.when) for found in results.values())
            if not retested:
                latest = next((found[0] for found in results.values() if found), None)
                yield fire(breast.condition, skin, latest, condition=skin.ref, cancer=breast.condition.concept.label)
                return
    if skin_metastases:
        return record.because("ER, PR and HER2 all resulted on or after the skin metastasis appeared")
    return record.because("no breast cancer with a skin metastasis that belongs to it")


def _results(record: PatientRecord, sets: tuple[ValueSet, ...]) -> list[ObservationFact]:
    return [r for valueset in sets for r in results_in(record, valueset)]


def _since(results: list[ObservationFact], onset: datetime | None) -> bool:
    """A result dated on or after the onset (any result, when the onset is not recorded)."""
    if onset is None:
        return bool(results)
    return any(r.when is not None and r.when.date() >= onset.date() for r in results)


@rule(
    "B2",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"medications", "observations"},
    reads={"conditions"},
    fills={"condition", "cancer", "result"},
    fires_when=(
        "The latest final HER2 result is positive in metastatic breast cancer (a recurrence from a history code "
        "included), with no HER2-directed therapy."
    ),
    silent_when=(
        "a newer HER2-negative result",
        "already on HER2-directed therapy (trastuzumab and biosimilars, pertuzumab, T-DXd, T-DM1, tucatinib, "
        "lapatinib, neratinib, margetuximab...)",
        "not metastatic, or the metastases belong to another primary",
    ),
)
def b2_her2_positive_metastatic(record: PatientRecord) -> Iterator[Finding]:
    """Latest HER2 positive in metastatic breast cancer, not on HER2-directed therapy."""
    spread = tumours(record).metastatic("breast")
    if spread is None:
        return record.because("no metastatic breast cancer (or its metastases belong to another primary)")
    if products.current(record, HER2_THERAPY):
        return record.because("already on HER2-directed therapy")
    her2 = her2_status(record)
    if not her2.positive:
        return record.because(lambda: f"the latest final HER2 result is not positive: {her2.describe()}")
    yield fire(
        *spread.evidence,
        *her2.evidence,
        condition=spread.condition.ref,
        cancer=spread.condition.concept.label,
        result=her2.describe(),
    )


def _her2_supports(drug_is_tdxd: bool, her2: Her2Status) -> bool:
    return her2.positive or (drug_is_tdxd and her2.low_or_ultralow)


@rule(
    "B3",
    version="2.0.1",
    hooks=ORDER_HOOKS,
    needs={"observations"},
    reads={"conditions"},
    fills={"order", "drug", "result", "condition"},
    variants={"discordant": {"order", "drug", "result", "condition"}},
    fires_when=(
        "In a patient with breast cancer, a HER2-directed drug is ordered while the latest breast HER2 result is "
        "negative, equivocal without ISH, or absent; when an earlier result was positive, the card says so."
    ),
    silent_when=(
        "the latest HER2 result is positive",
        "trastuzumab deruxtecan for HER2-low or HER2-ultralow disease (IHC 2+ with ISH not amplified counts as low)",
        "no breast cancer (trastuzumab deruxtecan and trastuzumab have lung, gastric and other indications)",
    ),
)
def b3_her2_therapy_without_positive_result(record: PatientRecord) -> Iterator[Finding]:
    """HER2-directed therapy ordered for breast cancer without a positive (or, for T-DXd, low) HER2 result."""
    ordered = products.ordered(record, HER2_THERAPY)
    if not ordered:
        return record.because("no order for a HER2-directed drug")
    breast = breast_cancer(record)
    if breast is None:
        return record.because("no breast cancer recorded (HER2-directed drugs have other indications)")
    her2 = her2_status(record)
    for order, drug in ordered:
        if _her2_supports(drug is TRASTUZUMAB_DERUXTECAN, her2):
            record.because(lambda title=drug.title: f"{title}: the HER2 result supports it ({her2.describe()})")
            continue
        variant = "discordant" if her2.earlier_positive is not None else None
        bindings = {
            "order": order.ref,
            "drug": drug.title,
            "result": her2.describe(),
            "condition": breast.condition.ref,
        }
        yield fire(order, *her2.evidence, her2.earlier_positive, breast.condition, variant=variant, **bindings)
