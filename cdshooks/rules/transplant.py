"""Transplant recipients with cutaneous SCC, and immunosuppression (rules T1, T2)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import Fact, PatientRecord
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

SOT = vs("solid_organ_transplant")
SOT_PROCEDURE = vs("solid_organ_transplant_procedure")
CSCC = vs("cutaneous_scc")
METASTATIC_SCC = vs("metastatic_scc")
IMMUNOSUPPRESSANT = vs("calcineurin_or_antimetabolite")
MTOR = vs("mtor_inhibitor")


def transplant_fact(record: PatientRecord) -> Fact | None:
    """Evidence of a solid-organ transplant: a status condition or a transplant procedure."""
    found: list[Fact] = [*record.conditions_in(SOT), *record.procedures_in(SOT_PROCEDURE)]
    return found[0] if found else None


def on_mtor_inhibitor(record: PatientRecord) -> bool:
    return bool(record.medications_in(MTOR) or record.drafts_in(MTOR))


@rule("T1", hooks=ORDER_HOOKS, needs={"medications"})
def t1_switch_to_sirolimus(record: PatientRecord) -> Iterator[Finding]:
    """A CNI/antimetabolite is being ordered for a transplant recipient with active cSCC."""
    if on_mtor_inhibitor(record):
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
    if on_mtor_inhibitor(record):
        return
    transplant = transplant_fact(record)
    cscc = record.conditions_in(CSCC)
    current = record.medications_in(IMMUNOSUPPRESSANT)
    if transplant is None or not cscc or not current:
        return
    metastatic = record.conditions_in(METASTATIC_SCC)
    if not metastatic and len(cscc) < 2:
        return
    drug = IMMUNOSUPPRESSANT.member(current[0].concept)
    yield fire(
        transplant,
        *cscc,
        *metastatic,
        current[0],
        condition=cscc[0].ref,
        drug=drug.title if drug else current[0].concept.label,
    )
