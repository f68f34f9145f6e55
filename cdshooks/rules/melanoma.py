"""Metastatic melanoma and BRAF V600 (rules M1–M3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import PatientRecord
from cdshooks.rules.common import CHECKPOINT_INHIBITOR, metastatic, on_drug, pending_requests
from cdshooks.rules.markers import Braf, braf_status
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

MELANOMA = vs("melanoma")
METASTATIC_MELANOMA = vs("metastatic_melanoma")
BRAF_MEK_INHIBITOR = vs("braf_or_mek_inhibitor")
BRAF_TEST = vs("braf_test_order")


@rule(
    "M1",
    version="1.0.0",
    hooks=PATIENT_VIEW | {"order-select"},
    needs={"observations", "service_requests"},
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when="Metastatic melanoma with no final BRAF result and no BRAF test pending or among the draft orders.",
    silent_when=(
        "a final BRAF result exists (preliminary results do not count)",
        "a BRAF test is already ordered or drafted",
        "the melanoma is not metastatic",
    ),
)
def m1_test_braf(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic melanoma with no final BRAF result and no BRAF test pending or drafted."""
    spread = metastatic(record, MELANOMA, METASTATIC_MELANOMA)
    if spread is None or braf_status(record) is not None or pending_requests(record, BRAF_TEST):
        return
    yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "M2",
    version="1.0.0",
    hooks=ORDER_HOOKS,
    needs={"observations"},
    reads={"conditions", "service_requests"},
    fills={"order", "drug", "result", "condition"},
    variants={
        "no_condition": {"order", "drug", "result"},
        "pending": {"order", "drug", "result"},
        "not_v600": {"order", "drug", "result"},
        "wild_type": {"order", "drug", "result"},
    },
    fires_when=(
        "A BRAF or MEK inhibitor is ordered without a documented BRAF V600E/K: a warning when untested, pending or "
        "another variant, critical when BRAF wild-type is documented."
    ),
    silent_when=("BRAF V600E or V600K is documented (variant, mutation analysis or V600E IHC)",),
)
def m2_targeted_therapy_without_v600(record: PatientRecord) -> Iterator[Finding]:
    """A BRAF or MEK inhibitor is being ordered without a documented BRAF V600E/K."""
    orders = [
        (order, drug)
        for order in record.focus_orders
        if order.resource_type == "MedicationRequest" and (drug := BRAF_MEK_INHIBITOR.member(order.concept))
    ]
    if not orders:
        return
    braf = braf_status(record)
    if braf is not None and braf.kind is Braf.V600:
        return
    melanoma = [*record.conditions_in(METASTATIC_MELANOMA), *record.conditions_in(MELANOMA)]
    pending = pending_requests(record, BRAF_TEST)
    if braf is not None and braf.kind is Braf.WILD_TYPE:
        variant = "wild_type"
    elif braf is not None and braf.kind is Braf.OTHER:
        variant = "not_v600"
    elif pending:
        variant = "pending"
    else:
        variant = None if melanoma else "no_condition"
    result = braf.describe() if braf else "no BRAF result"
    for order, drug in orders:
        bindings = {"order": order.ref, "drug": drug.title, "result": result}
        if melanoma:
            bindings["condition"] = melanoma[0].ref
        yield fire(order, braf.fact if braf else None, *pending[:1], *melanoma[:1], variant=variant, **bindings)


@rule(
    "M3",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"medications", "observations"},
    reads={"conditions"},
    fills={"condition", "cancer", "result"},
    fires_when="Metastatic melanoma with BRAF V600E/K, on neither BRAF/MEK nor PD-1 therapy.",
    silent_when=("on a BRAF/MEK inhibitor or a PD-1/PD-L1 inhibitor", "no V600E/K result", "not metastatic"),
)
def m3_v600_treatment_options(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic melanoma with BRAF V600E/K, on neither BRAF/MEK nor PD-1 therapy."""
    spread = metastatic(record, MELANOMA, METASTATIC_MELANOMA)
    if spread is None or on_drug(record, BRAF_MEK_INHIBITOR) or on_drug(record, CHECKPOINT_INHIBITOR):
        return
    braf = braf_status(record)
    if braf is None or braf.kind is not Braf.V600:
        return
    yield fire(
        *spread.evidence,
        braf.fact,
        condition=spread.condition.ref,
        cancer=spread.condition.concept.label,
        result=braf.describe(),
    )
