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


@rule(
    "T1",
    version="1.0.0",
    hooks=ORDER_HOOKS,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"order", "drug"},
    fires_when=(
        "A draft order for tacrolimus, cyclosporine, azathioprine or mycophenolate, for a solid-organ transplant "
        "recipient with an active cutaneous SCC."
    ),
    silent_when=(
        "the patient is already on sirolimus or everolimus",
        "no solid-organ transplant (cornea, bone marrow and stem cells are not solid organs)",
        "the cSCC is resolved, refuted or entered in error",
        "the drug is a topical or ophthalmic form (ointment, eye drops)",
    ),
)
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


@rule(
    "T2",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"condition", "drug"},
    fires_when=(
        "A solid-organ transplant recipient with metastatic or multiple cutaneous SCC is still on a calcineurin "
        "inhibitor or antimetabolite."
    ),
    silent_when=(
        "the patient is already on sirolimus or everolimus",
        "no current calcineurin inhibitor or antimetabolite",
        "a single, non-metastatic cSCC",
    ),
)
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


@rule(
    "T3",
    version="1.0.0",
    hooks=ORDER_HOOKS,
    reads={"conditions", "procedures"},
    fills={"order", "drug"},
    fires_when="A PD-1/PD-L1 inhibitor is ordered for a solid-organ transplant recipient.",
    silent_when=("the transplant status is refuted or entered in error", "no solid-organ transplant"),
)
def t3_checkpoint_inhibitor_after_transplant(record: PatientRecord) -> Iterator[Finding]:
    """A PD-1/PD-L1 inhibitor is being ordered for a solid-organ transplant recipient."""
    transplant = transplant_fact(record)
    if transplant is None:
        return
    for order in record.focus_orders:
        drug = CHECKPOINT.member(order.concept) if order.resource_type == "MedicationRequest" else None
        if drug is not None:
            yield fire(transplant, order, order=order.ref, drug=drug.title)
