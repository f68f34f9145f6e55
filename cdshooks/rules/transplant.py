"""Transplant recipients: cutaneous SCC and immunosuppression, checkpoint inhibitors (rules T1–T3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import PatientRecord
from cdshooks.rules.common import metastatic, on_drug, transplant_fact
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

CSCC = vs("cutaneous_scc")
METASTATIC_SCC = vs("metastatic_scc")
IMMUNOSUPPRESSANT = vs("calcineurin_or_antimetabolite")
MTOR = vs("mtor_inhibitor")
CHECKPOINT = vs("pd1_pdl1_inhibitor")


@rule("T1", hooks=ORDER_HOOKS, needs={"medications"})
def t1_switch_to_sirolimus(record: PatientRecord) -> Iterator[Finding]:
    """A CNI/antimetabolite is being ordered for a transplant recipient with active cSCC."""
    if on_drug(record, MTOR):
        return
    transplant = transplant_fact(record)
    cscc = record.conditions_in(CSCC)
    if transplant is None or not cscc:
        return
    for order in record.focus_orders:
        drug = IMMUNOSUPPRESSANT.member(order.concept) if order.resource_type == "MedicationRequest" else None
        if drug is not None:
            yield fire(transplant, cscc[0], order, order=order.ref, drug=drug.title)


@rule("T2", hooks=PATIENT_VIEW, needs={"medications"})
def t2_review_immunosuppression(record: PatientRecord) -> Iterator[Finding]:
    """Transplant recipient with metastatic or multiple cSCC, still on a CNI/antimetabolite."""
    if on_drug(record, MTOR):
        return
    transplant = transplant_fact(record)
    cscc = record.conditions_in(CSCC)
    current = record.medications_in(IMMUNOSUPPRESSANT)
    if transplant is None or not cscc or not current:
        return
    spread = metastatic(record, CSCC, METASTATIC_SCC)
    if spread is None and len(cscc) < 2:
        return
    drug = IMMUNOSUPPRESSANT.member(current[0].concept)
    yield fire(
        transplant,
        *cscc,
        *(spread.evidence if spread else ()),
        current[0],
        condition=cscc[0].ref,
        drug=drug.title if drug else current[0].concept.label,
    )


@rule("T3", hooks=ORDER_HOOKS)
def t3_checkpoint_inhibitor_after_transplant(record: PatientRecord) -> Iterator[Finding]:
    """A PD-1/PD-L1 inhibitor is being ordered for a solid-organ transplant recipient."""
    transplant = transplant_fact(record)
    if transplant is None:
        return
    for order in record.focus_orders:
        drug = CHECKPOINT.member(order.concept) if order.resource_type == "MedicationRequest" else None
        if drug is not None:
            yield fire(transplant, order, order=order.ref, drug=drug.title)
