"""Merkel cell carcinoma, and skin lesions in patients with a neuroendocrine tumour (rules K1, N1)."""

from __future__ import annotations

from collections.abc import Iterator

from cdshooks.record import PatientRecord
from cdshooks.rules.common import metastatic, on_drug, transplant_fact
from cdshooks.rules.registry import PATIENT_VIEW, Finding, fire, rule
from cdshooks.terminology import vs

MERKEL = vs("merkel_cell_carcinoma")
SECONDARY_MERKEL = vs("secondary_merkel_cell_carcinoma")
MERKEL_ANY = vs("merkel_diagnosis")
MERKEL_THERAPY = vs("pd1_pdl1_inhibitor")
NET = vs("non_cutaneous_net")
SKIN_SECONDARY = vs("secondary_skin")


@rule(
    "K1",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    needs={"medications"},
    reads={"conditions", "procedures"},
    fills={"condition", "cancer"},
    fires_when="Metastatic Merkel cell carcinoma, not a transplant recipient, not on PD-1/PD-L1 therapy.",
    silent_when=("on a PD-1/PD-L1 inhibitor", "a solid-organ transplant recipient (T3 applies)", "not metastatic"),
)
def k1_metastatic_merkel(record: PatientRecord) -> Iterator[Finding]:
    """Metastatic Merkel cell carcinoma, not a transplant recipient, not on PD-1/PD-L1 therapy."""
    if transplant_fact(record) or on_drug(record, MERKEL_THERAPY):
        return
    spread = metastatic(record, MERKEL, SECONDARY_MERKEL)
    if spread is not None:
        yield fire(*spread.evidence, condition=spread.condition.ref, cancer=spread.condition.concept.label)


@rule(
    "N1",
    version="1.0.0",
    hooks=PATIENT_VIEW,
    reads={"conditions"},
    fills={"condition", "cancer"},
    fires_when=(
        "A known non-cutaneous neuroendocrine tumour plus a skin secondary or Merkel cell diagnosis that is not "
        "linked to its primary."
    ),
    silent_when=("the skin lesion is already linked to its primary", "no neuroendocrine tumour"),
)
def n1_merkel_or_net_metastasis(record: PatientRecord) -> Iterator[Finding]:
    """Known non-cutaneous NET plus a skin secondary or Merkel diagnosis not yet linked to its primary."""
    lesions = [c for c in [*record.conditions_in(SKIN_SECONDARY), *record.conditions_in(MERKEL_ANY)] if not c.related]
    lesion_refs = {c.ref for c in lesions}
    nets = [c for c in record.conditions_in(NET) if c.ref not in lesion_refs and not MERKEL_ANY.matches(c.concept)]
    if not lesions or not nets:
        return
    lesion = lesions[0]
    yield fire(nets[0], lesion, condition=lesion.ref, cancer=nets[0].concept.label)
