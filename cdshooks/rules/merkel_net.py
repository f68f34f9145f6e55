"""Merkel cell carcinoma and neuroendocrine tumours (rules K1, N1)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.clinical import products
from cdshooks.clinical.transplant import transplant_fact
from cdshooks.clinical.tumours import tumours
from cdshooks.record import PatientRecord
from cdshooks.rules.registry import PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

PD1_PDL1 = vs("pd1_pdl1_inhibitor")
MERKEL_ANY = vs("merkel_diagnosis")
SKIN_SECONDARY = vs("secondary_skin")


@rule(
    "K1",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"condition", "cancer"},
    fires_when="Metastatic Merkel cell carcinoma, not a transplant recipient, not on PD-1/PD-L1 therapy.",
    silent_when=(
        "on a PD-1/PD-L1 inhibitor (avelumab, pembrolizumab, retifanlimab, nivolumab...)",
        "a solid-organ transplant recipient (T3 applies)",
        "not metastatic, or the metastases belong to another primary",
    ),
)
def k1_metastatic_merkel(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic Merkel cell carcinoma, not a transplant recipient, not on PD-1/PD-L1 therapy."""
    spread = tumours(record).metastatic("merkel")
    if spread is None:
        return record.because("no metastatic Merkel cell carcinoma (or its metastases belong to another primary)")
    if transplant_fact(record):
        return record.because("a solid-organ transplant recipient (T3 applies)")
    if products.current(record, PD1_PDL1):
        return record.because("on a PD-1/PD-L1 inhibitor")
    yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "N1",
    version="2.0.1",
    hooks=PATIENT_VIEW,
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when=(
        "A known non-cutaneous neuroendocrine tumour or carcinoma (small-cell lung cancer included; a history code "
        "counts) plus a skin secondary or a Merkel cell diagnosis that is not linked to its primary."
    ),
    silent_when=("the skin lesion is already linked to its primary", "no neuroendocrine tumour"),
)
def n1_merkel_or_net_metastasis(record: PatientRecord) -> Iterator[Finding]:
    """Known non-cutaneous NET plus a skin secondary or Merkel diagnosis not yet linked to its primary."""
    candidates = [*record.conditions_in(SKIN_SECONDARY), *record.conditions_in(MERKEL_ANY)]
    lesions = [c for c in dict.fromkeys(candidates) if not c.related]
    nets = [t.condition for t in tumours(record).of_kind("net")]
    nets = [c for c in nets if c not in lesions and not MERKEL_ANY.matches(c.concept)]
    if not lesions:
        return record.because("no skin secondary or Merkel cell diagnosis that is not linked to its primary")
    if not nets:
        return record.because("no non-cutaneous neuroendocrine tumour recorded")
    yield fire(nets[0], lesions[0], condition=lesions[0].ref, cancer=nets[0].concept.label)
