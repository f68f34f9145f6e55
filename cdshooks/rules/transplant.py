"""Transplant recipients: cutaneous SCC and immunosuppression, checkpoint inhibitors (rules T1–T3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.clinical import products
from cdshooks.clinical.transplant import liver_or_lung_recipient, transplant_fact
from cdshooks.clinical.tumours import tumours
from cdshooks.record import PatientRecord
from cdshooks.rules.common import unique
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

IMMUNOSUPPRESSANT = vs("calcineurin_or_antimetabolite")
MTOR = vs("mtor_inhibitor")
SIROLIMUS = vs("sirolimus")
CHECKPOINT = vs("checkpoint_inhibitor")
TRANSPLANT_TEAM_REFERRAL = vs("transplant_team_referral")


def _conversion_under_way(record: PatientRecord) -> bool:
    """A transplant-team referral or a sirolimus proposal is among the draft orders already."""
    for order in record.draft_orders:
        if order.resource_type == "ServiceRequest" and TRANSPLANT_TEAM_REFERRAL.matches(order.concept):
            return True
        if order.resource_type == "MedicationRequest" and products.drug_of(order, SIROLIMUS, record) is not None:
            return True
    return False


@rule(
    "T1",
    version="2.0.1",
    hooks=ORDER_HOOKS,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"order", "drug", "condition"},
    variants={"no_sirolimus": {"order", "drug", "condition"}},
    fires_when=(
        "A draft order for systemic tacrolimus, cyclosporine, azathioprine or mycophenolate, for a solid-organ "
        "transplant recipient with an active cutaneous SCC: refer to the transplant team and, except for liver or "
        "lung recipients, propose sirolimus for the team's review (the current order is kept)."
    ),
    silent_when=(
        "the patient is already on systemic sirolimus or everolimus",
        "no solid-organ transplant (cornea, bone marrow, stem cells and skin grafts are not solid organs)",
        "the cSCC is resolved (also by an abatement date), refuted or entered in error",
        "the drug is a topical or ophthalmic form (ointment, eye drops), whatever its ingredient code",
        "a transplant-team referral or a sirolimus proposal is already among the draft orders",
    ),
)
def t1_consider_sirolimus(record: PatientRecord) -> Iterator[Finding]:
    """A CNI/antimetabolite is being ordered for a transplant recipient with active cSCC."""
    if products.current(record, MTOR) is not None:
        return record.because("already on systemic sirolimus or everolimus")
    if _conversion_under_way(record):
        return record.because("a transplant-team referral or a sirolimus proposal is already among the draft orders")
    ordered = products.ordered(record, IMMUNOSUPPRESSANT)
    if not ordered:
        return record.because("no order for systemic tacrolimus, cyclosporine, azathioprine or mycophenolate")
    transplant = transplant_fact(record)
    if transplant is None:
        return record.because("no solid-organ transplant recorded")
    cscc = tumours(record).active("cscc")
    if not cscc:
        return record.because("no active cutaneous SCC (resolved, refuted or entered in error ones do not count)")
    variant = "no_sirolimus" if liver_or_lung_recipient(record) else None
    condition = cscc[0].condition
    for order, drug in ordered:
        yield fire(
            *unique(transplant, condition, order),
            variant=variant,
            order=order.ref,
            drug=drug.title,
            condition=condition.ref,
        )


@rule(
    "T2",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"condition", "drug"},
    fires_when=(
        "A solid-organ transplant recipient with metastatic or multiple cutaneous SCC is still on a systemic "
        "calcineurin inhibitor or antimetabolite."
    ),
    silent_when=(
        "the patient is already on systemic sirolimus or everolimus",
        "no current systemic calcineurin inhibitor or antimetabolite (ointments and eye drops do not count)",
        "a single, non-metastatic cSCC (one tumour recorded twice — problem list and encounter diagnosis, same or "
        "missing site, onsets within 30 days — is one)",
    ),
)
def t2_review_immunosuppression(record: PatientRecord) -> Iterator[Finding]:
    """Transplant recipient with metastatic or multiple cSCC, still on a CNI/antimetabolite."""
    if products.current(record, MTOR) is not None:
        return record.because("already on systemic sirolimus or everolimus")
    transplant = transplant_fact(record)
    if transplant is None:
        return record.because("no solid-organ transplant recorded")
    cscc = tumours(record).active("cscc")
    if not cscc:
        return record.because("no active cutaneous SCC")
    current = products.current_medications(record, IMMUNOSUPPRESSANT)
    if not current:
        return record.because("no current systemic calcineurin inhibitor or antimetabolite")
    spread = tumours(record).metastatic("cscc")
    if spread is None and len(cscc) < 2:
        return record.because("a single cutaneous SCC without metastases")
    fact, drug = current[0]
    evidence = [c for t in cscc for c in t.records[:1]] + (list(spread.secondaries[:1]) if spread else [])
    yield fire(*unique(transplant, *evidence, fact), condition=(spread or cscc[0]).condition.ref, drug=drug.title)


@rule(
    "T3",
    version="2.0.1",
    hooks=ORDER_HOOKS,
    reads={"conditions", "procedures"},
    fills={"order", "drug"},
    fires_when=(
        "An immune checkpoint inhibitor (PD-1, PD-L1, CTLA-4 or LAG-3, subcutaneous co-formulations included) is "
        "ordered for a solid-organ transplant recipient (a Z94 status, a T86 complication of the graft, or the "
        "transplant procedure)."
    ),
    silent_when=("the transplant status is refuted or entered in error", "no solid-organ transplant"),
)
def t3_checkpoint_inhibitor_after_transplant(record: PatientRecord) -> Iterator[Finding]:
    """A checkpoint inhibitor is being ordered for a solid-organ transplant recipient."""
    ordered = products.ordered(record, CHECKPOINT)
    if not ordered:
        return record.because("no order for an immune checkpoint inhibitor")
    transplant = transplant_fact(record)
    if transplant is None:
        return record.because("no solid-organ transplant recorded")
    for order, drug in ordered:
        yield fire(transplant, order, order=order.ref, drug=drug.title)
