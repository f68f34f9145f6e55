"""Advanced keratinocyte cancers: cutaneous SCC and BCC (rules S1–S3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import PatientRecord
from cdshooks.rules.common import CHECKPOINT_INHIBITOR, metastatic, on_drug, transplant_fact
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

CSCC = vs("cutaneous_scc")
METASTATIC_SCC = vs("metastatic_scc")
BCC = vs("basal_cell_carcinoma")
METASTATIC_BCC = vs("metastatic_bcc")
HEDGEHOG_INHIBITOR = vs("hedgehog_inhibitor")


@rule(
    "S1",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"condition", "cancer"},
    fires_when="Metastatic cutaneous SCC in a patient who is not a transplant recipient and not on a PD-1 inhibitor.",
    silent_when=("on a PD-1/PD-L1 inhibitor", "a solid-organ transplant recipient (T3 applies)", "no metastasis"),
)
def s1_metastatic_cscc_first_line(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic cSCC, not a transplant recipient, not yet on a PD-1 inhibitor."""
    if not record.conditions_in(CSCC) or transplant_fact(record) or on_drug(record, CHECKPOINT_INHIBITOR):
        return
    spread = metastatic(record, CSCC, METASTATIC_SCC)
    if spread is not None:
        yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "S2",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when="Metastatic basal cell carcinoma not on a hedgehog pathway inhibitor.",
    silent_when=("on vismodegib or sonidegib", "no metastasis"),
)
def s2_metastatic_bcc_hedgehog(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic BCC not on a hedgehog pathway inhibitor."""
    if on_drug(record, HEDGEHOG_INHIBITOR):
        return
    spread = metastatic(record, BCC, METASTATIC_BCC)
    if spread is not None:
        yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "S3",
    version="1.0.0",
    hooks=ORDER_HOOKS,
    fills={"order", "drug"},
    fires_when="Vismodegib or sonidegib is being ordered.",
    silent_when=("any other drug is ordered",),
)
def s3_hedgehog_inhibitor_safety(record: PatientRecord) -> Iterator[Finding]:
    """Vismodegib or sonidegib is being ordered."""
    for order in record.focus_orders:
        drug = HEDGEHOG_INHIBITOR.member(order.concept) if order.resource_type == "MedicationRequest" else None
        if drug is not None:
            yield fire(order, order=order.ref, drug=drug.title)
