"""Advanced keratinocyte cancers: cutaneous SCC and BCC (rules S1–S3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.clinical import products
from cdshooks.clinical.pregnancy import pregnancy
from cdshooks.clinical.transplant import transplant_fact
from cdshooks.clinical.tumours import tumours
from cdshooks.record import PatientRecord
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

PD1_PDL1 = vs("pd1_pdl1_inhibitor")
HEDGEHOG_INHIBITOR = vs("hedgehog_inhibitor")


@rule(
    "S1",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"condition", "cancer"},
    fires_when=(
        "Metastatic cutaneous SCC (the metastasis linked to it, or it the only candidate primary) in a patient who is "
        "not a transplant recipient and was never on a PD-1/PD-L1 inhibitor."
    ),
    silent_when=(
        "on, or previously treated with, a PD-1/PD-L1 inhibitor (cemiplimab, pembrolizumab, cosibelimab...)",
        "a solid-organ transplant recipient (T3 applies)",
        "the metastases belong to another primary, or to one of several candidates with no link",
    ),
)
def s1_metastatic_cscc_first_line(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic cSCC, not a transplant recipient, never treated with a PD-1/PD-L1 inhibitor."""
    spread = tumours(record).metastatic("cscc")
    if spread is None:
        return record.because("no metastatic cutaneous SCC (no metastasis linked to it, or other candidate primaries)")
    if transplant_fact(record):
        return record.because("a solid-organ transplant recipient (T3 applies)")
    if products.ever(record, PD1_PDL1):
        return record.because("on, or treated before with, a PD-1/PD-L1 inhibitor")
    yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "S2",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when="Metastatic basal cell carcinoma never treated with a hedgehog pathway inhibitor.",
    silent_when=(
        "on, or previously treated with, vismodegib or sonidegib (progression after one is a second-line question)",
        "the metastases belong to another primary, or to one of several candidates with no link",
    ),
)
def s2_metastatic_bcc_hedgehog(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic BCC never treated with a hedgehog pathway inhibitor."""
    spread = tumours(record).metastatic("bcc")
    if spread is None:
        return record.because("no metastatic basal cell carcinoma")
    if products.ever(record, HEDGEHOG_INHIBITOR):
        return record.because("on, or treated before with, vismodegib or sonidegib")
    yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "S3",
    version="2.0.1",
    hooks=ORDER_HOOKS,
    reads={"conditions", "observations", "procedures"},
    fills={"order", "drug"},
    variants={"pregnant": {"order", "drug"}},
    fires_when=(
        "Vismodegib or sonidegib is being ordered: a warning, critical when an active pregnancy is documented (a "
        "pregnancy condition, or a positive pregnancy test within 42 weeks with no later negative test or delivery)."
    ),
    silent_when=("any other drug is ordered",),
)
def s3_hedgehog_inhibitor_safety(record: PatientRecord) -> Iterator[Finding]:
    """Vismodegib or sonidegib is being ordered."""
    ordered = products.ordered(record, HEDGEHOG_INHIBITOR)
    if not ordered:
        return record.because("no order for vismodegib or sonidegib")
    pregnant = pregnancy(record)
    for order, drug in ordered:
        variant = "pregnant" if pregnant is not None else None
        yield fire(order, pregnant, variant=variant, order=order.ref, drug=drug.title)
