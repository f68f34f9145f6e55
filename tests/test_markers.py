"""HER2 and BRAF readings from Observations, and the record facts they rest on."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from cdshooks.clinical.markers import Braf, Call, braf_status, her2_status, protein_changes
from cdshooks.record import build_record
from tests.builders import cc, condition, load_mcode, med_request, medication, observation

PID = "p1"
NOW = datetime(2026, 3, 1, tzinfo=UTC)
IHC = cc(("loinc", "85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain"))
ISH = cc(("loinc", "85318-4", "ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH"))
INTERP = cc(("loinc", "48676-1", "HER2 [Interpretation] in Tissue"))
RATIO = cc(("loinc", "49683-6", "ERBB2 gene copy number/Chromosome 17 copy number in Tissue by FISH"))
COPIES = cc(("loinc", "74860-8", "ERBB2 gene copy number/nucleus in Tissue by FISH"))


def record(*resources: dict[str, Any]):  # type: ignore[no-untyped-def]
    return build_record(patient_id=PID, hook="patient-view", resources=list(resources), now=NOW)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("p.Val600Glu", ["V600E"]),
        ("p.(Val600Glu)", ["V600E"]),
        ("NP_004324.2:p.Val600Glu", ["V600E"]),
        ("p.V600E", ["V600E"]),
        ("p.Val600Lys", ["V600K"]),
        ("NM_004333.4(BRAF):c.1799T>A (p.Val600Glu)", ["V600E"]),
        ("c.1799T>A", []),
        ("HGNC:1097 LA9633-4", []),
    ],
)
def test_protein_change_spellings(text: str, expected: list[str]) -> None:
    assert protein_changes(text) == expected


@pytest.mark.parametrize(
    ("observations", "call", "low"),
    [
        ([(IHC, cc(text="3+"), "2026-01-01")], Call.POSITIVE, False),
        ([(IHC, cc(text="Positive (3+)"), "2026-01-01")], Call.POSITIVE, False),
        ([(IHC, 2, "2026-01-01")], Call.EQUIVOCAL, False),
        ([(IHC, cc(text="Score 1+"), "2026-01-01")], Call.NEGATIVE, True),
        ([(IHC, cc(text="0"), "2026-01-01")], Call.NEGATIVE, False),
        ([(IHC, cc(text="2+"), "2026-01-01"), (ISH, cc(text="Not amplified"), "2026-01-05")], Call.NEGATIVE, True),
        ([(IHC, cc(text="2+"), "2026-01-01"), (ISH, cc(text="amplified"), "2026-01-05")], Call.POSITIVE, False),
        (
            [(IHC, cc(text="2+"), "2026-01-01"), (ISH, cc(("loinc", "LA9633-4", "Present")), "2026-01-01")],
            Call.POSITIVE,
            False,
        ),
        ([(ISH, cc(text="amplified"), "2025-01-01"), (IHC, cc(text="2+"), "2026-01-01")], Call.EQUIVOCAL, False),
        (
            [(IHC, cc(text="3+"), "2025-01-01"), (INTERP, cc(("loinc", "LA6577-6", "Negative")), "2026-01-01")],
            Call.NEGATIVE,
            False,
        ),
        ([(INTERP, cc(("snomed", "42425007", "Equivocal")), "2026-01-01")], Call.EQUIVOCAL, False),
        ([(RATIO, 2.4, "2026-01-01"), (COPIES, 5.0, "2026-01-01")], Call.POSITIVE, False),
        ([(RATIO, 1.3, "2026-01-01"), (COPIES, 2.1, "2026-01-01")], Call.NEGATIVE, False),
        ([(RATIO, 2.2, "2026-01-01"), (COPIES, 3.1, "2026-01-01")], Call.EQUIVOCAL, False),
        ([(RATIO, 2.4, "2026-01-01")], None, False),
    ],
)
def test_her2_status(observations: list[tuple[Any, Any, str]], call: Call | None, low: bool) -> None:
    resources = [
        observation(PID, f"o{i}", code, value=value, effective=when)
        for i, (code, value, when) in enumerate(observations)
    ]
    status = her2_status(record(*resources))
    assert status.call is call
    assert status.low is low


def test_her2_preliminary_and_cancelled_do_not_count() -> None:
    final = observation(PID, "old", IHC, value=cc(text="1+"), effective="2025-01-01")
    prelim = observation(PID, "new", IHC, value=cc(text="3+"), effective="2026-01-01", status="preliminary")
    cancelled = observation(PID, "newer", ISH, value=cc(text="amplified"), effective="2026-02-01", status="cancelled")
    status = her2_status(record(final, prelim, cancelled))
    assert status.call is Call.NEGATIVE
    assert [f.ref for f in status.evidence] == ["Observation/old"]


def test_braf_from_mcode_pertinent_negative_is_wild_type() -> None:
    result = braf_status(record(load_mcode("Observation-gx-genomic-variant-pertinent-negative-nras-kit-braf", PID)))
    assert result is not None and result.kind is Braf.WILD_TYPE


def test_braf_variant_of_another_gene_is_ignored() -> None:
    nras = observation(
        PID,
        "nras",
        cc(("loinc", "69548-6", "Genetic variant assessment")),
        value=cc(("loinc", "LA9633-4", "Present")),
        components=[
            (cc(("loinc", "48018-6", "Gene studied [ID]")), cc(("hgnc", "HGNC:7989", "NRAS"))),
            (cc(("loinc", "48005-3", "Amino acid change (pHGVS)")), cc(text="p.Gln61Arg")),
        ],
    )
    assert braf_status(record(nras)) is None


def test_v600_anywhere_wins_over_a_newer_wild_type() -> None:
    v600 = observation(
        PID, "ihc", cc(("loinc", "85299-6", "BRAF V600E IHC")), value=cc(text="Positive"), effective="2024-01-01"
    )
    wild = load_mcode("Observation-gx-genomic-variant-pertinent-negative-nras-kit-braf", PID)
    wild["effectiveDateTime"] = "2026-01-01"
    result = braf_status(record(v600, wild))
    assert result is not None and result.kind is Braf.V600 and result.variant == "V600E"


def test_condition_links_and_medication_references() -> None:
    secondary = condition(PID, "sec", cc(("icd10cm", "C79.2", "Secondary malignant neoplasm of skin")), related="prim")
    secondary["evidence"] = [{"detail": [{"reference": "Condition/other"}, {"reference": "Observation/x"}]}]
    bundled = med_request(PID, "m1", "Medication/med")
    contained = med_request(PID, "m2", "#c", contained=medication("c", cc(text="KEYTRUDA")))
    rec = record(secondary, bundled, medication("med", cc(("rxnorm", "35302", "sirolimus"))), contained)
    assert rec.conditions[0].related == ("Condition/prim", "Condition/other")
    assert [m.concept.label for m in rec.medications] == ["sirolimus", "KEYTRUDA"]


def test_evidence_line_shows_what_value_and_date() -> None:
    fact = record(observation(PID, "o", INTERP, value=cc(("loinc", "LA6576-8", "Positive")), effective="2026-01-02"))
    line = fact.observations[0].evidence()
    assert line == "HER2 [Interpretation] in Tissue — Positive — 2026-01-02"
    coded_only = load_mcode("Observation-gx-genomic-variant-pertinent-negative-nras-kit-braf", PID)
    line = record(coded_only).observations[0].evidence()
    assert line == "Genetic variant assessment — Absent (NRAS, KIT, BRAF) — 2019-04-01"
