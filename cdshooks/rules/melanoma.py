"""Metastatic melanoma and BRAF V600 (rules M1–M3)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.clinical import products
from cdshooks.clinical.markers import Braf, braf_status
from cdshooks.clinical.tumours import tumours
from cdshooks.record import PatientRecord
from cdshooks.rules.common import pending_requests
from cdshooks.rules.registry import ORDER_HOOKS, PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

BRAF_MEK_INHIBITOR = vs("braf_or_mek_inhibitor")
CHECKPOINT = vs("checkpoint_inhibitor")
BRAF_TEST = vs("braf_test_order")


@rule(
    "M1",
    version="2.0.1",
    hooks=PATIENT_VIEW | {"order-select"},
    needs={"observations", "service_requests"},
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when=(
        "Metastatic melanoma (a recorded or recurrent melanoma with its metastasis, or a metastatic melanoma code) "
        "with no final BRAF result and no BRAF test pending or among the draft orders."
    ),
    silent_when=(
        "a final BRAF result exists (preliminary results do not count; a narrative or panel result counts)",
        "a BRAF test is already ordered or drafted",
        "the melanoma is not metastatic, or the metastases belong to another primary",
    ),
)
def m1_test_braf(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic melanoma with no final BRAF result and no BRAF test pending or drafted."""
    spread = tumours(record).metastatic("melanoma")
    if spread is None:
        return record.because("no metastatic melanoma (or its metastases belong to another primary)")
    braf = braf_status(record)
    if braf is not None:
        return record.because(lambda: f"a final BRAF result exists: {braf.describe()}")
    if pending_requests(record, BRAF_TEST):
        return record.because("a BRAF test is already ordered or among the draft orders")
    yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "M2",
    version="2.0.1",
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
        "another variant, critical when BRAF V600 wild-type is documented."
    ),
    silent_when=(
        "BRAF V600E or V600K is documented (variant, narrative, c. or p. notation, mutation analysis or V600E IHC)",
    ),
)
def m2_targeted_therapy_without_v600(record: PatientRecord) -> Iterator[Finding]:
    """A BRAF or MEK inhibitor is being ordered without a documented BRAF V600E/K."""
    orders = products.ordered(record, BRAF_MEK_INHIBITOR)
    if not orders:
        return record.because("no order for a BRAF or MEK inhibitor")
    braf = braf_status(record)
    if braf is not None and braf.kind is Braf.V600:
        return record.because(lambda: f"BRAF V600E/K is documented: {braf.describe()}")
    melanoma = [t.condition for t in tumours(record).of_kind("melanoma")]
    pending = pending_requests(record, BRAF_TEST)
    if braf is not None and braf.kind is Braf.WILD_TYPE:
        variant: str | None = "wild_type"
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
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"medications", "observations"},
    reads={"conditions"},
    fills={"condition", "cancer", "result"},
    fires_when="Metastatic melanoma with BRAF V600E/K, on neither BRAF/MEK nor checkpoint-inhibitor therapy.",
    silent_when=(
        "on a BRAF/MEK inhibitor or an immune checkpoint inhibitor",
        "no V600E/K result",
        "not metastatic, or the metastases belong to another primary",
    ),
)
def m3_v600_treatment_options(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic melanoma with BRAF V600E/K, on neither BRAF/MEK nor checkpoint therapy."""
    spread = tumours(record).metastatic("melanoma")
    if spread is None:
        return record.because("no metastatic melanoma (or its metastases belong to another primary)")
    if products.current(record, BRAF_MEK_INHIBITOR) or products.current(record, CHECKPOINT):
        return record.because("on a BRAF/MEK inhibitor or an immune checkpoint inhibitor")
    braf = braf_status(record)
    if braf is None:
        return record.because("no final BRAF result")
    if braf.kind is not Braf.V600:
        return record.because(lambda: f"the BRAF result is not V600E/K: {braf.describe()}")
    yield fire(
        *spread.evidence,
        braf.fact,
        condition=spread.condition.ref,
        cancer=spread.condition.concept.label,
        result=braf.describe(),
    )
