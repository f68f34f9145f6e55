"""Every finding of the clinical review of realistic payloads is a regression case of the corpus.

The corpus runner (tests/test_corpus.py) runs each case; this table ties each finding to its cases and
states what the service must answer, so that a case cannot drift away from the finding it guards.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

CASES = Path(__file__).resolve().parent / "corpus" / "cases"

FINDINGS = {
    "narrative 'BRAF V600E detected; NRAS and KIT not detected' is V600E, not wild-type": {
        "m2-narrative-v600e-nras-kit-not-detected": [],
        "m3-narrative-v600e-nras-kit-not-detected": ["M3", "P1"],
    },
    "'No BRAF V600 mutation detected' is wild-type (critical), not a non-V600 variant": {
        "m2-narrative-no-braf-v600-mutation-detected": ["M2:wild_type"],
    },
    "HGVS coding-DNA notation: c.1799T>A is V600E, c.1798_1799delinsAA is V600K": {
        "m2-cdna-c1799t-a-is-v600e": [],
        "m2-cdna-c1798-1799delinsaa-is-v600k": [],
    },
    "tacrolimus ointment and cyclosporine eye drops are not systemic immunosuppression": {
        "t1-tacrolimus-ointment-is-not-systemic": [],
        "t1-cyclosporine-eye-drops-not-systemic": [],
    },
    "a cSCC excised years ago (abatementDateTime, no clinicalStatus) is resolved": {
        "t1-cscc-excised-years-ago-abatement-only": [],
    },
    "a medicationReference to a Medication elsewhere in the Bundle (by id or fullUrl) is resolved": {
        "t2-tacrolimus-included-medication": ["P1", "T2"],
        "t2-tacrolimus-reference-by-fullurl": ["P1", "T2"],
    },
    "a transplant recorded only as T86.x, or under urn:oid:2.16.840.1.113883.6.90, proves the graft": {
        "t3-t86-12-kidney-failure-nivolumab": ["T3"],
        "t3-oid-kidney-status-pembrolizumab": ["T3"],
    },
    "newer checkpoint inhibitors (retifanlimab, cosibelimab) are recognised": {
        "t3-retifanlimab-kidney-recipient": ["T3"],
        "t3-cosibelimab-kidney-recipient": ["T3"],
    },
    "metastases are not attributed to every primary (old cSCC + lung cancer with bone metastases)": {
        "s1-old-cscc-lung-cancer-bone-mets": ["P1"],
    },
    "a history code Z85.x plus new metastases is a recurrence": {
        "m1-history-z85-820-new-lung-mets": ["M1", "P1"],
    },
    "one cSCC recorded twice (problem list + encounter diagnosis) is not 'multiple'": {
        "t2-one-cscc-problem-list-and-encounter-diagnosis": [],
    },
    "HER2 inside a panel's components counts as a result": {
        "b2-interpretation-with-ihc-3plus-component": ["B2"],
    },
    "'IHC 2+, ISH not amplified' in one result is HER2-low, not equivocal": {
        "b3-narrative-her2-low-trastuzumab": ["B3"],
        "b3-narrative-her2-low-tdxd": [],
    },
    "HER2-ultralow allows trastuzumab deruxtecan; T-DM1 is HER2-directed therapy": {
        "b3-tdxd-her2-ultralow": [],
        "b3-tdm1-her2-negative": ["B3"],
        "b2-on-kadcyla": [],
    },
    "a deceased patient gets no cards": {
        "pv-metastatic-cscc-deceased": [],
    },
    "hospice counts as palliative care": {
        "p1-hospice-episode-of-care": ["S1"],
    },
    "order-sign does not suggest a BRAF test that is already pending": {
        "m2-order-sign-braf-pending-on-file": ["M2:pending"],
    },
    "T1 keeps the calcineurin inhibitor and offers no sirolimus to liver or lung recipients": {
        "t1-liver-z94-4-no-sirolimus": ["T1:no_sirolimus"],
        "t1-lung-z94-2-no-sirolimus": ["T1:no_sirolimus"],
        "t1-order-sign-referral-among-drafts": [],
    },
}


@pytest.mark.parametrize("finding", FINDINGS)
def test_each_finding_has_its_corpus_cases(finding: str) -> None:
    for case_id, expect in FINDINGS[finding].items():
        case = json.loads((CASES / f"{case_id}.json").read_text(encoding="utf-8"))
        assert sorted(case["expect"]) == sorted(expect), case_id
