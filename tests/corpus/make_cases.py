# ruff: noqa: E501  (case descriptions and source notes are long sentences)
"""Writes the corpus: tests/corpus/cases/<id>.json and tests/corpus/manifest.yaml.

    python tests/corpus/make_cases.py

The JSON files are the source of truth for tests/test_corpus.py; this script only
builds them from the realistic shapes in shapes.py and the codes in codes.py, so
that a change to a shape changes every case that uses it. Each case names the
manifest cells it serves: (Revision-2 point, rule or rule:variant, fires|silent).
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from codes import (
    AA_CHANGE,
    ABSENT,
    AMLODIPINE,
    AVELUMAB,
    AZATHIOPRINE,
    BCC,
    BCC_LIP,
    BRAF_GENE,
    BRAF_IHC,
    BRAF_TEST,
    BREAST,
    BREAST_UOQ,
    C4A_39,
    C7A_012,
    C7A_1,
    C7B_09,
    C7B_1,
    C16_9,
    C34_11,
    C43_5,
    C43_59,
    C44_40,
    C44_41,
    C44_42,
    C44_91,
    C44_320,
    C44_622,
    C50_91,
    C50_411,
    C50_912,
    C77_0,
    C78_01,
    C78_7,
    C79_2,
    C79_51,
    C79_89,
    CEMIPLIMAB,
    CSCC,
    CSCC_CHEEK,
    CSCC_LIP,
    CSCC_SCALP,
    CYCLOSPORINE,
    CYCLOSPORINE_EYE,
    D03_59,
    D05_11,
    DABRAFENIB,
    DELIVERY,
    DNA_CHANGE,
    ENCORAFENIB,
    ER,
    EVEROLIMUS,
    GENE,
    GENETIC_REPORT,
    HCG_SERUM,
    HCG_URINE,
    HER2_COPIES,
    HER2_IHC,
    HER2_INTERP,
    HER2_ISH,
    HER2_PANEL,
    HER2_RATIO,
    HOSPICE_ADMISSION,
    HOSPICE_CARE,
    HOSPICE_REFERRAL,
    HOSPICE_SEEN,
    ICI,
    KANJINTI,
    KIDNEY_TX_PROC,
    KIT_GENE,
    LAPATINIB,
    LIVER_TX_PROC,
    MARGETUXIMAB,
    MEL_TO_SKIN,
    MELANOMA,
    MERKEL,
    MERKEL_NECK,
    MET_BCC,
    MET_MELANOMA,
    MET_SCC,
    MET_SCC_SKIN,
    MYCOPHENOLATE,
    NEGATIVE,
    NERATINIB,
    NET,
    NIVOLUMAB,
    NRAS_GENE,
    ONDANSETRON,
    PALLIATIVE_REFERRAL,
    PALLIATIVE_SEEN,
    PEMBROLIZUMAB,
    PHESGO,
    POSITIVE,
    PR,
    PREGNANT,
    PREGNANT_URINE,
    PRESENT,
    RENAL_TX_HX,
    RX,
    SCLC,
    SCT,
    SEQUENCING,
    SIROLIMUS,
    SIROLIMUS_GEL,
    SKIN_SECONDARY,
    SONIDEGIB,
    SSM,
    T86_01,
    T86_5,
    T86_10,
    T86_11,
    T86_12,
    T86_21,
    T86_31,
    T86_41,
    T86_42,
    T86_810,
    T86_820,
    T86_851,
    T86_8401,
    T_DM1,
    T_DXD,
    TACROLIMUS,
    TACROLIMUS_OINTMENT,
    TRANSPLANT_REFERRAL,
    TRASTUZUMAB,
    TUCATINIB,
    VARIANT,
    VISMODEGIB,
    Z33_1,
    Z85_060,
    Z85_3,
    Z85_820,
    Z85_821,
    Z85_828,
    Z94_0,
    Z94_1,
    Z94_2,
    Z94_3,
    Z94_4,
    Z94_7,
    Z94_81,
    bare,
    hgvs,
    oid,
)
from shapes import (
    Json,
    cc,
    coding,
    collection,
    condition,
    diagnostic_report,
    draft,
    ehr_prefetch,
    encounter,
    episode_of_care,
    full_url,
    med_request,
    med_statement,
    medication,
    observation,
    patient,
    procedure,
    searchset,
    service_request,
)

HERE = Path(__file__).resolve().parent
CASES: list[Json] = []
CELLS: dict[str, dict[str, dict[str, list[str]]]] = {}

# --- sources (details, commits and licences in README.md) ------------------------------------------

S = {
    "uscore-encdx": "US Core 9.0.0 example Condition encounter-diagnosis-example1: SNOMED CT + ICD-10-CM codings, "
    "category encounter-diagnosis (HL7/US-Core@85bf4af input/examples/condition-encounter-diagnosis-example1.json)",
    "uscore-abated": "US Core 9.0.0 example Condition condition-duodenal-ulcer-res: onsetDateTime + abatementDateTime "
    "(HL7/US-Core@85bf4af input/examples/condition-duodenal-ulcer-resolved.json)",
    "uscore-mr-ref": "US Core 9.0.0 example MedicationRequest medicationrequest-referenced-oral-axid: medicationReference "
    "to Medication/uscore-med2 (HL7/US-Core@85bf4af input/examples/medicationrequest-referenced-oral-axid.json)",
    "uscore-mr-contained": "US Core 9.0.0 example MedicationRequest medicationrequest-contained-oral-axid: contained "
    "Medication referenced as #med2 (HL7/US-Core@85bf4af input/examples/medicationrequest-contained-oral-axid.json)",
    "uscore-deceased": "US Core 9.0.0 example Patient deceased-example: deceasedDateTime "
    "(HL7/US-Core@85bf4af input/examples/patient-deceased-example.json)",
    "uscore-patient": "US Core 9.0.0 example Patient example: identifier MR, name, gender, birthDate "
    "(HL7/US-Core@85bf4af input/examples/patient-example.json)",
    "uscore-delivery": "US Core 9.0.0 example Encounter delivery: type SNOMED CT 177184002 Normal delivery procedure "
    "(HL7/US-Core@85bf4af input/examples/encounter-delivery.json)",
    "uscore-sr": "US Core 9.0.0 example ServiceRequest servicerequest-cbc: status, intent order, code, authoredOn, "
    "requester (HL7/US-Core@85bf4af input/examples/servicerequest-cbc.json)",
    "fhir-searchset": "FHIR R4 Bundle example bundle-example: a searchset answering "
    "MedicationRequest?patient=347&_include=MedicationRequest.medication, the Medication entry in search mode include "
    "(https://hl7.org/fhir/R4/bundle-example.json.html)",
    "epic-include": "Epic on FHIR MedicationRequest search (open.epic.com / fhir.epic.com): medicationReference to a "
    "Medication that the client asks for with _include; US Core MedicationRequest profile guidance: a server using "
    "an external Medication reference SHALL support _include (hl7.org/fhir/us/core/StructureDefinition-us-core-medicationrequest.html)",
    "epic-oid": "Epic R4 sandbox Condition searchset (patient 'Ambulatory, Oliver', category encounter-diagnosis): "
    "ICD-10-CM coded under urn:oid:2.16.840.1.113883.6.90 next to SNOMED CT and ICD-9-CM (found in public GitHub "
    "code through the search index; rules.md revision 2 lists the OIDs)",
    "fhir-routes": "FHIR value set SNOMED CT Route Codes (http://hl7.org/fhir/ValueSet/route-codes): 26643006 Oral "
    "route, 6064005 Topical route, 54485002 Ophthalmic route",
    "cerner-condition": "Oracle Health (Cerner) Millennium R4 Condition examples: problem-list-item with a 'Medical' "
    "classification category and userSelected codings, encounter-diagnosis with SNOMED CT + ICD-10-CM, "
    "entered-in-error without clinicalStatus, pregnancy problem 77386006 with abatementDateTime "
    "(cerner/fhir.cerner.com@3d33831 lib/resources/example_json/r4_examples_condition.rb)",
    "cerner-medreq": "Oracle Health (Cerner) Millennium R4 MedicationRequest examples: RxNorm + local synonym codings, "
    "contained Medication coded by text only with an RxNorm-coded ingredient, dosage route with SNOMED CT "
    "(cerner/fhir.cerner.com@3d33831 lib/resources/example_json/r4_examples_medication_request.rb)",
    "mcode-secondary": "mCODE STU4 example Condition secondary-cancer-condition-brain-mets: secondary linked to its "
    "primary with the condition-related extension (HL7/fhir-mCODE-ig@543477b; vendored in fixtures/fhir/mcode)",
    "mcode-variant": "mCODE STU4 GenomeX example gx-genomic-variant-pertinent-negative-nras-kit-braf: variant "
    "assessment 69548-6 with gene components NRAS, KIT, BRAF (HL7/fhir-mCODE-ig@543477b input/fsh/EX_GenomeX.fsh)",
    "mcode-her2": "mCODE STU4 example tumor-marker-test-her2-jenny-m: HER2 interpretation 48676-1 "
    "(HL7/fhir-mCODE-ig@543477b input/fsh/EX_ExtendedExample.fsh)",
    "mcode-staging": "mCODE STU4 TNM staging examples: a stage group Observation referenced from Condition.stage.assessment, "
    "TNM categories as hasMember (HL7/fhir-mCODE-ig@543477b input/fsh/EX_ExtendedExample.fsh)",
    "gr-variant": "HL7 genomics-reporting oncology example: Variant 69548-6 with gene HGNC:1097 under "
    "http://www.genenames.org/geneId, NP_004324.2:p.Val600Glu, report result 'BRAF V600E mutation observed' "
    "(HL7/genomics-reporting@1dbfb09 input/fsh/examples/bundle-oncology-diagnostic.fsh)",
    "gr-chgvs": "HL7 genomics-reporting: coding DNA change (48004-6) as c.HGVS, e.g. c.1799T>A in the "
    "find-subject-specific-variants examples (HL7/genomics-reporting@1dbfb09 input/fsh/examples/CGOpsRequests.fsh)",
    "pdex-formulary": "HL7 Da Vinci PDex formulary example FormularyDrug-284520: RxNorm 284520 tacrolimus 0.001 MG/MG "
    "Topical Ointment [Protopic], 1182458 Protopic Topical Product "
    "(HL7/davinci-pdex-formulary@51ecf41 input/fsh/ExamplesFormularyDrugs.fsh)",
    "vsac-cancer": "VSAC All Primary and Secondary Cancer 2.16.840.1.113762.1.4.1111.161 (version 20200310) as shipped "
    "in cqframework/ecqm-content-qicore-2024@9ebd48f input/vocabulary/valueset/external/: SNOMED CT descendants "
    "(285309005, 285307007, 402819001, 254730000, 133851000119107, 188154003, 254632001) and C34.x",
    "vsac-hospice": "VSAC Hospice Encounter 2.16.840.1.113883.3.464.1003.1003, Hospice Care Ambulatory "
    "2.16.840.1.113762.1.4.1108.15, Hospice Care Referral or Admission 2.16.840.1.113762.1.4.1116.365 "
    "(cqframework/ecqm-content-qicore-2024@9ebd48f input/vocabulary/valueset/external/)",
    "vsac-pregnancy": "VSAC Pregnancy 2.16.840.1.113883.3.526.3.378, Pregnancy Test 2.16.840.1.113883.3.464.1003.111.12.1011, "
    "Delivery Procedures 2.16.840.1.113762.1.4.1045.59 (cqframework/ecqm-content-qicore-2024@9ebd48f)",
    "vsac-palliative": "VSAC Palliative Care Encounter 2.16.840.1.113883.3.464.1003.101.12.1090 (valuesets/procedures.yaml)",
    "icd10cm": "ICD-10-CM April 2026 tabular as shipped in PyPI simple-icd-10-cm 1.5.0 (codes and their categories "
    "checked with is_valid_item / get_ancestors); shared/clinical/icd10cm_valuesets_April2026.json",
    "codes": "shared/clinical/codes_verified.csv (SNOMED CT, RxNorm, LOINC and answer codes)",
    "rules": "shared/clinical/rules.md revision 2 (the result texts it quotes)",
    "fixture": "repository demo patients fixtures/fhir/*.json",
    "labels": "FDA labels named in rules.md (drug and brand names, written by name only where no RxNorm code is verified)",
}

NOW = "2026-03-01T12:00:00Z"


def src(*keys: str) -> list[str]:
    return [S[k] for k in keys]


def add(
    cid: str,
    about: str,
    sources: list[str],
    hook: str,
    resources: list[Json],
    expect: list[str],
    cells: list[tuple[str, str, str]],
    *,
    drafts: Json | None = None,
    selections: list[str] | None = None,
    prefetch: Json | None = None,
    server: bool = False,
    now: str | None = None,
) -> None:
    assert not any(c["id"] == cid for c in CASES), cid
    case: Json = {"id": cid, "about": about, "sources": sources, "hook": hook}
    if now:
        case["now"] = now
    case["bundle"] = collection(*resources)
    if drafts is not None:
        case["draftOrders"] = drafts
    if selections:
        case["selections"] = selections
    if prefetch is not None:
        case["prefetch"] = prefetch
    if server:
        case["fhirServer"] = True
    case["expect"] = sorted(expect)
    CASES.append(case)
    for point, rule, kind in cells:
        assert kind in ("fires", "silent"), (cid, kind)
        CELLS.setdefault(point, {}).setdefault(rule, {"fires": [], "silent": []})[kind].append(cid)


def drafts_of(*resources: Json, urls: dict[str, str] | None = None) -> Json:
    return collection(*resources, urls=urls)


# --- recurring pieces -------------------------------------------------------------------------


def person(pid: str, *, deceased: bool | str | None = None, gender: str = "female", birth: str = "1958-04-12") -> Json:
    family = pid.replace("-", " ").title().replace(" ", "")[:20]
    return patient(pid, family, "Corpus", gender=gender, birth=birth, deceased=deceased)


def tx(pid: str, code: Json = Z94_0, cid: str = "tx-status", **kw: Any) -> Json:
    kw.setdefault("onset", "2012-05-03")
    return condition(pid, cid, code, **kw)


def cscc(pid: str, cid: str = "cscc-scalp", code: Json = CSCC_SCALP, **kw: Any) -> Json:
    kw.setdefault("onset", "2025-11-04")
    return condition(pid, cid, code, **kw)


def cond(pid: str, cid: str, code: Json, onset: str, **kw: Any) -> Json:
    return condition(pid, cid, code, onset=onset, **kw)


def tac_now(pid: str, mid: str = "tacrolimus-current") -> Json:
    return med_request(pid, mid, TACROLIMUS, sig="1 mg by mouth twice daily", route="oral", authored="2024-02-01")


def tac_draft(pid: str, mid: str = "draft-tacrolimus") -> Json:
    return draft(pid, mid, TACROLIMUS, sig="1 mg by mouth twice daily", route="oral")


def hx(*keys: str) -> list[str]:
    return src(*keys)


# ================================================================================================
# T1 — order-select / order-sign: CNI or antimetabolite for an SOT recipient with active cSCC
# ================================================================================================


def t1_cases() -> None:
    pid = "tx-kidney-cscc"

    def base(*extra: Json, transplant: Json | None = None, skin: Json | None = None) -> list[Json]:
        return [
            person(pid),
            transplant or tx(pid),
            skin or cscc(pid, style="cerner"),
            *extra,
        ]

    order = drafts_of(tac_draft(pid))
    kidney_sources = hx("uscore-patient", "cerner-condition", "uscore-mr-ref", "icd10cm", "codes")

    add(
        "t1-kidney-tacrolimus-draft",
        "Kidney transplant (Z94.0) with an active cSCC on the problem list; systemic tacrolimus is drafted. "
        "T1 fires with both suggestions (rules.md T1 row, revision 2).",
        kidney_sources,
        "order-select",
        base(),
        ["T1"],
        [("rule_T1", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-abated-old-cscc-new-cscc-active",
        "An SCC of the arm excised in 2018 is recorded with abatementDateTime and no clinicalStatus (resolved, "
        "revision 2 'Resolved by abatement'); a new cSCC of the scalp is active, so T1 still fires.",
        hx("uscore-abated", "cerner-condition", "icd10cm"),
        "order-select",
        base(
            cond(pid, "cscc-arm-2018", C44_622, "2018-03-01", clinical=None, abatement="2018-04-15"),
        ),
        ["T1"],
        [("abatement", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-cscc-excised-years-ago-abatement-only",
        "The only cSCC was excised in 2019: abatementDateTime set, no clinicalStatus (US Core allows it). By revision 2 "
        "it is resolved, so there is no active cSCC and T1 stays silent.",
        hx("uscore-abated", "icd10cm"),
        "order-select",
        base(skin=cscc(pid, "cscc-scalp-2019", onset="2019-05-02", clinical=None, abatement="2019-06-20")),
        [],
        [("abatement", "T1", "silent"), ("rule_T1", "T1", "silent")],
        drafts=order,
    )
    # code systems
    add(
        "t1-oid-transplant-and-cscc",
        "Transplant status and cSCC are coded with official OIDs (ICD-10-CM urn:oid:2.16.840.1.113883.6.90, SNOMED CT "
        "urn:oid:2.16.840.1.113883.6.96), as Epic-converted records carry them (revision 2 'Code systems by any "
        "official name'): T1 fires.",
        hx("epic-oid", "icd10cm", "codes"),
        "order-select",
        base(transplant=tx(pid, oid(Z94_0)), skin=cscc(pid, code=oid(CSCC))),
        ["T1"],
        [("code_systems", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-oid-rxnorm-sirolimus-current",
        "The patient is already on sirolimus, a current MedicationRequest coded only by RxNorm 35302 under "
        "urn:oid:2.16.840.1.113883.6.88 (no text, no display). Already on an mTOR inhibitor: T1 silent (revision 2 "
        "code systems).",
        hx("epic-oid", "codes"),
        "order-select",
        base(med_request(pid, "sirolimus-current", bare(oid(SIROLIMUS)), authored="2025-12-01")),
        [],
        [("code_systems", "T1", "silent")],
        drafts=order,
    )
    add(
        "t1-oid-corneal-transplant",
        "The only transplant is a cornea (Z94.7, under the ICD-10-CM OID); not a solid organ, so T1 is silent even "
        "though the code system is written as an OID.",
        hx("epic-oid", "icd10cm"),
        "order-select",
        base(transplant=tx(pid, oid(Z94_7))),
        [],
        [("code_systems", "T1", "silent")],
        drafts=order,
    )
    # hierarchies
    add(
        "t1-t86-kidney-rejection-only-snomed-descendant-cscc",
        "An EHR that codes the kidney transplant only as T86.11 (ICD-10-CM excludes Z94 with T86) and the cSCC as the "
        "SNOMED CT descendant 285309005 'SCC of skin of cheek' (VSAC expansion). Both are proof (revision 2 "
        "hierarchies; T86.1x is kidney): T1 fires.",
        hx("icd10cm", "vsac-cancer"),
        "order-select",
        base(transplant=tx(pid, T86_11, onset="2024-07-10"), skin=cscc(pid, "cscc-cheek", CSCC_CHEEK)),
        ["T1"],
        [("hierarchies", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-t86-liver-rejection-only",
        "Transplant recorded only as T86.41 liver transplant rejection: a liver recipient, so T1 fires without the "
        "sirolimus proposal (rules.md transplant revision 2; Rapamune boxed warning).",
        hx("icd10cm", "labels"),
        "order-select",
        base(transplant=tx(pid, T86_41, onset="2023-03-02")),
        ["T1:no_sirolimus"],
        [("hierarchies", "T1:no_sirolimus", "fires"), ("rule_T1", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-t86-skin-graft-rejection-not-sot",
        "T86.820 skin graft rejection is a T86 code but not a solid-organ transplant (rules.md: T86.82x is not SOT): "
        "T1 silent.",
        hx("icd10cm"),
        "order-select",
        base(transplant=tx(pid, T86_820, onset="2024-01-05")),
        [],
        [("hierarchies", "T1", "silent")],
        drafts=order,
    )
    add(
        "t1-kidney-status-with-cscc-descendant-no-liver",
        "Kidney recipient (Z94.0) with a cSCC coded as the SNOMED CT descendant 285307007 (upper lip): T1 with "
        "the sirolimus proposal, not the liver/lung variant.",
        hx("vsac-cancer", "icd10cm"),
        "order-sign",
        base(skin=cscc(pid, "cscc-lip", CSCC_LIP)),
        ["T1"],
        [("hierarchies", "T1:no_sirolimus", "silent")],
        drafts=order,
    )
    # product form
    add(
        "t1-tacrolimus-ointment-is-not-systemic",
        "The draft is Protopic ointment: its coding lists the tacrolimus ingredient (RxNorm 42316) next to the topical "
        "clinical drug (RxNorm 284520) and the route is topical. The product decides (revision 2): T1 silent.",
        hx("pdex-formulary", "fhir-routes", "cerner-medreq", "codes"),
        "order-select",
        base(),
        [],
        [("product_form", "T1", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-protopic", TACROLIMUS_OINTMENT, sig="Apply thin layer twice daily", route="topical")
        ),
    )
    add(
        "t1-cyclosporine-eye-drops-not-systemic",
        "Restasis eye drops coded with the cyclosporine ingredient (RxNorm 3008), ophthalmic route: not systemic "
        "immunosuppression (revision 2 product form): T1 silent.",
        hx("fhir-routes", "codes"),
        "order-sign",
        base(),
        [],
        [("product_form", "T1", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-restasis", CYCLOSPORINE_EYE, sig="1 drop in each eye twice daily", route="ophthalmic")
        ),
    )
    add(
        "t1-tacrolimus-capsule-contained-ingredient-only",
        "Oracle Health shape: the draft's contained Medication has a text-only code 'tacrolimus 1 mg oral capsule' "
        "and an RxNorm-coded ingredient, route oral. A systemic form: T1 fires.",
        hx("cerner-medreq", "uscore-mr-contained", "fhir-routes"),
        "order-select",
        base(),
        ["T1"],
        [("product_form", "T1", "fires"), ("medication_reference", "T1", "fires")],
        drafts=drafts_of(
            draft(
                pid,
                "draft-tac-contained",
                "#med-tac",
                contained=medication(
                    "med-tac",
                    cc(text="tacrolimus 1 mg oral capsule"),
                    form="Capsule",
                    ingredient=cc(coding(RX, "42316", "tacrolimus", selected=False), text="tacrolimus"),
                ),
                sig="1 mg by mouth twice daily",
                route="oral",
            )
        ),
    )
    add(
        "t1-topical-sirolimus-is-not-conversion",
        "The patient uses Hyftor sirolimus topical gel, coded with the sirolimus ingredient (RxNorm 35302). A topical "
        "form is not systemic mTOR inhibition (revision 2 product form): T1 still fires for the tacrolimus draft.",
        hx("fhir-routes", "codes", "labels"),
        "order-select",
        base(
            med_request(
                pid, "hyftor-current", SIROLIMUS_GEL, route="topical", sig="Apply to facial lesions twice daily"
            )
        ),
        ["T1"],
        [("product_form", "T1", "fires")],
        drafts=order,
    )
    # medication references
    urn = "urn:uuid:6c1b1f1e-3b0e-4d5e-9f0a-1a2b3c4d5e01"
    add(
        "t1-draft-medication-by-urn-uuid",
        "The draft MedicationRequest points to a Medication elsewhere in the draftOrders Bundle by the entry's "
        "fullUrl (urn:uuid), as an EHR sends unsaved orders; the Medication is tacrolimus (revision 2 medication "
        "references): T1 fires.",
        hx("fhir-searchset", "uscore-mr-ref", "codes"),
        "order-select",
        base(),
        ["T1"],
        [("medication_reference", "T1", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-tac-ref", urn, display="tacrolimus 1 mg capsule", sig="1 mg twice daily", route="oral"),
            medication("med-tac-draft", TACROLIMUS),
            urls={"med-tac-draft": urn, "draft-tac-ref": "urn:uuid:6c1b1f1e-3b0e-4d5e-9f0a-1a2b3c4d5e00"},
        ),
        selections=["MedicationRequest/draft-tac-ref"],
    )
    siro = med_request(pid, "sirolimus-current", "Medication/erx-sirolimus", display="sirolimus 1 mg tablet")
    siro_med = medication("erx-sirolimus", SIROLIMUS)
    resources = base(siro)
    add(
        "t1-current-sirolimus-included-medication",
        "Epic shape: the current sirolimus MedicationRequest has only medicationReference Medication/erx-sirolimus; "
        "the Medication comes in the same prefetched searchset (_include). Already on sirolimus: T1 silent.",
        hx("epic-include", "fhir-searchset", "uscore-mr-ref"),
        "order-select",
        [*resources, siro_med],
        [],
        [("medication_reference", "T1", "silent")],
        drafts=order,
        prefetch=ehr_prefetch(resources, medicationRequests=searchset([siro], [siro_med])),
    )
    add(
        "t1-current-sirolimus-medication-on-server",
        "The current sirolimus MedicationRequest references Medication/erx-sirolimus, which only the FHIR server "
        "holds (not in prefetch). The service must read it (revision 2 medication references): T1 silent.",
        hx("epic-include", "uscore-mr-ref"),
        "order-sign",
        [*resources, siro_med],
        [],
        [("medication_reference", "T1", "silent")],
        drafts=order,
        server=True,
    )
    # pending orders and the T1 row
    referral = service_request(
        pid, "draft-transplant-referral", TRANSPLANT_REFERRAL, status="draft", reason="cscc-scalp"
    )
    add(
        "t1-order-sign-referral-among-drafts",
        "On order-sign the clinician already drafted the transplant-team referral next to the tacrolimus order. "
        "T1 is silent once the referral is among the draft orders (T1 row; revision 2 pending orders).",
        hx("uscore-sr", "cerner-condition"),
        "order-sign",
        base(),
        [],
        [("pending_orders", "T1", "silent"), ("rule_T1", "T1", "silent")],
        drafts=drafts_of(tac_draft(pid), referral),
    )
    add(
        "t1-order-select-referral-drafted-not-selected",
        "order-select with only the tacrolimus order selected; the transplant-team referral is drafted but not "
        "selected. It is still among the draft orders: T1 silent.",
        hx("uscore-sr"),
        "order-select",
        base(),
        [],
        [("pending_orders", "T1", "silent"), ("rule_T1", "T1", "silent")],
        drafts=drafts_of(tac_draft(pid), referral),
        selections=["MedicationRequest/draft-tacrolimus"],
    )
    add(
        "t1-referral-revoked-on-file",
        "A transplant-team referral from 2024 was revoked; nothing is pending or drafted, so T1 fires on order-sign.",
        hx("uscore-sr"),
        "order-sign",
        base(
            service_request(
                pid, "transplant-referral-2024", TRANSPLANT_REFERRAL, status="revoked", authored="2024-04-01"
            )
        ),
        ["T1"],
        [("pending_orders", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-sirolimus-proposal-among-drafts",
        "The draft orders already hold a sirolimus proposal (MedicationRequest intent proposal, RxNorm 35302) next to "
        "tacrolimus: T1 silent (T1 row, revision 2).",
        hx("codes"),
        "order-select",
        base(),
        [],
        [("rule_T1", "T1", "silent")],
        drafts=drafts_of(tac_draft(pid), draft(pid, "draft-sirolimus-proposal", SIROLIMUS, intent="proposal")),
        selections=["MedicationRequest/draft-tacrolimus"],
    )
    for code, name, label in (
        (Z94_4, "liver-z94-4", "liver transplant status Z94.4"),
        (Z94_2, "lung-z94-2", "lung transplant status Z94.2"),
        (Z94_3, "heart-lung-z94-3", "heart and lungs transplant status Z94.3"),
        (T86_810, "lung-rejection-t86-810", "lung transplant rejection T86.810 only"),
        (T86_31, "heart-lung-rejection-t86-31", "heart-lung transplant rejection T86.31 only"),
    ):
        add(
            f"t1-{name}-no-sirolimus",
            f"Recipient recorded with {label}: liver and lung recipients are never offered the sirolimus proposal "
            "(Rapamune boxed warning); T1 fires as referral only.",
            hx("icd10cm", "labels"),
            "order-select",
            base(transplant=tx(pid, code)),
            ["T1:no_sirolimus"],
            [("rule_T1", "T1", "fires")] + ([("hierarchies", "T1:no_sirolimus", "fires")] if "t86" in name else []),
            drafts=order,
        )
    add(
        "t1-liver-procedure-only-no-sirolimus",
        "No transplant status condition, only the liver transplant Procedure (SNOMED CT 18027006): a liver recipient, "
        "T1 referral only.",
        hx("codes"),
        "order-sign",
        [person(pid), procedure(pid, "liver-transplant", LIVER_TX_PROC, performed="2016-09-14"), cscc(pid)],
        ["T1:no_sirolimus"],
        [("rule_T1", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-kidney-and-liver-no-sirolimus",
        "Simultaneous liver-kidney recipient (Z94.0 and Z94.4): any liver or lung graft rules out the sirolimus "
        "proposal; T1 referral only.",
        hx("icd10cm"),
        "order-select",
        base(tx(pid, Z94_4, cid="tx-liver")),
        ["T1:no_sirolimus"],
        [("rule_T1", "T1", "fires")],
        drafts=order,
    )
    add(
        "t1-heart-recipient-cyclosporine",
        "Heart recipient (Z94.1) with active cSCC; cyclosporine (Neoral) drafted: T1 with both suggestions.",
        hx("icd10cm", "codes"),
        "order-select",
        base(transplant=tx(pid, Z94_1)),
        ["T1"],
        [("rule_T1", "T1", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-cyclosporine", CYCLOSPORINE, sig="100 mg by mouth twice daily", route="oral")
        ),
    )
    add(
        "t1-renal-history-snomed-azathioprine-order-sign",
        "Kidney recipient recorded as SNOMED CT 161665007 'History of renal transplant'; azathioprine on order-sign: T1.",
        hx("codes"),
        "order-sign",
        base(transplant=tx(pid, RENAL_TX_HX)),
        ["T1"],
        [("rule_T1", "T1", "fires")],
        drafts=drafts_of(draft(pid, "draft-azathioprine", AZATHIOPRINE, sig="50 mg by mouth daily", route="oral")),
    )
    add(
        "t1-kidney-procedure-mycophenolate",
        "Kidney transplant Procedure 70536003 only; mycophenolate mofetil drafted: T1.",
        hx("codes"),
        "order-select",
        [person(pid), procedure(pid, "kidney-transplant", KIDNEY_TX_PROC), cscc(pid)],
        ["T1"],
        [("rule_T1", "T1", "fires")],
        drafts=drafts_of(draft(pid, "draft-mmf", MYCOPHENOLATE, sig="1000 mg by mouth twice daily", route="oral")),
    )
    add(
        "t1-on-everolimus-statement",
        "Already on everolimus (MedicationStatement active): T1 silent.",
        hx("codes"),
        "order-select",
        base(med_statement(pid, "everolimus-statement", EVEROLIMUS)),
        [],
        [("rule_T1", "T1", "silent")],
        drafts=order,
    )
    add(
        "t1-cscc-entered-in-error-cerner",
        "Oracle Health shape of an entered-in-error problem: verificationStatus entered-in-error and no "
        "clinicalStatus. The only cSCC does not count: T1 silent.",
        hx("cerner-condition"),
        "order-select",
        base(skin=cscc(pid, clinical=None, verification="entered-in-error", style="cerner")),
        [],
        [("rule_T1", "T1", "silent")],
        drafts=order,
    )


# ================================================================================================
# orders shared by several rules: deceased patients
# ================================================================================================


def order_deceased_cases() -> None:
    pid = "tx-orders"
    for deceased, cid, expect, kind, note in (
        (
            False,
            "orders-living-tacrolimus-pembrolizumab-vismodegib",
            ["S3", "T1", "T3"],
            "fires",
            "deceasedBoolean false",
        ),
        (True, "orders-deceased-boolean-tacrolimus-pembrolizumab-vismodegib", [], "silent", "deceasedBoolean true"),
    ):
        add(
            cid,
            f"Kidney recipient with active cSCC; tacrolimus, pembrolizumab and vismodegib are signed. Patient.{note} "
            "(Epic sends the flag explicitly); revision 2: deceased patients get no cards.",
            hx("uscore-patient", "uscore-deceased", "cerner-condition", "codes", "labels"),
            "order-sign",
            [person(pid, deceased=deceased), tx(pid), cscc(pid), tac_now(pid)],
            expect,
            [("deceased", r, kind) for r in ("T1", "T3", "S3")],
            drafts=drafts_of(
                tac_draft(pid),
                draft(pid, "draft-pembrolizumab", PEMBROLIZUMAB, sig="200 mg IV every 3 weeks"),
                draft(pid, "draft-vismodegib", VISMODEGIB, sig="150 mg by mouth daily", route="oral"),
            ),
        )
    pid = "mel-orders"
    for deceased, cid, expect, kind in (
        (None, "select-dabrafenib-untested-living", ["M1", "M2"], "fires"),
        ("2026-02-26T08:40:00Z", "select-dabrafenib-untested-deceased", [], "silent"),
    ):
        add(
            cid,
            "Metastatic melanoma without a BRAF result; dabrafenib selected. Living: M1 and M2; with "
            "deceasedDateTime (US Core deceased example) no card at all (revision 2).",
            hx("uscore-deceased", "codes"),
            "order-select",
            [person(pid, deceased=deceased, gender="male"), cond(pid, "mel-met", MET_MELANOMA, "2025-10-01")],
            expect,
            [("deceased", "M1", kind), ("deceased", "M2", kind)],
            drafts=drafts_of(
                draft(pid, "draft-dabrafenib", DABRAFENIB, sig="150 mg by mouth twice daily", route="oral")
            ),
        )
    pid = "breast-orders"
    for deceased, cid, expect, kind in (
        (False, "select-trastuzumab-her2-negative-living", ["B3"], "fires"),
        ("2026-02-20", "select-trastuzumab-her2-negative-deceased", [], "silent"),
    ):
        add(
            cid,
            "Breast cancer with HER2 IHC 1+ (negative); trastuzumab selected: B3, unless the patient is deceased.",
            hx("uscore-deceased", "codes"),
            "order-select",
            [
                person(pid, deceased=deceased),
                cond(pid, "breast", C50_912, "2023-02-01"),
                observation(pid, "her2-ihc", HER2_IHC, value=cc(text="1+"), effective="2023-02-10"),
            ],
            expect,
            [("deceased", "B3", kind)],
            drafts=drafts_of(draft(pid, "draft-trastuzumab", TRASTUZUMAB, sig="8 mg/kg IV loading dose")),
        )


# ================================================================================================
# T2 — patient-view: SOT + metastatic or multiple cSCC + current CNI/antimetabolite
# ================================================================================================


def t2_cases() -> None:
    pid = "tx-cscc-met"

    def base(*extra: Json, deceased: bool | str | None = None, meds: list[Json] | None = None) -> list[Json]:
        return [
            person(pid, deceased=deceased, gender="male", birth="1961-09-30"),
            tx(pid),
            cscc(pid, onset="2025-08-01"),
            *extra,
            *(meds if meds is not None else [tac_now(pid), med_request(pid, "mmf-current", MYCOPHENOLATE)]),
        ]

    nodes = cond(pid, "nodes-neck", C77_0, "2026-01-10")
    for deceased, cid, expect, kind in (
        (False, "pv-transplant-metastatic-cscc-living", ["P1", "T2"], "fires"),
        ("2026-02-28", "pv-transplant-metastatic-cscc-deceased", [], "silent"),
    ):
        add(
            cid,
            "Kidney recipient with cSCC and cervical nodal metastases, on tacrolimus and mycophenolate. Living: T2 and "
            "P1; deceased (deceasedDateTime): no cards (revision 2).",
            hx("uscore-deceased", "cerner-condition", "icd10cm", "codes"),
            "patient-view",
            base(nodes, deceased=deceased),
            expect,
            [("deceased", "T2", kind), ("deceased", "P1", kind)]
            + ([("rule_T2", "T2", "fires")] if kind == "fires" else []),
        )
    add(
        "t2-two-active-cscc-and-one-abated",
        "Two active cSCCs at different sites (scalp, right arm) plus an old face SCC with abatementDateTime only: "
        "multiple active cSCC, T2 fires (the abated one does not count, revision 2).",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        base(
            cond(pid, "cscc-arm", C44_622, "2025-12-02", body_site={"text": "Right upper arm"}),
            cond(pid, "cscc-face-2017", C44_320, "2017-01-10", clinical=None, abatement="2017-02-20"),
        ),
        ["T2"],
        [("abatement", "T2", "fires")],
    )
    add(
        "t2-one-active-cscc-one-abated",
        "One active cSCC and an arm SCC with abatementDateTime and no clinicalStatus (resolved by revision 2): "
        "a single active cSCC, not metastatic: T2 silent.",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        base(cond(pid, "cscc-arm-2020", C44_622, "2020-03-01", clinical=None, abatement="2020-04-01")),
        [],
        [("abatement", "T2", "silent")],
    )
    oid_base = [
        person(pid, gender="male", birth="1961-09-30"),
        tx(pid, oid(Z94_0)),
        cscc(pid, code=oid(CSCC)),
        cond(pid, "met-scc", oid(MET_SCC), "2026-01-10"),
        med_request(pid, "tacrolimus-current", bare(oid(TACROLIMUS)), authored="2024-02-01"),
    ]
    add(
        "t2-oid-transplant-metastatic-scc-tacrolimus",
        "Everything under official OIDs: Z94.0 (ICD-10-CM OID), cSCC and metastatic SCC (SNOMED CT OID), tacrolimus "
        "coded only by RxNorm 42316 under the RxNorm OID. Revision 2 code systems: T2 and P1 fire.",
        hx("epic-oid", "codes"),
        "patient-view",
        oid_base,
        ["P1", "T2"],
        [("code_systems", "T2", "fires"), ("code_systems", "P1", "fires")],
    )
    add(
        "t2-oid-sirolimus-current",
        "As above, but the patient is also on sirolimus coded only by RxNorm under its OID: already on an mTOR "
        "inhibitor, T2 silent; P1 still fires.",
        hx("epic-oid", "codes"),
        "patient-view",
        [*oid_base, med_request(pid, "sirolimus-current", bare(oid(SIROLIMUS)), authored="2025-12-01")],
        ["P1"],
        [("code_systems", "T2", "silent")],
    )
    add(
        "t2-two-cscc-snomed-descendants",
        "Two cSCCs coded as SNOMED CT descendants from the VSAC expansion (cheek 285309005, upper lip 285307007), "
        "onsets eight months apart: multiple cSCC, T2 fires (revision 2 hierarchies).",
        hx("vsac-cancer"),
        "patient-view",
        [
            person(pid, gender="male", birth="1961-09-30"),
            tx(pid),
            cond(pid, "cscc-cheek", CSCC_CHEEK, "2025-03-12", body_site={"text": "Left cheek"}),
            cond(pid, "cscc-lip", CSCC_LIP, "2025-11-20", body_site={"text": "Upper lip"}),
            tac_now(pid),
        ],
        ["T2"],
        [("hierarchies", "T2", "fires")],
    )
    add(
        "t2-cscc-and-unspecified-skin-malignancy",
        "A cSCC (C44.42) and an 'unspecified malignant neoplasm of skin of scalp and neck' (C44.40, same category "
        "C44.4, not SCC): one cSCC only, T2 silent (category siblings are not descendants).",
        hx("icd10cm"),
        "patient-view",
        [
            person(pid, gender="male", birth="1961-09-30"),
            tx(pid),
            cond(pid, "cscc-neck", C44_42, "2025-08-01"),
            cond(pid, "skin-malignancy-scalp", C44_40, "2025-12-01"),
            tac_now(pid),
        ],
        [],
        [("hierarchies", "T2", "silent")],
    )
    add(
        "t2-nodes-linked-to-cscc-lung-cancer-too",
        "cSCC and a lung adenocarcinoma (C34.11) are both active; the nodal metastasis carries the condition-related "
        "extension to the cSCC (mCODE shape). Attributed to the cSCC: T2 and P1 (revision 2 attribution).",
        hx("mcode-secondary", "vsac-cancer", "icd10cm"),
        "patient-view",
        base(
            cond(pid, "lung-cancer", C34_11, "2025-10-01"),
            cond(pid, "nodes-neck", C77_0, "2026-01-10", related="cscc-scalp"),
        ),
        ["P1", "T2"],
        [("metastasis_attribution", "T2", "fires")],
    )
    add(
        "t2-bone-mets-unlinked-two-primaries",
        "One cSCC and an active lung cancer; bone metastases (C79.51) are not linked to either. Two candidate "
        "primaries: no primary-specific card (T2 silent, a single cSCC); P1 concerns the patient and fires.",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        base(cond(pid, "lung-cancer", C34_11, "2025-10-01"), cond(pid, "bone-mets", C79_51, "2026-01-15")),
        ["P1"],
        [("metastasis_attribution", "T2", "silent")],
    )
    single = [person(pid, gender="male", birth="1961-09-30"), tx(pid), tac_now(pid)]
    add(
        "t2-one-cscc-problem-list-and-encounter-diagnosis",
        "One cSCC recorded twice: on the problem list in SNOMED CT (no body site) and as an Oracle Health encounter "
        "diagnosis in ICD-10-CM C44.42, onsets 8 days apart. One tumour (revision 2): not multiple, T2 silent.",
        hx("uscore-encdx", "cerner-condition", "icd10cm"),
        "patient-view",
        [
            *single,
            cond(pid, "cscc-problem", CSCC, "2025-11-04"),
            cond(
                pid,
                "cscc-encounter-dx",
                C44_42,
                "2025-11-12",
                category="encounter-diagnosis",
                encounter="derm-visit",
                style="cerner",
            ),
        ],
        [],
        [("tumour_dedup", "T2", "silent"), ("rule_T2", "T2", "silent")],
    )
    site = {"text": "Scalp"}
    add(
        "t2-same-code-site-onset-twice",
        "The same cSCC (SNOMED CT + ICD-10-CM) on the problem list and as encounter diagnosis, same body site and "
        "onset (T2 row): one tumour, T2 silent.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [
            *single,
            cscc(pid, "cscc-problem", body_site=site),
            cscc(pid, "cscc-encounter-dx", body_site=site, category="encounter-diagnosis", encounter="derm-visit"),
        ],
        [],
        [("tumour_dedup", "T2", "silent"), ("rule_T2", "T2", "silent")],
    )
    add(
        "t2-same-code-onsets-months-apart",
        "Two C44.42 conditions without body site whose onsets are eight months apart: beyond 30 days they are two "
        "tumours, so the patient has multiple cSCC: T2 fires.",
        hx("icd10cm", "cerner-condition"),
        "patient-view",
        [
            *single,
            cond(pid, "cscc-2025-03", C44_42, "2025-03-01"),
            cond(pid, "cscc-2025-11", C44_42, "2025-11-20", category="encounter-diagnosis", encounter="derm-visit"),
        ],
        ["T2"],
        [("tumour_dedup", "T2", "fires"), ("rule_T2", "T2", "fires")],
    )
    add(
        "t2-two-cscc-different-sites",
        "Two cSCCs at different body sites (scalp C44.42, right arm C44.622) within a month: two tumours, T2 fires.",
        hx("icd10cm"),
        "patient-view",
        [
            *single,
            cond(pid, "cscc-neck", C44_42, "2025-11-01", body_site={"text": "Neck"}),
            cond(pid, "cscc-arm", C44_622, "2025-11-20", body_site={"text": "Right upper arm"}),
        ],
        ["T2"],
        [("tumour_dedup", "T2", "fires"), ("rule_T2", "T2", "fires")],
    )
    add(
        "t2-only-topical-tacrolimus-and-eye-drops",
        "Metastatic cSCC in a kidney recipient whose only 'immunosuppressants' are Protopic ointment (coded with the "
        "tacrolimus ingredient) and Restasis eye drops (cyclosporine ingredient). Revision 2 product form: T2 "
        "silent; P1 fires.",
        hx("pdex-formulary", "fhir-routes", "codes"),
        "patient-view",
        base(
            nodes,
            meds=[
                med_request(pid, "protopic", TACROLIMUS_OINTMENT, route="topical", sig="Apply twice daily"),
                med_request(pid, "restasis", CYCLOSPORINE_EYE, route="ophthalmic", sig="1 drop both eyes twice daily"),
            ],
        ),
        ["P1"],
        [("product_form", "T2", "silent")],
    )
    add(
        "t2-oral-tacrolimus-and-topical-sirolimus",
        "On oral tacrolimus and on Hyftor sirolimus gel (sirolimus ingredient code, topical route): the gel is not "
        "systemic mTOR inhibition, T2 and P1 fire.",
        hx("fhir-routes", "codes", "labels"),
        "patient-view",
        base(nodes, meds=[tac_now(pid), med_request(pid, "hyftor", SIROLIMUS_GEL, route="topical")]),
        ["P1", "T2"],
        [("product_form", "T2", "fires")],
    )
    tac_ref = med_request(pid, "tacrolimus-current", "Medication/erx-tacrolimus", display="tacrolimus 1 mg capsule")
    tac_med = medication("erx-tacrolimus", TACROLIMUS)
    ref_base = base(nodes, meds=[tac_ref])
    add(
        "t2-tacrolimus-included-medication",
        "Epic shape: the current tacrolimus order carries only medicationReference Medication/erx-tacrolimus and the "
        "Medication is _include'd in the medicationRequests searchset: T2 and P1 fire.",
        hx("epic-include", "fhir-searchset", "uscore-mr-ref"),
        "patient-view",
        [*ref_base, tac_med],
        ["P1", "T2"],
        [("medication_reference", "T2", "fires")],
        prefetch=ehr_prefetch(ref_base, medicationRequests=searchset([tac_ref], [tac_med])),
    )
    abs_ref = med_request(pid, "tacrolimus-current", full_url(tac_med), display="tacrolimus 1 mg capsule")
    abs_base = base(nodes, meds=[abs_ref])
    add(
        "t2-tacrolimus-reference-by-fullurl",
        "The medicationReference is the absolute URL that is the included Medication entry's fullUrl: resolved "
        "through the Bundle (revision 2): T2 and P1 fire.",
        hx("fhir-searchset"),
        "patient-view",
        [*abs_base, tac_med],
        ["P1", "T2"],
        [("medication_reference", "T2", "fires")],
        prefetch=ehr_prefetch(abs_base, medicationRequests=searchset([abs_ref], [tac_med])),
    )
    add(
        "t2-tacrolimus-medication-on-server",
        "The referenced Medication is only on the FHIR server (prefetch has the MedicationRequest alone): the service "
        "reads it, T2 and P1 fire.",
        hx("epic-include", "uscore-mr-ref"),
        "patient-view",
        [*ref_base, tac_med],
        ["P1", "T2"],
        [("medication_reference", "T2", "fires")],
        server=True,
    )
    siro_ref = med_request(pid, "sirolimus-current", "Medication/erx-sirolimus", display="sirolimus 1 mg tablet")
    siro_med = medication("erx-sirolimus", SIROLIMUS)
    both_base = base(nodes, meds=[tac_now(pid), siro_ref])
    add(
        "t2-sirolimus-included-medication",
        "Tacrolimus coded directly, and sirolimus through an _include'd Medication: on an mTOR inhibitor, T2 "
        "silent; P1 fires.",
        hx("epic-include", "fhir-searchset"),
        "patient-view",
        [*both_base, siro_med],
        ["P1"],
        [("medication_reference", "T2", "silent")],
        prefetch=ehr_prefetch(both_base, medicationRequests=searchset([tac_now(pid), siro_ref], [siro_med])),
    )
    add(
        "t2-cyclosporine-metastatic",
        "Metastatic cSCC on cyclosporine (Neoral): T2 and P1.",
        hx("codes"),
        "patient-view",
        base(nodes, meds=[med_request(pid, "cyclosporine-current", CYCLOSPORINE)]),
        ["P1", "T2"],
        [("rule_T2", "T2", "fires")],
    )
    add(
        "t2-liver-recipient-metastatic",
        "Liver recipient (Z94.4) with metastatic cSCC on tacrolimus: T2 and P1 (T2 suggests the referral only).",
        hx("icd10cm"),
        "patient-view",
        [person(pid, gender="male"), tx(pid, Z94_4), cscc(pid), nodes, tac_now(pid)],
        ["P1", "T2"],
        [("rule_T2", "T2", "fires")],
    )
    add(
        "t2-on-everolimus",
        "Metastatic cSCC, tacrolimus tapering and everolimus started: already on an mTOR inhibitor, T2 silent; P1.",
        hx("codes"),
        "patient-view",
        base(nodes, meds=[tac_now(pid), med_request(pid, "everolimus-current", EVEROLIMUS)]),
        ["P1"],
        [("rule_T2", "T2", "silent")],
    )
    add(
        "t2-tacrolimus-stopped-mmf-completed",
        "Hygiene: tacrolimus stopped and mycophenolate completed: no current CNI/antimetabolite, T2 silent; P1.",
        hx("fixture"),
        "patient-view",
        base(
            nodes,
            meds=[
                med_request(pid, "tacrolimus-stopped", TACROLIMUS, status="stopped"),
                med_request(pid, "mmf-completed", MYCOPHENOLATE, status="completed"),
            ],
        ),
        ["P1"],
        [("rule_T2", "T2", "silent")],
    )


# ================================================================================================
# T3 — order hooks: immune checkpoint inhibitor for an SOT recipient
# ================================================================================================


def t3_cases() -> None:
    pid = "tx-ici"

    def base(*conditions: Json) -> list[Json]:
        return [
            person(pid, gender="male", birth="1955-01-20"),
            *conditions,
            cond(pid, "mcc-cheek", C4A_39, "2025-09-01"),
        ]

    pembro = drafts_of(draft(pid, "draft-pembrolizumab", PEMBROLIZUMAB, sig="200 mg IV every 3 weeks"))
    for key, concept in ICI.items():
        add(
            f"t3-{key}-kidney-recipient",
            f"Kidney recipient (Z94.0); {concept['text']} is ordered by name. Revision 2 T3 covers the whole class "
            "current to 2025 labels (subcutaneous co-formulations count as their antibody): T3 critical.",
            hx("labels", "icd10cm"),
            "order-select",
            base(tx(pid)),
            ["T3"],
            [("rule_T3", "T3", "fires")],
            drafts=drafts_of(draft(pid, f"draft-{key}", concept)),
        )
    add(
        "t3-transplant-refuted",
        "The only transplant status is verificationStatus refuted: T3 silent.",
        hx("cerner-condition"),
        "order-select",
        base(tx(pid, verification="refuted")),
        [],
        [("rule_T3", "T3", "silent")],
        drafts=pembro,
    )
    add(
        "t3-transplant-entered-in-error-cerner",
        "Oracle Health entered-in-error shape (no clinicalStatus): T3 silent.",
        hx("cerner-condition"),
        "order-sign",
        base(tx(pid, clinical=None, verification="entered-in-error", style="cerner")),
        [],
        [("rule_T3", "T3", "silent")],
        drafts=pembro,
    )
    add(
        "t3-corneal-rejection-t86-8401",
        "Only a corneal transplant rejection (T86.8401, T86.84x is not SOT): T3 silent for pembrolizumab.",
        hx("icd10cm"),
        "order-select",
        base(tx(pid, T86_8401, onset="2024-02-02")),
        [],
        [("rule_T3", "T3", "silent"), ("hierarchies", "T3", "silent")],
        drafts=pembro,
    )
    add(
        "t3-oid-kidney-status-pembrolizumab",
        "Z94.0 written under urn:oid:2.16.840.1.113883.6.90 (revision 2 code systems): T3 fires.",
        hx("epic-oid", "icd10cm"),
        "order-select",
        base(tx(pid, oid(Z94_0))),
        ["T3"],
        [("code_systems", "T3", "fires")],
        drafts=pembro,
    )
    add(
        "t3-oid-marrow-status",
        "Bone marrow transplant status Z94.81 under the ICD-10-CM OID: not a solid organ, T3 silent.",
        hx("epic-oid", "icd10cm"),
        "order-select",
        base(tx(pid, oid(Z94_81))),
        [],
        [("code_systems", "T3", "silent")],
        drafts=pembro,
    )
    for code, name, fires in (
        (T86_12, "t86-12-kidney-failure", True),
        (T86_10, "t86-10-kidney-unspecified", True),
        (T86_42, "t86-42-liver-failure", True),
        (T86_21, "t86-21-heart-rejection", True),
        (T86_851, "t86-851-intestine-failure", True),
        (T86_01, "t86-01-marrow-rejection", False),
        (T86_5, "t86-5-stem-cell", False),
    ):
        add(
            f"t3-{name}-nivolumab",
            f"Transplant recorded only as {code['coding'][0]['code']} ({code['coding'][0]['display']}); ICD-10-CM "
            "excludes Z94 with T86, so this is the only proof. "
            + (
                "A solid organ: T3 fires."
                if fires
                else "Not a solid organ (T86.0x marrow, T86.5 stem cells): T3 silent."
            ),
            hx("icd10cm"),
            "order-select",
            base(tx(pid, code, onset="2024-06-01")),
            ["T3"] if fires else [],
            [("hierarchies", "T3", "fires" if fires else "silent")]
            + ([("rule_T3", "T3", "fires" if fires else "silent")] if name.startswith(("t86-12", "t86-01")) else []),
            drafts=drafts_of(draft(pid, "draft-nivolumab", NIVOLUMAB, sig="480 mg IV every 4 weeks")),
        )
    add(
        "t3-transplant-status-abated",
        "Z94.0 with abatementDateTime (graft removed in 2020) and no clinicalStatus: resolved by revision 2, no SOT "
        "on record, T3 silent.",
        hx("uscore-abated", "icd10cm"),
        "order-select",
        base(tx(pid, clinical=None, abatement="2020-08-30")),
        [],
        [("abatement", "T3", "silent")],
        drafts=pembro,
    )
    add(
        "t3-status-active-rejection-episode-abated",
        "Z94.0 active; a 2023 rejection episode T86.11 carries abatementDateTime only. The status still proves the "
        "transplant: T3 fires.",
        hx("uscore-abated", "icd10cm"),
        "order-select",
        base(tx(pid), cond(pid, "rejection-2023", T86_11, "2023-01-10", clinical=None, abatement="2023-03-01")),
        ["T3"],
        [("abatement", "T3", "fires")],
        drafts=pembro,
    )
    urn = "urn:uuid:0d4e1c2b-8f7a-4b6c-9d3e-2f1a0b9c8d01"
    add(
        "t3-draft-keytruda-by-urn-uuid",
        "The draft references its Medication (pembrolizumab) by the draftOrders entry's fullUrl (urn:uuid): T3 fires.",
        hx("fhir-searchset", "uscore-mr-ref"),
        "order-select",
        base(tx(pid)),
        ["T3"],
        [("medication_reference", "T3", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-keytruda-ref", urn),
            medication("med-keytruda", PEMBROLIZUMAB),
            urls={"med-keytruda": urn},
        ),
        selections=["MedicationRequest/draft-keytruda-ref"],
    )
    add(
        "t3-draft-reference-resolves-to-ondansetron",
        "The draft references, by urn:uuid, a Medication that is ondansetron: no checkpoint inhibitor, T3 silent.",
        hx("fhir-searchset"),
        "order-select",
        base(tx(pid)),
        [],
        [("medication_reference", "T3", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-antiemetic-ref", urn),
            medication("med-ondansetron", ONDANSETRON),
            urls={"med-ondansetron": urn},
        ),
        selections=["MedicationRequest/draft-antiemetic-ref"],
    )
    resources = base(tx(pid))
    other = tx("someone-else", cid="tx-status-other")
    add(
        "t3-transplant-of-another-patient",
        "Hygiene: the EHR's prefetch wrongly carries another patient's kidney transplant status; this patient has "
        "none: T3 silent.",
        hx("cerner-condition"),
        "order-select",
        [*base(), other],
        [],
        [("rule_T3", "T3", "silent")],
        drafts=pembro,
        prefetch=ehr_prefetch(resources, conditions=searchset([other, resources[-1]])),
    )


# ================================================================================================
# S1, S2 — patient-view: metastatic cSCC / BCC
# ================================================================================================


def lung_cancer(pid: str, cid: str = "lung-cancer", **kw: Any) -> Json:
    return cond(pid, cid, C34_11, kw.pop("onset", "2025-09-20"), **kw)


def s1_cases() -> None:
    pid = "cscc-met"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, gender="male", birth="1949-02-14")

    neck = cond(pid, "cscc-neck", C44_42, "2025-06-10")
    nodes = cond(pid, "nodes-neck", C77_0, "2026-01-05")
    amlodipine = med_request(pid, "amlodipine", AMLODIPINE)
    for deceased, cid, expect, kind in (
        (False, "pv-metastatic-cscc-living", ["P1", "S1"], "fires"),
        ("2026-02-27", "pv-metastatic-cscc-deceased", [], "silent"),
    ):
        add(
            cid,
            "cSCC of the neck (C44.42) with cervical nodal metastases (C77.0), the only primary. Living: S1 and P1; "
            "deceased (deceasedDateTime): no cards (revision 2).",
            hx("uscore-deceased", "uscore-encdx", "icd10cm", "fixture"),
            "patient-view",
            [who(deceased), neck, nodes, amlodipine],
            expect,
            [("deceased", "S1", kind), ("deceased", "P1", kind)]
            + (
                [("rule_S1", "S1", "fires"), ("rule_P1", "P1", "fires"), ("hierarchies", "S2", "silent")]
                if kind == "fires"
                else []
            ),
        )
    add(
        "s1-old-lung-cancer-abated-cscc-nodes",
        "A lung cancer treated in 2020 is recorded with abatementDateTime only (resolved, revision 2), so the cSCC is "
        "the only active primary and the unlinked nodes are its metastases: S1 and P1.",
        hx("uscore-abated", "vsac-cancer", "icd10cm"),
        "patient-view",
        [who(), neck, nodes, lung_cancer(pid, onset="2019-04-01", clinical=None, abatement="2020-02-01")],
        ["P1", "S1"],
        [("abatement", "S1", "fires")],
    )
    add(
        "s1-metastatic-scc-abated",
        "Active cSCC; the metastatic SCC condition (403906006) has abatementDateTime and no clinicalStatus: no active "
        "metastasis, S1 and P1 silent.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [who(), neck, cond(pid, "met-scc-2022", MET_SCC, "2022-02-01", clinical=None, abatement="2022-09-01")],
        [],
        [("abatement", "S1", "silent")],
    )
    add(
        "s1-oid-cscc-and-nodes",
        "cSCC (SNOMED CT OID) and nodal metastases (ICD-10-CM OID): revision 2 code systems, S1 and P1.",
        hx("epic-oid", "codes"),
        "patient-view",
        [who(), cond(pid, "cscc-neck", oid(CSCC), "2025-06-10"), cond(pid, "nodes-neck", oid(C77_0), "2026-01-05")],
        ["P1", "S1"],
        [("code_systems", "S1", "fires"), ("code_systems", "P1", "fires")],
    )
    add(
        "s1-oid-heart-transplant",
        "Metastatic cSCC in a heart recipient whose Z94.1 is written under the ICD-10-CM OID: SOT, so S1 silent; P1.",
        hx("epic-oid", "icd10cm"),
        "patient-view",
        [who(), neck, nodes, tx(pid, oid(Z94_1))],
        ["P1"],
        [("code_systems", "S1", "silent")],
    )
    add(
        "s1-snomed-descendant-cheek-with-nodes",
        "cSCC coded as SNOMED CT 285309005 'SCC of skin of cheek' (a descendant in the VSAC expansion) with nodal "
        "metastases: S1 and P1 (revision 2 hierarchies).",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "cscc-cheek", CSCC_CHEEK, "2025-06-10"), nodes],
        ["P1", "S1"],
        [("hierarchies", "S1", "fires"), ("hierarchies", "P1", "fires")],
    )
    add(
        "s1-bcc-scalp-sibling-is-not-scc",
        "BCC of the scalp C44.41 (sibling of C44.42 under C44.4) with nodal metastases: metastatic BCC, so S2 and P1, "
        "not S1.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "bcc-scalp", C44_41, "2025-06-10"), nodes],
        ["P1", "S2"],
        [("hierarchies", "S1", "silent"), ("hierarchies", "S2", "fires")],
    )
    add(
        "s1-combined-code-metastatic-scc-to-skin",
        "cSCC plus a combined code 'Metastatic squamous cell carcinoma to skin' (78461000119105): the code names its "
        "primary, S1 and P1 even with a lung cancer on the list (revision 2 attribution).",
        hx("codes", "vsac-cancer"),
        "patient-view",
        [who(), neck, lung_cancer(pid), cond(pid, "met-scc-skin", MET_SCC_SKIN, "2026-01-12")],
        ["P1", "S1"],
        [("metastasis_attribution", "S1", "fires"), ("rule_S1", "S1", "fires")],
    )
    add(
        "s1-nodes-linked-to-cscc-lung-cancer-too",
        "cSCC and lung cancer both active; the nodes carry condition-related to the cSCC: S1 and P1.",
        hx("mcode-secondary", "vsac-cancer"),
        "patient-view",
        [who(), neck, lung_cancer(pid), cond(pid, "nodes-neck", C77_0, "2026-01-05", related="cscc-neck")],
        ["P1", "S1"],
        [("metastasis_attribution", "S1", "fires")],
    )
    add(
        "s1-old-cscc-lung-cancer-bone-mets",
        "The review's case: a cSCC from 2019 still on the problem list, an active lung cancer, and bone metastases "
        "linked to neither. Two candidate primaries: S1 must not fire; P1 (about the patient) fires.",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [
            who(),
            cond(pid, "cscc-neck", C44_42, "2019-03-01"),
            lung_cancer(pid),
            cond(pid, "bone-mets", C79_51, "2026-01-20"),
        ],
        ["P1"],
        [
            ("metastasis_attribution", "S1", "silent"),
            ("metastasis_attribution", "P1", "fires"),
            ("rule_S1", "S1", "silent"),
        ],
    )
    report = diagnostic_report(
        pid, "path-bone-biopsy", cc(text="Surgical pathology report"), results=[], effective="2026-01-22"
    )
    add(
        "s1-bone-mets-share-evidence-with-lung-cancer",
        "Bone metastases and the lung cancer both cite the same pathology report in evidence.detail (a shared "
        "evidence link, revision 2): the metastases are the lung cancer's; S1 and P1 silent.",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [
            who(),
            cond(pid, "cscc-neck", C44_42, "2019-03-01"),
            lung_cancer(pid, evidence=["DiagnosticReport/path-bone-biopsy"]),
            cond(pid, "bone-mets", C79_51, "2026-01-20", evidence=["DiagnosticReport/path-bone-biopsy"]),
            report,
        ],
        [],
        [("metastasis_attribution", "P1", "silent"), ("rule_S1", "S1", "silent")],
    )
    twice = [
        cond(pid, "cscc-problem", CSCC, "2025-06-10"),
        cond(
            pid,
            "cscc-encounter-dx",
            C44_42,
            "2025-06-18",
            category="encounter-diagnosis",
            encounter="derm-visit",
            style="cerner",
        ),
    ]
    add(
        "s1-cscc-recorded-twice-with-nodes",
        "One cSCC recorded twice (problem list SNOMED CT, encounter diagnosis ICD-10-CM, 8 days apart) with nodal "
        "metastases: one tumour, the only primary (revision 2): S1 and P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, nodes],
        ["P1", "S1"],
        [("tumour_dedup", "S1", "fires")],
    )
    add(
        "s1-cscc-twice-plus-lung-cancer-bone-mets",
        "The same duplicated cSCC plus a lung cancer and unlinked bone metastases: two different cancers remain "
        "candidates, S1 silent; P1 fires.",
        hx("uscore-encdx", "cerner-condition", "vsac-cancer"),
        "patient-view",
        [who(), *twice, lung_cancer(pid), cond(pid, "bone-mets", C79_51, "2026-01-20")],
        ["P1"],
        [("tumour_dedup", "S1", "silent")],
    )
    libtayo_ref = med_request(pid, "cemiplimab-current", "Medication/erx-libtayo", authored="2026-01-20")
    libtayo_med = medication("erx-libtayo", CEMIPLIMAB)
    res = [who(), neck, nodes, libtayo_ref]
    add(
        "s1-on-cemiplimab-included-medication",
        "On cemiplimab through an Epic-style medicationReference with the Medication _include'd: S1 silent; P1.",
        hx("epic-include", "fhir-searchset", "labels"),
        "patient-view",
        [*res, libtayo_med],
        ["P1"],
        [("medication_reference", "S1", "silent")],
        prefetch=ehr_prefetch(res, medicationRequests=searchset([libtayo_ref], [libtayo_med])),
    )
    cosi_ref = med_request(pid, "cosibelimab-current", "Medication/erx-unloxcyt", authored="2026-01-20")
    add(
        "s1-on-cosibelimab-medication-on-server",
        "On cosibelimab (Unloxcyt, anti-PD-L1) whose Medication is only on the FHIR server: S1 silent; P1.",
        hx("uscore-mr-ref", "labels"),
        "patient-view",
        [who(), neck, nodes, cosi_ref, medication("erx-unloxcyt", ICI["cosibelimab"])],
        ["P1"],
        [("medication_reference", "S1", "silent"), ("rule_S1", "S1", "silent")],
        server=True,
    )
    aml_ref = med_request(pid, "amlodipine", "Medication/erx-amlodipine")
    aml_med = medication("erx-amlodipine", AMLODIPINE)
    res = [who(), neck, nodes, aml_ref]
    add(
        "s1-current-medication-by-reference-not-pd1",
        "The only current medication, referenced through an _include'd Medication, is amlodipine: S1 and P1.",
        hx("epic-include", "fhir-searchset"),
        "patient-view",
        [*res, aml_med],
        ["P1", "S1"],
        [("medication_reference", "S1", "fires")],
        prefetch=ehr_prefetch(res, medicationRequests=searchset([aml_ref], [aml_med])),
    )
    add(
        "s1-previously-cemiplimab-completed",
        "Cemiplimab completed in 2025 (MedicationRequest completed): previously treated with a PD-1 inhibitor, so "
        "first-line advice does not apply (S1 row): S1 silent; P1.",
        hx("labels"),
        "patient-view",
        [
            who(),
            neck,
            nodes,
            med_request(pid, "cemiplimab-2025", CEMIPLIMAB, status="completed", authored="2025-01-10"),
        ],
        ["P1"],
        [("rule_S1", "S1", "silent")],
    )
    add(
        "s1-previously-cosibelimab-statement",
        "A MedicationStatement 'completed' for Unloxcyt (cosibelimab, anti-PD-L1): previously treated, S1 silent; P1.",
        hx("labels"),
        "patient-view",
        [who(), neck, nodes, med_statement(pid, "cosibelimab-2025", ICI["cosibelimab"], status="completed")],
        ["P1"],
        [("rule_S1", "S1", "silent")],
    )
    add(
        "s1-nodes-of-another-patient",
        "Hygiene: the EHR's condition prefetch carries another patient's nodal metastasis; this patient's cSCC is not "
        "metastatic: S1 and P1 silent.",
        hx("cerner-condition"),
        "patient-view",
        [who(), neck, cond("someone-else", "nodes-other", C77_0, "2026-01-05")],
        [],
        [("rule_S1", "S1", "silent")],
        prefetch=ehr_prefetch(
            [who(), neck], conditions=searchset([neck, cond("someone-else", "nodes-other", C77_0, "2026-01-05")])
        ),
    )
    add(
        "p1-history-z85-828-with-nodes",
        "Personal history of 'other malignant neoplasm of skin' (Z85.828) and new nodal metastases, the only "
        "candidate: recurrent metastatic skin cancer (revision 2 history), so P1 fires. Z85.828 does not say SCC or "
        "BCC, so neither S1 nor S2 fires.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "hx-skin-cancer", Z85_828, "2021-05-01"), nodes],
        ["P1"],
        [("history_recurrence", "P1", "fires")],
    )


def s2_cases() -> None:
    pid = "bcc-met"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, gender="male", birth="1944-08-08")

    bcc = cond(pid, "bcc-back", BCC, "2021-03-01")
    lung = cond(pid, "lung-mets", C78_01, "2025-12-10")
    for deceased, cid, expect, kind in (
        (False, "pv-metastatic-bcc-living", ["P1", "S2"], "fires"),
        (True, "pv-metastatic-bcc-deceased", [], "silent"),
    ):
        add(
            cid,
            "BCC of the back with lung metastases, never on a hedgehog inhibitor. Living: S2 and P1; "
            "deceasedBoolean true: no cards (revision 2).",
            hx("uscore-patient", "codes", "icd10cm"),
            "patient-view",
            [who(deceased), bcc, lung],
            expect,
            [("deceased", "S2", kind)]
            + ([("rule_S2", "S2", "fires"), ("medication_reference", "S2", "fires")] if kind == "fires" else []),
        )
    add(
        "s2-lung-mets-active-old-bone-mets-abated",
        "BCC with active lung metastases; an older bone metastasis carries abatementDateTime only. S2 and P1.",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        [who(), bcc, lung, cond(pid, "bone-mets-2023", C79_51, "2023-01-10", clinical=None, abatement="2023-11-01")],
        ["P1", "S2"],
        [("abatement", "S2", "fires")],
    )
    add(
        "s2-metastatic-bcc-abated",
        "BCC active; the metastatic BCC condition (402537005) has abatementDateTime and no clinicalStatus: not "
        "metastatic, S2 and P1 silent.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [who(), bcc, cond(pid, "met-bcc-2022", MET_BCC, "2022-01-01", clinical=None, abatement="2022-12-01")],
        [],
        [("abatement", "S2", "silent")],
    )
    add(
        "s2-oid-metastatic-bcc",
        "Metastatic BCC (402537005) under the SNOMED CT OID: S2 and P1 (revision 2 code systems).",
        hx("epic-oid", "codes"),
        "patient-view",
        [who(), cond(pid, "met-bcc", oid(MET_BCC), "2025-12-10")],
        ["P1", "S2"],
        [("code_systems", "S2", "fires")],
    )
    add(
        "s2-oid-lung-cancer-second-primary",
        "BCC, and a lung cancer written under the ICD-10-CM OID, with unlinked lung metastases: two candidate "
        "primaries, S2 silent; P1 fires.",
        hx("epic-oid", "vsac-cancer"),
        "patient-view",
        [who(), bcc, cond(pid, "lung-cancer", oid(C34_11), "2025-09-20"), lung],
        ["P1"],
        [("code_systems", "S2", "silent")],
    )
    add(
        "s2-bcc-lip-descendant-with-nodes",
        "BCC coded as SNOMED CT 402819001 'BCC of skin of lip' (VSAC descendant) with nodal metastases: S2 and P1.",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "bcc-lip", BCC_LIP, "2023-05-01"), cond(pid, "nodes-neck", C77_0, "2026-01-02")],
        ["P1", "S2"],
        [("hierarchies", "S2", "fires")],
    )
    add(
        "s2-lung-mets-linked-to-bcc-lung-cancer-too",
        "BCC and a lung cancer; the lung metastases are linked to the BCC (condition-related): S2 and P1.",
        hx("mcode-secondary", "vsac-cancer"),
        "patient-view",
        [who(), bcc, lung_cancer(pid), cond(pid, "lung-mets", C78_01, "2025-12-10", related="bcc-back")],
        ["P1", "S2"],
        [("metastasis_attribution", "S2", "fires")],
    )
    add(
        "s2-lung-mets-unlinked-bcc-and-melanoma",
        "BCC and an active melanoma (C43.59), lung metastases linked to neither: S2 and M1 silent (two candidates); "
        "P1 fires.",
        hx("icd10cm"),
        "patient-view",
        [who(), bcc, cond(pid, "melanoma-back", C43_59, "2025-07-01"), lung],
        ["P1"],
        [("metastasis_attribution", "S2", "silent"), ("metastasis_attribution", "M1", "silent")],
    )
    twice = [
        cond(pid, "bcc-problem", BCC, "2021-03-01"),
        cond(
            pid,
            "bcc-encounter-dx",
            C44_91,
            "2021-03-09",
            category="encounter-diagnosis",
            encounter="derm-visit",
            style="cerner",
        ),
    ]
    add(
        "s2-bcc-recorded-twice-with-lung-mets",
        "One BCC recorded twice (problem list SNOMED CT, encounter diagnosis C44.91) with lung metastases: one "
        "primary, S2 and P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, lung],
        ["P1", "S2"],
        [("tumour_dedup", "S2", "fires")],
    )
    add(
        "s2-bcc-twice-plus-breast-cancer-lung-mets",
        "The duplicated BCC plus an active breast cancer and unlinked lung metastases: two cancers, S2 silent; P1.",
        hx("uscore-encdx", "cerner-condition", "icd10cm"),
        "patient-view",
        [who(), *twice, cond(pid, "breast", C50_912, "2024-10-01"), lung],
        ["P1"],
        [("tumour_dedup", "S2", "silent")],
    )
    add(
        "s2-on-sonidegib-contained",
        "On sonidegib through a contained Medication (US Core contained shape): S2 silent; P1.",
        hx("uscore-mr-contained", "labels"),
        "patient-view",
        [who(), bcc, lung, med_request(pid, "sonidegib", "#med-odomzo", contained=medication("med-odomzo", SONIDEGIB))],
        ["P1"],
        [("medication_reference", "S2", "silent")],
    )
    vis_ref = med_request(pid, "vismodegib", "Medication/erx-erivedge", authored="2025-12-20")
    vis_med = medication("erx-erivedge", VISMODEGIB)
    res = [who(), bcc, lung, vis_ref]
    add(
        "s2-on-vismodegib-included-medication",
        "On vismodegib through an _include'd Medication: S2 silent; P1.",
        hx("epic-include", "fhir-searchset", "labels"),
        "patient-view",
        [*res, vis_med],
        ["P1"],
        [("medication_reference", "S2", "silent")],
        prefetch=ehr_prefetch(res, medicationRequests=searchset([vis_ref], [vis_med])),
    )
    add(
        "s2-vismodegib-stopped-years-ago",
        "Vismodegib stopped in 2022 (the demo patient's shape): previously treated with a hedgehog inhibitor, so "
        "progression is second-line (S2 row, revision 2): S2 silent; P1.",
        hx("fixture", "labels"),
        "patient-view",
        [
            who(),
            bcc,
            cond(pid, "met-bcc", MET_BCC, "2025-12-10"),
            med_request(pid, "vismodegib-stopped", VISMODEGIB, status="stopped", authored="2021-06-01"),
        ],
        ["P1"],
        [("rule_S2", "S2", "silent")],
    )
    add(
        "s2-sonidegib-statement-completed",
        "A completed MedicationStatement for Odomzo (sonidegib): previously treated, S2 silent; P1.",
        hx("labels"),
        "patient-view",
        [who(), bcc, lung, med_statement(pid, "sonidegib-2023", SONIDEGIB, status="completed", effective="2023-02-01")],
        ["P1"],
        [("rule_S2", "S2", "silent")],
    )
    add(
        "s2-bcc-resolved",
        "Hygiene: BCC and lung metastases both clinicalStatus resolved: S2 and P1 silent.",
        hx("uscore-abated"),
        "patient-view",
        [
            who(),
            cond(pid, "bcc-back", BCC, "2021-03-01", clinical="resolved"),
            cond(pid, "lung-mets", C78_01, "2023-12-10", clinical="resolved"),
        ],
        [],
        [("rule_S2", "S2", "silent")],
    )


# ================================================================================================
# S3 — order hooks: vismodegib or sonidegib; critical with an active pregnancy
# ================================================================================================


def s3_cases() -> None:
    pid = "bcc-young"
    who = person(pid, birth="1991-07-02")
    disease = [cond(pid, "bcc-scalp", C44_41, "2024-01-15"), cond(pid, "lung-mets", C78_01, "2025-11-30")]
    vismo = drafts_of(draft(pid, "draft-vismodegib", VISMODEGIB, sig="150 mg by mouth daily", route="oral"))

    def hcg(oid_: str, value: Json, when: str, code: Json = HCG_URINE) -> Json:
        return observation(pid, oid_, code, value=value, effective=when)

    preg = condition(pid, "pregnancy", PREGNANT, onset="2026-01-05", style="cerner")
    add(
        "s3-vismodegib-no-pregnancy-data",
        "Metastatic BCC in a 34-year-old woman; vismodegib ordered, nothing recorded about pregnancy: S3 warning.",
        hx("labels", "icd10cm"),
        "order-select",
        [who, *disease],
        ["S3"],
        [("rule_S3", "S3", "fires")],
        drafts=vismo,
    )
    add(
        "s3-pregnancy-condition-active-cerner",
        "An active pregnancy problem in the Oracle Health shape (SNOMED CT 77386006, userSelected, 'Medical' "
        "category): S3 critical (rules.md S3 row, revision 2).",
        hx("cerner-condition", "vsac-pregnancy"),
        "order-select",
        [who, *disease, preg],
        ["S3:pregnant"],
        [("rule_S3", "S3", "fires"), ("rule_S3", "S3:pregnant", "fires"), ("abatement", "S3:pregnant", "fires")],
        drafts=vismo,
    )
    add(
        "s3-pregnancy-condition-abated-no-status",
        "The same pregnancy problem with abatementDateTime (delivered) and no clinicalStatus: resolved by revision 2, "
        "no active pregnancy: S3 warning, not critical.",
        hx("cerner-condition", "uscore-abated"),
        "order-select",
        [
            who,
            *disease,
            condition(
                pid, "pregnancy", PREGNANT, onset="2025-03-01", clinical=None, abatement="2025-11-20", style="cerner"
            ),
        ],
        ["S3"],
        [("abatement", "S3:pregnant", "silent")],
        drafts=vismo,
    )
    add(
        "s3-pregnancy-condition-resolved-cerner",
        "The Oracle Health example's pregnancy problem: clinicalStatus resolved with abatementDateTime: S3 warning.",
        hx("cerner-condition"),
        "order-sign",
        [
            who,
            *disease,
            condition(
                pid,
                "pregnancy",
                PREGNANT,
                onset="2019-06-12",
                clinical="resolved",
                abatement="2020-04-04T17:00:00.000Z",
                style="cerner",
            ),
        ],
        ["S3"],
        [("rule_S3", "S3:pregnant", "silent")],
        drafts=vismo,
    )
    add(
        "s3-positive-urine-hcg-10-weeks-ago",
        "A final positive urine pregnancy test (LOINC 2106-3, VSAC Pregnancy Test) 10 weeks ago, nothing later: "
        "within 42 weeks, S3 critical.",
        hx("vsac-pregnancy", "codes"),
        "order-select",
        [who, *disease, hcg("hcg-urine", POSITIVE, "2025-12-20")],
        ["S3:pregnant"],
        [("rule_S3", "S3:pregnant", "fires")],
        drafts=vismo,
    )
    add(
        "s3-positive-hcg-older-than-42-weeks",
        "A positive serum hCG (2118-8) 48 weeks ago and nothing since: outside the 42-week window, S3 warning.",
        hx("vsac-pregnancy", "codes"),
        "order-select",
        [who, *disease, hcg("hcg-serum", POSITIVE, "2025-03-29", HCG_SERUM)],
        ["S3"],
        [("rule_S3", "S3:pregnant", "silent")],
        drafts=vismo,
    )
    add(
        "s3-positive-then-negative-hcg",
        "A positive urine hCG in December, then a negative one in February: the later negative test ends it, S3 warning.",
        hx("vsac-pregnancy", "codes"),
        "order-select",
        [who, *disease, hcg("hcg-dec", POSITIVE, "2025-12-01"), hcg("hcg-feb", NEGATIVE, "2026-02-10")],
        ["S3"],
        [("rule_S3", "S3:pregnant", "silent")],
        drafts=vismo,
    )
    add(
        "s3-positive-hcg-then-delivery",
        "A positive hCG in June 2025 and a delivery procedure (SNOMED CT 177184002, US Core delivery example) in "
        "January 2026: no active pregnancy, S3 warning.",
        hx("vsac-pregnancy", "uscore-delivery"),
        "order-sign",
        [
            who,
            *disease,
            hcg("hcg-jun", POSITIVE, "2025-06-10"),
            procedure(pid, "delivery", DELIVERY, performed="2026-01-15"),
        ],
        ["S3"],
        [("rule_S3", "S3:pregnant", "silent")],
        drafts=vismo,
    )
    add(
        "s3-sonidegib-order-sign-z33-1",
        "Pregnancy recorded as ICD-10-CM Z33.1 'Pregnant state, incidental' (VSAC Pregnancy); sonidegib signed: "
        "S3 critical.",
        hx("vsac-pregnancy", "icd10cm"),
        "order-sign",
        [who, *disease, cond(pid, "pregnant-state", Z33_1, "2026-01-20", category="encounter-diagnosis")],
        ["S3:pregnant"],
        [("rule_S3", "S3:pregnant", "fires"), ("hierarchies", "S3:pregnant", "fires")],
        drafts=drafts_of(draft(pid, "draft-sonidegib", SONIDEGIB, sig="200 mg by mouth daily", route="oral")),
    )
    add(
        "s3-pregnant-urine-test-confirms-snomed",
        "Pregnancy recorded as SNOMED CT 169560008 'Pregnant - urine test confirms', a concept of the VSAC Pregnancy "
        "expansion (revision 2 hierarchies): S3 critical.",
        hx("vsac-pregnancy"),
        "order-select",
        [who, *disease, cond(pid, "pregnancy", PREGNANT_URINE, "2026-01-12")],
        ["S3:pregnant"],
        [("hierarchies", "S3:pregnant", "fires")],
        drafts=vismo,
    )
    add(
        "s3-pregnancy-refuted",
        "A pregnancy problem whose verificationStatus is refuted: no documented pregnancy, S3 warning.",
        hx("cerner-condition"),
        "order-select",
        [who, *disease, condition(pid, "pregnancy", PREGNANT_URINE, onset="2026-01-12", verification="refuted")],
        ["S3"],
        [("hierarchies", "S3:pregnant", "silent")],
        drafts=vismo,
    )
    add(
        "s3-oid-pregnancy-condition",
        "The pregnancy problem under the SNOMED CT OID: S3 critical (revision 2 code systems).",
        hx("epic-oid", "cerner-condition"),
        "order-select",
        [who, *disease, condition(pid, "pregnancy", oid(PREGNANT), onset="2026-01-05")],
        ["S3:pregnant"],
        [("code_systems", "S3:pregnant", "fires")],
        drafts=vismo,
    )
    pos = observation(pid, "hcg-dec", oid(HCG_URINE), value=POSITIVE, effective="2025-12-01")
    neg = observation(pid, "hcg-feb", oid(HCG_URINE), value=NEGATIVE, effective="2026-02-10")
    res = [who, *disease, pos, neg]
    add(
        "s3-oid-negative-hcg-after-positive",
        "Positive then negative urine hCG, both coded under the LOINC OID (urn:oid:2.16.840.1.113883.6.1): the later "
        "negative ends it, S3 warning.",
        hx("epic-oid", "vsac-pregnancy"),
        "order-select",
        res,
        ["S3"],
        [("code_systems", "S3:pregnant", "silent")],
        drafts=vismo,
        prefetch=ehr_prefetch(res),
    )
    urn = "urn:uuid:3f0c5a55-1d2e-4a1b-8b7c-6d5e4f3a2b01"
    add(
        "s3-draft-vismodegib-by-urn-uuid",
        "The draft's medicationReference is the draftOrders entry's fullUrl (urn:uuid) of an Erivedge Medication: S3.",
        hx("fhir-searchset", "labels"),
        "order-select",
        [who, *disease],
        ["S3"],
        [("medication_reference", "S3", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-hhi-ref", urn), medication("med-erivedge", VISMODEGIB), urls={"med-erivedge": urn}
        ),
        selections=["MedicationRequest/draft-hhi-ref"],
    )
    add(
        "s3-draft-reference-resolves-to-ondansetron",
        "The draft references, by urn:uuid, an ondansetron Medication: no hedgehog inhibitor, S3 silent.",
        hx("fhir-searchset"),
        "order-select",
        [who, *disease],
        [],
        [("medication_reference", "S3", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-antiemetic-ref", urn),
            medication("med-ondansetron", ONDANSETRON),
            urls={"med-ondansetron": urn},
        ),
        selections=["MedicationRequest/draft-antiemetic-ref"],
    )
    add(
        "s3-vismodegib-draft-cancelled",
        "Hygiene: the vismodegib draft is cancelled before signing: S3 silent.",
        hx("labels"),
        "order-sign",
        [who, *disease],
        [],
        [("rule_S3", "S3", "silent")],
        drafts=drafts_of(draft(pid, "draft-vismodegib", VISMODEGIB, status="cancelled")),
    )
    add(
        "s3-vismodegib-drafted-not-selected",
        "order-select where vismodegib is drafted but only an antiemetic is selected: S3 silent.",
        hx("labels"),
        "order-select",
        [who, *disease],
        [],
        [("rule_S3", "S3", "silent")],
        drafts=drafts_of(draft(pid, "draft-vismodegib", VISMODEGIB), draft(pid, "draft-ondansetron", ONDANSETRON)),
        selections=["MedicationRequest/draft-ondansetron"],
    )


# ================================================================================================
# M1, M2, M3 — melanoma and BRAF
# ================================================================================================


def braf_variant(
    pid: str,
    oid_: str,
    *,
    change: str | None = None,
    dna: str | None = None,
    value: Json = PRESENT,
    genes: tuple[Json, ...] = (BRAF_GENE,),
    code: Json = VARIANT,
    effective: str = "2025-11-20",
    status: str = "final",
) -> Json:
    """A genomics-reporting / mCODE variant Observation (69548-6) with gene, c.HGVS and p.HGVS components."""
    components: list[tuple[Json, Any]] = [(GENE, g) for g in genes]
    if dna:
        components.append((DNA_CHANGE, hgvs(dna)))
    if change:
        components.append((AA_CHANGE, hgvs(change)))
    return observation(
        pid,
        oid_,
        code,
        value=value,
        effective=effective,
        components=tuple(components),
        method=SEQUENCING,
        status=status,
    )


def braf_text(pid: str, oid_: str, text: str, effective: str = "2025-11-20") -> Json:
    """A narrative BRAF result: 53844-7 with valueString, as many lab interfaces send it."""
    return observation(pid, oid_, BRAF_TEST, value=text, effective=effective)


def melanoma_cases() -> None:
    pid = "mel-met"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, gender="male", birth="1967-12-03")

    met = cond(pid, "mel-met", MET_MELANOMA, "2025-10-01")
    trunk = cond(pid, "mel-trunk", C43_59, "2025-07-01")
    lung = cond(pid, "lung-mets", C78_01, "2025-10-01")
    liver = cond(pid, "liver-mets", C78_7, "2025-10-15")
    v600e = braf_variant(pid, "braf-v600e", change="NP_004324.2:p.Val600Glu")
    dab = drafts_of(draft(pid, "draft-dabrafenib", DABRAFENIB, sig="150 mg by mouth twice daily", route="oral"))

    for deceased, cid, expect, kind in (
        (False, "pv-metastatic-melanoma-untested-living", ["M1", "P1"], "fires"),
        ("2026-02-25", "pv-metastatic-melanoma-untested-deceased", [], "silent"),
    ):
        add(
            cid,
            "Metastatic melanoma (443493003) without a BRAF result or order. Living: M1 and P1; deceased: no cards.",
            hx("uscore-deceased", "codes"),
            "patient-view",
            [who(deceased), met],
            expect,
            [("deceased", "M1", kind), ("deceased", "P1", kind)],
        )
    for deceased, cid, expect, kind in (
        (False, "pv-melanoma-v600e-living", ["M3", "P1"], "fires"),
        (True, "pv-melanoma-v600e-deceased", [], "silent"),
    ):
        add(
            cid,
            "Melanoma of the trunk with liver metastases and the genomics-reporting BRAF V600E variant "
            "(NP_004324.2:p.Val600Glu, gene under http://www.genenames.org/geneId). Living: M3 and P1; "
            "deceasedBoolean true: no cards.",
            hx("gr-variant", "uscore-patient", "icd10cm"),
            "patient-view",
            [who(deceased), trunk, liver, v600e],
            expect,
            [("deceased", "M3", kind)] + ([("medication_reference", "M3", "fires")] if kind == "fires" else []),
        )
    # abatement
    old = cond(pid, "mel-trunk-2019", C43_59, "2019-02-01", clinical=None, abatement="2019-03-10")
    add(
        "m1-old-melanoma-abated-new-metastatic",
        "A trunk melanoma excised in 2019 (abatementDateTime only, resolved by revision 2) and a new active "
        "metastatic melanoma: M1 and P1.",
        hx("uscore-abated", "codes", "icd10cm"),
        "patient-view",
        [who(), old, met],
        ["M1", "P1"],
        [("abatement", "M1", "fires"), ("abatement", "P1", "fires")],
    )
    add(
        "m1-metastatic-melanoma-abated-only",
        "The only melanoma condition, metastatic melanoma, has abatementDateTime and no clinicalStatus: resolved, "
        "M1 and P1 silent.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [who(), cond(pid, "mel-met", MET_MELANOMA, "2021-10-01", clinical=None, abatement="2023-05-01")],
        [],
        [("abatement", "M1", "silent"), ("abatement", "P1", "silent")],
    )
    add(
        "m2-melanoma-abated-dabrafenib",
        "Dabrafenib signed for a patient whose only melanoma is abated (no clinicalStatus): untested and no melanoma "
        "recorded, M2 no_condition variant.",
        hx("uscore-abated", "icd10cm"),
        "order-sign",
        [who(), old],
        ["M2:no_condition"],
        [("abatement", "M2:no_condition", "fires")],
        drafts=dab,
    )
    add(
        "m2-old-abated-new-metastatic-dabrafenib",
        "Dabrafenib signed; old melanoma abated, new metastatic melanoma active, untested: M2 default warning.",
        hx("uscore-abated", "codes"),
        "order-sign",
        [who(), old, met],
        ["M2"],
        [("abatement", "M2:no_condition", "silent")],
        drafts=dab,
    )
    add(
        "m3-old-abated-new-metastatic-v600e",
        "Old melanoma abated, new metastatic melanoma active, BRAF V600E: M3 and P1.",
        hx("uscore-abated", "gr-variant"),
        "patient-view",
        [who(), old, met, v600e],
        ["M3", "P1"],
        [("abatement", "M3", "fires")],
    )
    add(
        "m3-melanoma-abated-v600e",
        "Only an abated melanoma (no clinicalStatus) plus a BRAF V600E result: no active melanoma, nothing fires.",
        hx("uscore-abated", "gr-variant"),
        "patient-view",
        [who(), old, v600e],
        [],
        [("abatement", "M3", "silent")],
    )
    # code systems
    add(
        "m1-oid-metastatic-melanoma",
        "Metastatic melanoma under the SNOMED CT OID, untested: M1 and P1 (revision 2 code systems).",
        hx("epic-oid", "codes"),
        "patient-view",
        [who(), cond(pid, "mel-met", oid(MET_MELANOMA), "2025-10-01")],
        ["M1", "P1"],
        [("code_systems", "M1", "fires")],
    )
    ihc = observation(pid, "braf-ihc", oid(BRAF_IHC), value=POSITIVE, effective="2025-11-02")
    res = [who(), cond(pid, "mel-met", oid(MET_MELANOMA), "2025-10-01"), ihc]
    add(
        "m3-oid-braf-ihc-positive",
        "BRAF V600E IHC (85299-6) coded under the LOINC OID, positive: a BRAF V600 result, M1 silent, M3 and P1 fire.",
        hx("epic-oid", "codes"),
        "patient-view",
        res,
        ["M3", "P1"],
        [("code_systems", "M1", "silent"), ("code_systems", "M3", "fires")],
        prefetch=ehr_prefetch(res),
    )
    wt = braf_variant(pid, "braf-wt", code=oid(VARIANT), value=ABSENT, genes=(NRAS_GENE, KIT_GENE, BRAF_GENE))
    res = [who(), met, wt]
    add(
        "m3-oid-variant-wild-type",
        "The mCODE pertinent-negative variant (NRAS, KIT, BRAF absent) with its code under the LOINC OID: BRAF "
        "wild-type, M3 silent and M1 silent (a result exists); P1.",
        hx("mcode-variant", "epic-oid"),
        "patient-view",
        res,
        ["P1"],
        [("code_systems", "M3", "silent")],
        prefetch=ehr_prefetch(res),
    )
    add(
        "m2-oid-variant-wild-type-dabrafenib",
        "Dabrafenib signed with the same OID-coded wild-type result: M2 critical (wild_type).",
        hx("mcode-variant", "epic-oid"),
        "order-sign",
        res,
        ["M2:wild_type"],
        [("code_systems", "M2", "fires")],
        drafts=dab,
        prefetch=ehr_prefetch(res),
    )
    v600e_oid = braf_variant(pid, "braf-v600e", code=oid(VARIANT), change="NP_004324.2:p.Val600Glu")
    res = [who(), met, v600e_oid]
    add(
        "m2-oid-variant-v600e-dabrafenib",
        "Dabrafenib signed; the V600E variant Observation's code is under the LOINC OID: V600E documented, M2 silent.",
        hx("gr-variant", "epic-oid"),
        "order-sign",
        res,
        [],
        [("code_systems", "M2", "silent")],
        drafts=dab,
        prefetch=ehr_prefetch(res),
    )
    # hierarchies
    add(
        "m1-superficial-spreading-descendant-lung-mets",
        "Melanoma coded as SNOMED CT 254730000 'Superficial spreading malignant melanoma of skin' (VSAC descendant) "
        "with lung metastases, untested: M1 and P1 (revision 2 hierarchies).",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "mel-ssm", SSM, "2025-06-01"), lung],
        ["M1", "P1"],
        [("hierarchies", "M1", "fires"), ("hierarchies", "P1", "fires")],
    )
    add(
        "m1-icd-category-c43-5-with-lung-mets",
        "Melanoma sent with the ICD-10-CM category code C43.5 (melanoma of trunk, not a leaf) and lung metastases: "
        "a category means its descendants, so it is a melanoma: M1 and P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "mel-trunk", C43_5, "2025-06-01"), lung],
        ["M1", "P1"],
        [("hierarchies", "M1", "fires")],
    )
    add(
        "m1-melanoma-in-situ-is-not-melanoma",
        "Melanoma in situ (D03.59) and a lung secondary: D03 is not under C43 (malignant melanoma), so no "
        "metastatic melanoma: M1 and P1 silent.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "mis-trunk", D03_59, "2025-06-01"), lung],
        [],
        [("hierarchies", "M1", "silent"), ("hierarchies", "P1", "silent")],
    )
    add(
        "m3-ssm-lung-mets-v600e",
        "Superficial spreading melanoma (VSAC descendant) with lung metastases and BRAF V600E: M3 and P1.",
        hx("vsac-cancer", "gr-variant"),
        "patient-view",
        [who(), cond(pid, "mel-ssm", SSM, "2025-06-01"), lung, v600e],
        ["M3", "P1"],
        [("hierarchies", "M3", "fires")],
    )
    add(
        "m3-melanoma-in-situ-lung-mets-v600e",
        "Melanoma in situ (D03.59), a lung secondary and BRAF V600E: no metastatic melanoma, nothing fires.",
        hx("icd10cm", "gr-variant"),
        "patient-view",
        [who(), cond(pid, "mis-trunk", D03_59, "2025-06-01"), lung, v600e],
        [],
        [("hierarchies", "M3", "silent")],
    )
    add(
        "m2-melanoma-in-situ-dabrafenib",
        "Dabrafenib signed for a patient with melanoma in situ only, untested: no melanoma recorded, M2 no_condition.",
        hx("icd10cm"),
        "order-sign",
        [who(), cond(pid, "mis-trunk", D03_59, "2025-06-01")],
        ["M2:no_condition"],
        [("hierarchies", "M2:no_condition", "fires")],
        drafts=dab,
    )
    add(
        "m2-ssm-dabrafenib",
        "Dabrafenib signed for superficial spreading melanoma (SNOMED CT descendant), untested: M2 default.",
        hx("vsac-cancer"),
        "order-sign",
        [who(), cond(pid, "mel-ssm", SSM, "2025-06-01")],
        ["M2"],
        [("hierarchies", "M2:no_condition", "silent")],
        drafts=dab,
    )
    # history
    z85 = cond(pid, "hx-melanoma", Z85_820, "2018-04-01")
    add(
        "m1-history-z85-820-new-lung-mets",
        "Personal history of melanoma (Z85.820) and new lung metastases, the only candidate primary: active "
        "metastatic melanoma (revision 2 history), untested: M1 and P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), z85, lung],
        ["M1", "P1"],
        [("history_recurrence", "M1", "fires"), ("history_recurrence", "P1", "fires")],
    )
    add(
        "m1-history-z85-820-lung-mets-and-lung-cancer",
        "Z85.820 and lung metastases, but also an active lung cancer: two candidate primaries (history codes count), "
        "M1 silent; P1 fires.",
        hx("icd10cm", "vsac-cancer"),
        "patient-view",
        [who(), z85, lung_cancer(pid), lung],
        ["P1"],
        [("history_recurrence", "M1", "silent")],
    )
    add(
        "m1-history-z85-820-alone",
        "Z85.820 alone, no secondary: history, not active disease: nothing fires.",
        hx("icd10cm"),
        "patient-view",
        [who(), z85],
        [],
        [("history_recurrence", "P1", "silent")],
    )
    add(
        "m3-history-z85-820-liver-mets-v600e",
        "Z85.820, new liver metastases and BRAF V600E: metastatic melanoma with V600E, M3 and P1.",
        hx("icd10cm", "gr-variant"),
        "patient-view",
        [who(), z85, liver, v600e],
        ["M3", "P1"],
        [("history_recurrence", "M3", "fires")],
    )
    add(
        "m3-history-z85-820-alone-v600e",
        "Z85.820 with an old BRAF V600E result and no secondary: not metastatic, nothing fires.",
        hx("icd10cm", "gr-variant"),
        "patient-view",
        [who(), z85, v600e],
        [],
        [("history_recurrence", "M3", "silent")],
    )
    add(
        "m2-no-melanoma-dabrafenib",
        "Dabrafenib signed for a patient with no melanoma on record and no BRAF result: M2 no_condition.",
        hx("codes"),
        "order-sign",
        [who()],
        ["M2:no_condition"],
        [("history_recurrence", "M2:no_condition", "fires")],
        drafts=dab,
    )
    add(
        "m2-history-z85-820-lung-mets-dabrafenib",
        "Dabrafenib selected; Z85.820 plus new lung metastases is metastatic melanoma (revision 2), untested: M1 and "
        "M2 default (not no_condition).",
        hx("icd10cm"),
        "order-select",
        [who(), z85, lung],
        ["M1", "M2"],
        [("history_recurrence", "M2:no_condition", "silent")],
        drafts=dab,
    )
    # attribution
    stage = observation(
        pid,
        "stage-melanoma",
        cc(coding("http://loinc.org", "21908-9", "Stage group.clinical Cancer")),
        value=cc(coding("http://snomed.info/sct", "258228008", "Stage 4 (qualifier value)")),
        effective="2025-10-20",
        category="survey",
    )
    breast = cond(pid, "breast", C50_912, "2024-05-01")
    add(
        "m1-liver-mets-share-stage-with-melanoma-breast-too",
        "Melanoma and breast cancer both active; the liver metastases and the melanoma reference the same stage "
        "assessment (mCODE staging shape): a shared stage link attributes them to the melanoma. M1 and P1.",
        hx("mcode-staging", "codes", "icd10cm"),
        "patient-view",
        [
            who(),
            cond(pid, "mel-trunk", C43_59, "2025-07-01", stage="stage-melanoma"),
            breast,
            cond(pid, "liver-mets", C78_7, "2025-10-15", stage="stage-melanoma"),
            stage,
        ],
        ["M1", "P1"],
        [("metastasis_attribution", "M1", "fires")],
    )
    add(
        "m1-liver-mets-unlinked-melanoma-and-breast",
        "Melanoma and breast cancer, liver metastases linked to neither: no primary-specific card (M1 silent); P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), trunk, breast, liver],
        ["P1"],
        [("metastasis_attribution", "M1", "silent")],
    )
    report = diagnostic_report(
        pid, "path-liver-biopsy", cc(text="Surgical pathology report"), results=[], effective="2025-10-16"
    )
    add(
        "m3-liver-mets-share-evidence-with-melanoma-v600e",
        "Melanoma and breast cancer; the liver metastases and the melanoma cite the same pathology report as "
        "evidence (shared evidence link): attributed to the melanoma; with BRAF V600E, M3 and P1.",
        hx("gr-variant", "icd10cm"),
        "patient-view",
        [
            who(),
            cond(pid, "mel-trunk", C43_59, "2025-07-01", evidence=["DiagnosticReport/path-liver-biopsy"]),
            breast,
            cond(pid, "liver-mets", C78_7, "2025-10-15", evidence=["DiagnosticReport/path-liver-biopsy"]),
            report,
            v600e,
        ],
        ["M3", "P1"],
        [("metastasis_attribution", "M3", "fires")],
    )
    add(
        "m3-liver-mets-unlinked-melanoma-breast-v600e",
        "As above without the link: two candidate primaries, M3 silent; P1.",
        hx("gr-variant", "icd10cm"),
        "patient-view",
        [who(), trunk, breast, liver, v600e],
        ["P1"],
        [("metastasis_attribution", "M3", "silent")],
    )
    add(
        "p1-melanoma-to-skin-combined-code",
        "A combined code 'Metastatic malignant melanoma to skin' (1197324006) next to a breast cancer: the code names "
        "its primary, untested: M1 and P1.",
        hx("codes", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "mel-skin-mets", MEL_TO_SKIN, "2025-12-01"), breast],
        ["M1", "P1"],
        [("metastasis_attribution", "P1", "fires")],
    )
    # one tumour recorded twice
    twice = [
        cond(pid, "mel-problem", MELANOMA, "2025-07-01"),
        cond(
            pid,
            "mel-encounter-dx",
            C43_59,
            "2025-07-06",
            category="encounter-diagnosis",
            encounter="onc-visit",
            style="cerner",
        ),
    ]
    add(
        "m1-melanoma-twice-lung-mets",
        "One melanoma recorded twice (problem list SNOMED CT, encounter diagnosis C43.59, 5 days apart) and lung "
        "metastases: one primary, untested: M1 and P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, lung],
        ["M1", "P1"],
        [("tumour_dedup", "M1", "fires")],
    )
    add(
        "m1-melanoma-twice-breast-liver-mets",
        "The duplicated melanoma plus a breast cancer and unlinked liver metastases: two cancers, M1 silent; P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, breast, liver],
        ["P1"],
        [("tumour_dedup", "M1", "silent")],
    )
    add(
        "m3-melanoma-twice-lung-mets-v600e",
        "The duplicated melanoma with lung metastases and BRAF V600E: one primary, M3 and P1.",
        hx("uscore-encdx", "gr-variant"),
        "patient-view",
        [who(), *twice, lung, v600e],
        ["M3", "P1"],
        [("tumour_dedup", "M3", "fires")],
    )
    add(
        "m3-melanoma-twice-breast-liver-mets-v600e",
        "The duplicated melanoma, a breast cancer, unlinked liver metastases and BRAF V600E: M3 silent; P1.",
        hx("uscore-encdx", "gr-variant"),
        "patient-view",
        [who(), *twice, breast, liver, v600e],
        ["P1"],
        [("tumour_dedup", "M3", "silent")],
    )
    # narrative results and HGVS coding-DNA notation
    for cid, text, expect, cells in (
        (
            "m2-narrative-v600e-nras-kit-not-detected",
            "BRAF V600E detected; NRAS and KIT not detected",
            [],
            [("narrative_results", "M2", "silent")],
        ),
        (
            "m2-narrative-no-braf-v600-mutation-detected",
            "No BRAF V600 mutation detected",
            ["M2:wild_type"],
            [("narrative_results", "M2", "fires")],
        ),
        (
            "m2-narrative-braf-g469a-detected",
            "BRAF p.G469A detected; NRAS not detected",
            ["M2:not_v600"],
            [("narrative_results", "M2", "fires")],
        ),
    ):
        add(
            cid,
            f"Dabrafenib signed; the BRAF result (53844-7) is the narrative '{text}'. Read clause by clause "
            "(revision 2 narrative results).",
            hx("rules", "codes"),
            "order-sign",
            [who(), met, braf_text(pid, "braf-narrative", text)],
            expect,
            cells,
            drafts=dab,
        )
    for cid, dna, name in (
        ("m2-cdna-c1799t-a-is-v600e", "c.1799T>A", "V600E"),
        ("m2-cdna-c1798-1799delinsaa-is-v600k", "c.1798_1799delinsAA", "V600K"),
        ("m2-cdna-c1798-1799gt-aa-is-v600k", "c.1798_1799GT>AA", "V600K"),
    ):
        add(
            cid,
            f"Dabrafenib signed; the BRAF variant gives only the coding-DNA change {dna} (48004-6), which is {name}: "
            "documented V600, M2 silent (revision 2 narrative/HGVS).",
            hx("gr-chgvs", "rules"),
            "order-sign",
            [who(), met, braf_variant(pid, "braf-cdna", dna=dna)],
            [],
            [("narrative_results", "M2", "silent")],
            drafts=dab,
        )
    add(
        "m3-narrative-v600e-nras-kit-not-detected",
        "Metastatic melanoma; narrative BRAF result 'BRAF V600E detected; NRAS and KIT not detected' is V600E "
        "positive: M3 and P1 (M1 silent, a result exists).",
        hx("rules", "codes"),
        "patient-view",
        [who(), met, braf_text(pid, "braf-narrative", "BRAF V600E detected; NRAS and KIT not detected")],
        ["M3", "P1"],
        [("narrative_results", "M3", "fires"), ("narrative_results", "M1", "silent")],
    )
    add(
        "m3-cdna-c1799t-a",
        "Metastatic melanoma; BRAF variant with only c.1799T>A (V600E): M3 and P1.",
        hx("gr-chgvs", "rules"),
        "patient-view",
        [who(), met, braf_variant(pid, "braf-cdna", dna="c.1799T>A")],
        ["M3", "P1"],
        [("narrative_results", "M3", "fires")],
    )
    add(
        "m3-narrative-no-braf-v600",
        "Narrative 'No BRAF V600 mutation detected': wild-type; M3 silent, M1 silent (result exists); P1.",
        hx("rules"),
        "patient-view",
        [who(), met, braf_text(pid, "braf-narrative", "No BRAF V600 mutation detected")],
        ["P1"],
        [("narrative_results", "M3", "silent")],
    )
    add(
        "m1-narrative-nras-kit-only",
        "The only molecular result is a variant assessment for NRAS and KIT with the narrative 'NRAS and KIT not "
        "detected' (mCODE gene shape, no BRAF): no BRAF result, M1 and P1.",
        hx("mcode-variant", "rules"),
        "patient-view",
        [
            who(),
            met,
            observation(
                pid,
                "nras-kit",
                VARIANT,
                value="NRAS and KIT not detected",
                effective="2025-11-20",
                components=((GENE, NRAS_GENE), (GENE, KIT_GENE)),
            ),
        ],
        ["M1", "P1"],
        [("narrative_results", "M1", "fires")],
    )

    # panels
    def ihc_panel(value: Json) -> Json:
        return observation(pid, "braf-panel", BRAF_TEST, effective="2025-11-02", components=((BRAF_IHC, value),))

    add(
        "m2-braf-panel-ihc-component-positive",
        "Dabrafenib signed; the BRAF analysis (53844-7) is a panel whose component is BRAF V600E IHC (85299-6) "
        "positive. A component counts as if it stood alone (revision 2 panels): M2 silent.",
        hx("codes", "rules"),
        "order-sign",
        [who(), met, ihc_panel(POSITIVE)],
        [],
        [("panels", "M2", "silent")],
        drafts=dab,
    )
    add(
        "m2-braf-panel-ihc-component-negative",
        "The same panel with the IHC component negative: no V600E/K documented (IHC does not exclude V600K): M2 "
        "default warning.",
        hx("codes"),
        "order-sign",
        [who(), met, ihc_panel(NEGATIVE)],
        ["M2"],
        [("panels", "M2", "fires")],
        drafts=dab,
    )
    add(
        "m3-braf-panel-ihc-component-positive",
        "Patient view with the positive IHC component panel: V600E, M3 and P1 (M1 silent).",
        hx("codes"),
        "patient-view",
        [who(), met, ihc_panel(POSITIVE)],
        ["M3", "P1"],
        [("panels", "M3", "fires"), ("panels", "M1", "silent")],
    )
    add(
        "m3-braf-panel-ihc-component-negative",
        "Patient view with the negative IHC component: not V600, M3 silent; a result exists, M1 silent; P1.",
        hx("codes"),
        "patient-view",
        [who(), met, ihc_panel(NEGATIVE)],
        ["P1"],
        [("panels", "M3", "silent")],
    )
    report_obs = observation(pid, "genetic-report", GENETIC_REPORT, effective="2025-11-20", members=("braf-member",))
    member = braf_variant(pid, "braf-member", change="NP_004324.2:p.Val600Glu")
    add(
        "m3-report-hasmember-v600e-on-server",
        "The observations prefetch holds a genetic analysis report Observation (51969-4) whose hasMember points to "
        "the BRAF V600E variant, which only the FHIR server holds. A member counts (revision 2 panels): M3 and P1.",
        hx("gr-variant", "mcode-staging"),
        "patient-view",
        [who(), met, report_obs, member],
        ["M3", "P1"],
        [("panels", "M3", "fires")],
        prefetch=ehr_prefetch([who(), met], observations=searchset([report_obs])),
        server=True,
    )
    nras_member = observation(
        pid,
        "braf-member",
        VARIANT,
        value=ABSENT,
        effective="2025-11-20",
        components=((GENE, NRAS_GENE), (GENE, KIT_GENE)),
    )
    add(
        "m1-report-hasmember-nras-kit-only",
        "The report's only member (on the server) is an NRAS/KIT variant assessment: no BRAF result, M1 and P1.",
        hx("mcode-variant"),
        "patient-view",
        [who(), met, report_obs, nras_member],
        ["M1", "P1"],
        [("panels", "M1", "fires")],
        prefetch=ehr_prefetch([who(), met], observations=searchset([report_obs])),
        server=True,
    )
    # pending tests
    braf_order = service_request(pid, "braf-order", BRAF_TEST, status="active", authored="2026-02-20", reason="mel-met")
    add(
        "m1-braf-order-active-on-file",
        "A BRAF mutation analysis order is active on file: never suggested again (revision 2): M1 silent; P1.",
        hx("uscore-sr", "codes"),
        "patient-view",
        [who(), met, braf_order],
        ["P1"],
        [("pending_orders", "M1", "silent")],
    )
    add(
        "m1-braf-order-revoked-on-file",
        "The earlier BRAF order was revoked (demo patient shape): nothing pending, M1 and P1.",
        hx("uscore-sr", "fixture"),
        "patient-view",
        [who(), met, service_request(pid, "braf-revoked", BRAF_TEST, status="revoked", authored="2025-10-05")],
        ["M1", "P1"],
        [("pending_orders", "M1", "fires")],
    )
    add(
        "m1-order-select-braf-drafted-not-selected",
        "order-select: ondansetron selected, a BRAF test drafted in the same session (not selected): the pending "
        "draft counts, M1 silent.",
        hx("uscore-sr"),
        "order-select",
        [who(), met],
        [],
        [("pending_orders", "M1", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-ondansetron", ONDANSETRON),
            service_request(pid, "draft-braf", BRAF_TEST, status="draft", authored="2026-03-01", reason="mel-met"),
        ),
        selections=["MedicationRequest/draft-ondansetron"],
    )
    add(
        "m2-order-sign-braf-pending-on-file",
        "order-sign of dabrafenib while a BRAF test is active on file: order-sign sees pending orders too "
        "(revision 2): M2 pending variant.",
        hx("uscore-sr"),
        "order-sign",
        [who(), met, braf_order],
        ["M2:pending"],
        [("pending_orders", "M2", "fires")],
        drafts=dab,
    )
    add(
        "m2-order-sign-braf-among-drafts",
        "order-sign of dabrafenib together with a drafted BRAF test: M2 pending variant.",
        hx("uscore-sr"),
        "order-sign",
        [who(), met],
        ["M2:pending"],
        [("pending_orders", "M2", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-dabrafenib", DABRAFENIB),
            service_request(pid, "draft-braf", BRAF_TEST, status="draft", authored="2026-03-01", reason="mel-met"),
        ),
    )
    add(
        "m2-v600e-and-repeat-test-pending",
        "V600E documented and a repeat BRAF test pending: the result decides, M2 silent.",
        hx("gr-variant", "uscore-sr"),
        "order-sign",
        [who(), met, v600e, braf_order],
        [],
        [("pending_orders", "M2", "silent")],
        drafts=dab,
    )
    # medication references
    urn = "urn:uuid:9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c01"
    add(
        "m2-draft-dabrafenib-by-urn-uuid",
        "Dabrafenib drafted as a medicationReference to the draftOrders entry's fullUrl (urn:uuid), untested: M2.",
        hx("fhir-searchset"),
        "order-sign",
        [who(), met],
        ["M2"],
        [("medication_reference", "M2", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-braf-inhibitor", urn), medication("med-tafinlar", DABRAFENIB), urls={"med-tafinlar": urn}
        ),
    )
    add(
        "m2-draft-encorafenib-by-urn-uuid-v600k",
        "Encorafenib (Braftovi, by name) drafted by urn:uuid reference, BRAF V600K (p.Val600Lys) documented: M2 silent.",
        hx("fhir-searchset", "gr-variant", "labels"),
        "order-sign",
        [who(), met, braf_variant(pid, "braf-v600k", change="p.Val600Lys")],
        [],
        [("medication_reference", "M2", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-braf-inhibitor", urn), medication("med-braftovi", ENCORAFENIB), urls={"med-braftovi": urn}
        ),
    )
    dab_ref = med_request(pid, "dabrafenib-current", "Medication/erx-tafinlar", authored="2025-12-01")
    dab_med = medication("erx-tafinlar", DABRAFENIB)
    res = [who(), trunk, liver, v600e, dab_ref]
    add(
        "m3-on-dabrafenib-included-medication",
        "Melanoma with V600E already on dabrafenib through an _include'd Medication: M3 silent; P1.",
        hx("epic-include", "fhir-searchset"),
        "patient-view",
        [*res, dab_med],
        ["P1"],
        [("medication_reference", "M3", "silent")],
        prefetch=ehr_prefetch(res, medicationRequests=searchset([dab_ref], [dab_med])),
    )


# ================================================================================================
# K1, N1 — Merkel cell carcinoma; skin lesions with a neuroendocrine primary
# ================================================================================================


def merkel_cases() -> None:
    pid = "merkel-met"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, gender="male", birth="1946-03-21")

    mcc = cond(pid, "mcc-cheek", C4A_39, "2025-08-15")
    nodes = cond(pid, "nodes-neck", C77_0, "2026-01-08")
    breast = cond(pid, "breast", C50_912, "2024-04-01")
    for deceased, cid, expect, kind in (
        (False, "pv-metastatic-merkel-living", ["K1", "P1"], "fires"),
        ("2026-02-24", "pv-metastatic-merkel-deceased", [], "silent"),
    ):
        add(
            cid,
            "Merkel cell carcinoma of the cheek with nodal metastases, no PD-1/PD-L1 therapy. Living: K1 and P1; "
            "deceased: no cards (revision 2).",
            hx("uscore-deceased", "icd10cm"),
            "patient-view",
            [who(deceased), mcc, nodes],
            expect,
            [("deceased", "K1", kind)]
            + ([("rule_K1", "K1", "fires"), ("medication_reference", "K1", "fires")] if kind == "fires" else []),
        )
    add(
        "k1-old-merkel-abated-secondary-merkel-active",
        "The 2020 Merkel primary is abated (no clinicalStatus); a secondary Merkel cell carcinoma (C7B.1) is active: K1 "
        "and P1.",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        [
            who(),
            cond(pid, "mcc-2020", C4A_39, "2020-01-10", clinical=None, abatement="2020-03-01"),
            cond(pid, "mcc-secondary", C7B_1, "2026-01-08"),
        ],
        ["K1", "P1"],
        [("abatement", "K1", "fires")],
    )
    add(
        "k1-nodal-metastasis-abated",
        "Active Merkel primary; the nodal metastasis has abatementDateTime only (treated): not metastatic, K1 and P1 "
        "silent.",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        [who(), mcc, cond(pid, "nodes-2024", C77_0, "2024-02-01", clinical=None, abatement="2024-08-01")],
        [],
        [("abatement", "K1", "silent")],
    )
    add(
        "k1-oid-merkel-and-nodes",
        "Merkel cell carcinoma (SNOMED CT OID) and nodes (ICD-10-CM OID): K1 and P1 (revision 2 code systems).",
        hx("epic-oid", "codes"),
        "patient-view",
        [who(), cond(pid, "mcc", oid(MERKEL), "2025-08-15"), cond(pid, "nodes-neck", oid(C77_0), "2026-01-08")],
        ["K1", "P1"],
        [("code_systems", "K1", "fires")],
    )
    add(
        "k1-oid-kidney-transplant",
        "Metastatic Merkel in a kidney recipient whose Z94.0 is under the ICD-10-CM OID: SOT, K1 silent; P1.",
        hx("epic-oid", "icd10cm"),
        "patient-view",
        [who(), mcc, nodes, tx(pid, oid(Z94_0))],
        ["P1"],
        [("code_systems", "K1", "silent")],
    )
    add(
        "k1-merkel-neck-descendant-nodes",
        "Merkel cell carcinoma coded as SNOMED CT 133851000119107 'of neck' (VSAC descendant) with nodes: K1 and P1.",
        hx("vsac-cancer"),
        "patient-view",
        [who(), cond(pid, "mcc-neck", MERKEL_NECK, "2025-08-15"), nodes],
        ["K1", "P1"],
        [("hierarchies", "K1", "fires")],
    )
    add(
        "k1-secondary-carcinoid-is-not-merkel",
        "Secondary carcinoid of other sites (C7B.09) alone: C7B.1 is Merkel, C7B.0x is not: nothing fires.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "secondary-carcinoid", C7B_09, "2026-01-08")],
        [],
        [("hierarchies", "K1", "silent")],
    )
    z85 = cond(pid, "hx-merkel", Z85_821, "2021-06-01")
    add(
        "k1-history-z85-821-new-nodes",
        "Personal history of Merkel cell carcinoma (Z85.821) and new nodal metastases, the only candidate: metastatic "
        "Merkel (revision 2 history): K1 and P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), z85, nodes],
        ["K1", "P1"],
        [("history_recurrence", "K1", "fires")],
    )
    add(
        "k1-history-z85-821-nodes-and-breast-cancer",
        "Z85.821, new nodes and an active breast cancer: two candidates, K1 silent; P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), z85, nodes, breast],
        ["P1"],
        [("history_recurrence", "K1", "silent")],
    )
    add(
        "k1-nodes-linked-to-merkel-breast-too",
        "Merkel and breast cancer; the nodes are linked to the Merkel primary (condition-related): K1 and P1.",
        hx("mcode-secondary", "icd10cm"),
        "patient-view",
        [who(), mcc, breast, cond(pid, "nodes-neck", C77_0, "2026-01-08", related="mcc-cheek")],
        ["K1", "P1"],
        [("metastasis_attribution", "K1", "fires")],
    )
    add(
        "k1-nodes-unlinked-merkel-and-breast",
        "Merkel and breast cancer, nodes linked to neither: K1 silent; P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), mcc, breast, nodes],
        ["P1"],
        [("metastasis_attribution", "K1", "silent")],
    )
    twice = [
        cond(pid, "mcc-problem", MERKEL, "2025-08-15"),
        cond(
            pid,
            "mcc-encounter-dx",
            C4A_39,
            "2025-08-20",
            category="encounter-diagnosis",
            encounter="derm-visit",
            style="cerner",
        ),
    ]
    add(
        "k1-merkel-twice-nodes",
        "One Merkel tumour recorded twice (problem list SNOMED CT, encounter diagnosis C4A.39) with nodes: one "
        "primary, K1 and P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, nodes],
        ["K1", "P1"],
        [("tumour_dedup", "K1", "fires")],
    )
    add(
        "k1-merkel-twice-nodes-and-breast",
        "The duplicated Merkel tumour plus a breast cancer and unlinked nodes: K1 silent; P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, breast, nodes],
        ["P1"],
        [("tumour_dedup", "K1", "silent")],
    )
    ave_ref = med_request(pid, "avelumab-current", "Medication/erx-bavencio", authored="2026-01-20")
    ave_med = medication("erx-bavencio", AVELUMAB)
    res = [who(), mcc, nodes, ave_ref]
    add(
        "k1-on-avelumab-included-medication",
        "On avelumab through an _include'd Medication: K1 silent; P1.",
        hx("epic-include", "fhir-searchset"),
        "patient-view",
        [*res, ave_med],
        ["P1"],
        [("medication_reference", "K1", "silent")],
        prefetch=ehr_prefetch(res, medicationRequests=searchset([ave_ref], [ave_med])),
    )
    ret_ref = med_request(pid, "retifanlimab-current", "Medication/erx-zynyz", authored="2026-01-20")
    add(
        "k1-on-retifanlimab-medication-on-server",
        "On retifanlimab (Zynyz, approved for Merkel cell carcinoma 2023) whose Medication is only on the server: K1 "
        "silent; P1.",
        hx("uscore-mr-ref", "labels"),
        "patient-view",
        [who(), mcc, nodes, ret_ref, medication("erx-zynyz", ICI["retifanlimab"])],
        ["P1"],
        [("medication_reference", "K1", "silent"), ("rule_K1", "K1", "silent")],
        server=True,
    )
    add(
        "k1-pembrolizumab-completed",
        "Pembrolizumab completed (demo patient shape): K1 asks about current therapy, K1 and P1 fire.",
        hx("fixture"),
        "patient-view",
        [
            who(),
            mcc,
            nodes,
            med_request(pid, "pembro-completed", PEMBROLIZUMAB, status="completed", authored="2024-06-01"),
        ],
        ["K1", "P1"],
        [("rule_K1", "K1", "fires")],
    )
    add(
        "k1-on-retifanlimab-statement",
        "A MedicationStatement active for Zynyz (retifanlimab): K1 silent; P1.",
        hx("labels"),
        "patient-view",
        [who(), mcc, nodes, med_statement(pid, "zynyz", ICI["retifanlimab"])],
        ["P1"],
        [("rule_K1", "K1", "silent")],
    )
    add(
        "k1-on-nivolumab",
        "On nivolumab (RxNorm 1597876): K1 silent; P1.",
        hx("codes"),
        "patient-view",
        [who(), mcc, nodes, med_request(pid, "nivolumab", NIVOLUMAB)],
        ["P1"],
        [("rule_K1", "K1", "silent")],
    )
    add(
        "k1-transplant-recipient",
        "Metastatic Merkel in a kidney recipient (T3 applies on ordering): K1 silent; P1.",
        hx("icd10cm", "fixture"),
        "patient-view",
        [who(), tx(pid), mcc, nodes],
        ["P1"],
        [("rule_K1", "K1", "silent")],
    )


def net_cases() -> None:
    pid = "net-skin"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, birth="1963-05-17")

    net = cond(pid, "net-ileum", C7A_012, "2023-04-01")
    skin = cond(pid, "skin-secondary", C79_2, "2026-01-25")
    for deceased, cid, expect, kind in (
        (False, "pv-net-skin-secondary-living", ["N1", "P1"], "fires"),
        (True, "pv-net-skin-secondary-deceased", [], "silent"),
    ):
        add(
            cid,
            "Ileal neuroendocrine tumour (C7A.012) and a new skin secondary (C79.2) not linked to a primary. Living: N1 "
            "and P1; deceased: no cards.",
            hx("uscore-patient", "icd10cm", "fixture"),
            "patient-view",
            [who(deceased), net, skin],
            expect,
            [("deceased", "N1", kind)],
        )
    add(
        "n1-old-skin-secondary-abated-new-one-active",
        "NET active; a 2024 skin secondary abated (no clinicalStatus) and a new active one: N1 and P1.",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        [
            who(),
            net,
            cond(pid, "skin-secondary-2024", C79_2, "2024-01-10", clinical=None, abatement="2024-03-01"),
            skin,
        ],
        ["N1", "P1"],
        [("abatement", "N1", "fires")],
    )
    add(
        "n1-net-abated-no-status",
        "The NET is recorded with abatementDateTime and no clinicalStatus (resolved): no known NET, N1 silent; the "
        "skin secondary still gives P1.",
        hx("uscore-abated", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "net-ileum", C7A_012, "2018-04-01", clinical=None, abatement="2019-01-01"), skin],
        ["P1"],
        [("abatement", "N1", "silent")],
    )
    add(
        "n1-oid-net-and-skin-secondary",
        "Malignant NET and secondary of skin both under the SNOMED CT OID: N1 and P1.",
        hx("epic-oid", "codes"),
        "patient-view",
        [
            who(),
            cond(pid, "net", oid(NET), "2023-04-01"),
            cond(pid, "skin-secondary", oid(SKIN_SECONDARY), "2026-01-25"),
        ],
        ["N1", "P1"],
        [("code_systems", "N1", "fires")],
    )
    add(
        "n1-oid-skin-secondary-linked-to-net",
        "The OID-coded skin secondary carries condition-related to the NET: already linked, N1 silent; P1.",
        hx("epic-oid", "mcode-secondary"),
        "patient-view",
        [
            who(),
            cond(pid, "net", oid(NET), "2023-04-01"),
            cond(pid, "skin-secondary", oid(SKIN_SECONDARY), "2026-01-25", related="net"),
        ],
        ["P1"],
        [("code_systems", "N1", "silent")],
    )
    add(
        "n1-net-and-merkel-neck-descendant",
        "Ileal NET (C7A.012, under C7A.0) and a Merkel cell carcinoma coded as the SNOMED CT descendant 'of neck': "
        "N1 (the Merkel tumour is not metastatic, no K1 or P1).",
        hx("icd10cm", "vsac-cancer"),
        "patient-view",
        [who(), net, cond(pid, "mcc-neck", MERKEL_NECK, "2026-01-25")],
        ["N1"],
        [("hierarchies", "N1", "fires")],
    )
    add(
        "n1-net-secondary-other-site-not-skin",
        "NET with a secondary of other specified sites (C79.89, not skin C79.2): N1 silent, nothing fires.",
        hx("icd10cm"),
        "patient-view",
        [who(), net, cond(pid, "secondary-other", C79_89, "2026-01-25")],
        [],
        [("hierarchies", "N1", "silent")],
    )
    z85 = cond(pid, "hx-carcinoid", Z85_060, "2019-01-01")
    add(
        "n1-history-carcinoid-small-intestine-skin-secondary",
        "Personal history of small-intestine carcinoid (Z85.060) and a new skin secondary: history codes count as "
        "candidate primaries (revision 2), N1 and P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), z85, skin],
        ["N1", "P1"],
        [("history_recurrence", "N1", "fires")],
    )
    add(
        "n1-history-carcinoid-skin-secondary-linked",
        "The same with the skin secondary linked to the history condition: N1 silent; P1.",
        hx("icd10cm", "mcode-secondary"),
        "patient-view",
        [who(), z85, cond(pid, "skin-secondary", C79_2, "2026-01-25", related="hx-carcinoid")],
        ["P1"],
        [("history_recurrence", "N1", "silent")],
    )
    add(
        "n1-net-and-melanoma-unlinked-skin-secondary",
        "NET and an active melanoma, skin secondary unlinked: N1 is exempt from attribution and fires; M1 silent (two "
        "candidates); P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), net, cond(pid, "melanoma-back", C43_59, "2025-07-01"), skin],
        ["N1", "P1"],
        [("metastasis_attribution", "N1", "fires")],
    )
    add(
        "n1-skin-secondary-linked-to-net",
        "The skin secondary's evidence.detail points to the NET condition: already linked, N1 silent; P1.",
        hx("fixture", "icd10cm"),
        "patient-view",
        [who(), net, cond(pid, "skin-secondary", C79_2, "2026-01-25", evidence=["Condition/net-ileum"])],
        ["P1"],
        [("metastasis_attribution", "N1", "silent")],
    )
    add(
        "n1-small-cell-lung-cancer-skin-secondary",
        "Small-cell lung cancer (SNOMED CT 254632001, VSAC) is a neuroendocrine carcinoma (N1 row, revision 2); an "
        "unlinked skin secondary: N1 and P1.",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "sclc", SCLC, "2025-05-01"), skin],
        ["N1", "P1"],
        [("rule_N1", "N1", "fires")],
    )
    add(
        "n1-poorly-differentiated-net-and-merkel",
        "A poorly differentiated neuroendocrine tumour (C7A.1, a neuroendocrine carcinoma outside the skin: C7A excludes "
        "Merkel cell carcinoma) and a Merkel cell carcinoma diagnosis (253001006): which one is it? N1.",
        hx("icd10cm", "codes"),
        "patient-view",
        [who(), cond(pid, "pd-net", C7A_1, "2025-05-01"), cond(pid, "mcc", MERKEL, "2026-01-25")],
        ["N1"],
        [("rule_N1", "N1", "fires")],
    )
    add(
        "n1-poorly-differentiated-net-c7a-1-skin-secondary",
        "Malignant poorly differentiated neuroendocrine tumour (C7A.1) and a skin secondary: N1 and P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "pd-net", C7A_1, "2025-05-01"), skin],
        ["N1", "P1"],
        [("rule_N1", "N1", "fires")],
    )
    add(
        "n1-skin-secondary-linked-to-sclc",
        "The skin secondary is linked to the small-cell lung cancer (condition-related): N1 silent; P1.",
        hx("vsac-cancer", "mcode-secondary"),
        "patient-view",
        [
            who(),
            cond(pid, "sclc", SCLC, "2025-05-01"),
            cond(pid, "skin-secondary", C79_2, "2026-01-25", related="sclc"),
        ],
        ["P1"],
        [("rule_N1", "N1", "silent")],
    )
    add(
        "n1-lung-adenocarcinoma-skin-secondary-no-net",
        "A lung cancer coded C34.11 (not neuroendocrine) and a skin secondary: no NET, N1 silent; P1 (skin metastasis).",
        hx("vsac-cancer", "icd10cm"),
        "patient-view",
        [who(), lung_cancer(pid), skin],
        ["P1"],
        [("rule_N1", "N1", "silent")],
    )
    other = cond("someone-else", "net-other", C7A_012, "2023-04-01")
    add(
        "n1-net-of-another-patient",
        "Hygiene: the NET in the condition prefetch belongs to another patient: N1 silent; the skin secondary gives P1.",
        hx("cerner-condition"),
        "patient-view",
        [who(), skin, other],
        ["P1"],
        [("rule_N1", "N1", "silent")],
        prefetch=ehr_prefetch([who(), skin], conditions=searchset([other, skin])),
    )


# ================================================================================================
# B1, B2, B3 — breast cancer, skin metastases and HER2
# ================================================================================================


ONE_PLUS = {"text": "1+"}


def receptors(pid: str, when: str, her2: Any = ONE_PLUS, suffix: str = "") -> list[Json]:
    return [
        observation(pid, f"er{suffix}", ER, value=POSITIVE, effective=when),
        observation(pid, f"pr{suffix}", PR, value=NEGATIVE, effective=when),
        observation(pid, f"her2-ihc{suffix}", HER2_IHC, value=her2, effective=when),
    ]


def breast_cases() -> None:
    pid = "breast-skin"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, birth="1966-10-09")

    breast = cond(pid, "breast-left", C50_912, "2021-02-01")
    skin = cond(
        pid,
        "skin-met",
        cc(
            coding(SCT, "94579000", "Secondary malignant neoplasm of skin (disorder)"),
            coding("http://hl7.org/fhir/sid/icd-10-cm", "C79.2", "Secondary malignant neoplasm of skin"),
            text="Chest wall skin metastasis",
        ),
        "2025-11-15",
    )
    old_receptors = receptors(pid, "2021-03-01", suffix="-2021")
    new_receptors = receptors(pid, "2025-12-01", suffix="-2025")
    melanoma = cond(
        pid,
        "melanoma-leg",
        cc(
            coding(
                "http://hl7.org/fhir/sid/icd-10-cm", "C43.71", "Malignant melanoma of right lower limb, including hip"
            )
        ),
        "2025-06-01",
    )
    for deceased, cid, expect, kind in (
        (False, "pv-breast-skin-metastasis-living", ["B1", "P1"], "fires"),
        ("2026-02-23", "pv-breast-skin-metastasis-deceased", [], "silent"),
    ):
        add(
            cid,
            "Breast cancer with a new chest-wall skin metastasis; ER/PR/HER2 only from 2021. Living: B1 and P1; "
            "deceased: no cards (revision 2).",
            hx("uscore-deceased", "fixture", "codes"),
            "patient-view",
            [who(deceased), breast, skin, *old_receptors],
            expect,
            [("deceased", "B1", kind)] + ([("rule_B1", "B1", "fires")] if kind == "fires" else []),
        )
    add(
        "b1-old-skin-met-abated-new-skin-met",
        "A 2022 skin metastasis abated (no clinicalStatus), receptors re-tested in 2023, and a new skin metastasis in "
        "November 2025: not all three resulted since the new onset, B1 and P1.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [
            who(),
            breast,
            cond(pid, "skin-met-2022", C79_2, "2022-03-01", clinical=None, abatement="2022-09-01"),
            skin,
            *receptors(pid, "2023-01-10"),
        ],
        ["B1", "P1"],
        [("abatement", "B1", "fires")],
    )
    add(
        "b1-skin-met-abated-no-status",
        "The only skin metastasis has abatementDateTime and no clinicalStatus: resolved, B1 and P1 silent.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [
            who(),
            breast,
            cond(pid, "skin-met-2022", C79_2, "2022-03-01", clinical=None, abatement="2022-09-01"),
            *old_receptors,
        ],
        [],
        [("abatement", "B1", "silent")],
    )
    oid_skin = cond(pid, "skin-met", oid(C79_2), "2025-11-15")
    add(
        "b1-oid-breast-and-skin-met",
        "Breast cancer and skin metastasis both under the ICD-10-CM OID: B1 and P1 (revision 2 code systems).",
        hx("epic-oid", "icd10cm"),
        "patient-view",
        [who(), cond(pid, "breast-left", oid(C50_912), "2021-02-01"), oid_skin, *old_receptors],
        ["B1", "P1"],
        [("code_systems", "B1", "fires")],
    )
    oid_receptors = [
        observation(pid, "er-2025", oid(ER), value=POSITIVE, effective="2025-12-01"),
        observation(pid, "pr-2025", oid(PR), value=NEGATIVE, effective="2025-12-01"),
        observation(pid, "her2-2025", oid(HER2_IHC), value=cc(text="1+"), effective="2025-12-01"),
    ]
    res = [who(), breast, skin, *oid_receptors]
    add(
        "b1-oid-receptors-after-onset",
        "ER, PR and HER2 re-tested after the onset, their codes under the LOINC OID: all three resulted, B1 silent; P1.",
        hx("epic-oid", "codes"),
        "patient-view",
        res,
        ["P1"],
        [("code_systems", "B1", "silent")],
        prefetch=ehr_prefetch(res),
    )
    add(
        "b1-snomed-upper-outer-quadrant-skin-met",
        "Breast cancer coded as SNOMED CT 188154003 'upper-outer quadrant of female breast' (VSAC descendant of "
        "malignant neoplasm of breast) with a skin metastasis: B1 and P1 (revision 2 hierarchies; B1 row).",
        hx("vsac-cancer", "codes"),
        "patient-view",
        [who(), cond(pid, "breast-uoq", BREAST_UOQ, "2021-02-01"), skin, *old_receptors],
        ["B1", "P1"],
        [("hierarchies", "B1", "fires"), ("rule_B1", "B1", "fires")],
    )
    add(
        "b1-breast-secondary-other-site-not-skin",
        "Breast cancer with a secondary of other specified sites (C79.89): not a skin metastasis, B1 and P1 silent.",
        hx("icd10cm"),
        "patient-view",
        [who(), breast, cond(pid, "secondary-other", C79_89, "2025-11-15"), *old_receptors],
        [],
        [("hierarchies", "B1", "silent")],
    )
    z85 = cond(pid, "hx-breast", Z85_3, "2016-01-01")
    add(
        "b1-history-z85-3-skin-secondary",
        "Personal history of breast cancer (Z85.3) and a new skin secondary (the B1 row names this shape): B1 and P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), z85, skin, *old_receptors],
        ["B1", "P1"],
        [("history_recurrence", "B1", "fires"), ("rule_B1", "B1", "fires")],
    )
    add(
        "b1-history-z85-3-skin-secondary-receptors-retested",
        "Z85.3, new skin secondary and ER/PR/HER2 re-tested after its onset: B1 silent; P1.",
        hx("icd10cm", "codes"),
        "patient-view",
        [who(), z85, skin, *new_receptors],
        ["P1"],
        [("history_recurrence", "B1", "silent")],
    )
    add(
        "b1-skin-met-linked-to-breast-melanoma-too",
        "Breast cancer and melanoma; the skin metastasis is linked to the breast cancer (condition-related): B1 and "
        "P1 (the melanoma is not metastatic).",
        hx("mcode-secondary", "icd10cm"),
        "patient-view",
        [who(), breast, melanoma, cond(pid, "skin-met", C79_2, "2025-11-15", related="breast-left"), *old_receptors],
        ["B1", "P1"],
        [("metastasis_attribution", "B1", "fires")],
    )
    add(
        "b1-skin-met-unlinked-breast-and-melanoma",
        "Breast cancer and melanoma, the skin metastasis linked to neither: B1 and M1 silent (two candidates); P1.",
        hx("icd10cm"),
        "patient-view",
        [who(), breast, melanoma, skin, *old_receptors],
        ["P1"],
        [("metastasis_attribution", "B1", "silent")],
    )
    twice = [
        cond(pid, "breast-problem", BREAST, "2021-02-01"),
        cond(
            pid,
            "breast-encounter-dx",
            C50_912,
            "2021-02-05",
            category="encounter-diagnosis",
            encounter="onc-visit",
            style="cerner",
        ),
    ]
    add(
        "b1-breast-recorded-twice-skin-met",
        "One breast cancer recorded twice (problem list SNOMED CT, encounter diagnosis C50.912) and a skin metastasis: "
        "one primary, B1 and P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, skin, *old_receptors],
        ["B1", "P1"],
        [("tumour_dedup", "B1", "fires")],
    )
    add(
        "b1-breast-twice-skin-met-and-melanoma",
        "The duplicated breast cancer plus a melanoma and an unlinked skin metastasis: B1 silent; P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, melanoma, skin, *old_receptors],
        ["P1"],
        [("tumour_dedup", "B1", "silent")],
    )
    narrative_old = [
        observation(pid, "er-text", ER, value="Positive (90% of cells, strong)", effective="2021-03-01"),
        observation(pid, "pr-text", PR, value="Negative (<1%)", effective="2021-03-01"),
        observation(pid, "her2-text", HER2_INTERP, value="IHC 2+, ISH not amplified", effective="2021-03-01"),
    ]
    add(
        "b1-narrative-receptors-before-onset",
        "Receptor results as narrative valueString, all from 2021: none since the skin metastasis, B1 and P1.",
        hx("rules", "codes"),
        "patient-view",
        [who(), breast, skin, *narrative_old],
        ["B1", "P1"],
        [("narrative_results", "B1", "fires")],
    )
    narrative_new = [
        {**copy.deepcopy(o), "effectiveDateTime": "2025-12-01", "issued": "2025-12-01T16:00:00Z"} for o in narrative_old
    ]
    add(
        "b1-narrative-receptors-after-onset",
        "The same narrative results dated after the onset: all three resulted, B1 silent; P1.",
        hx("rules", "codes"),
        "patient-view",
        [who(), breast, skin, *narrative_new],
        ["P1"],
        [("narrative_results", "B1", "silent")],
    )
    panel = observation(
        pid,
        "her2-ish-panel",
        HER2_PANEL,
        effective="2025-12-01",
        components=((HER2_ISH, cc(text="Not amplified")), (HER2_RATIO, 1.3), (HER2_COPIES, 2.9)),
    )
    add(
        "b1-her2-panel-only-after-onset",
        "After the onset only a HER2 ISH panel (74885-5, with components) was resulted; ER and PR are from 2021: not "
        "all three, B1 and P1.",
        hx("codes"),
        "patient-view",
        [who(), breast, skin, *old_receptors, panel],
        ["B1", "P1"],
        [("panels", "B1", "fires")],
    )
    er_new, pr_new, her2_new = receptors(pid, "2025-12-01", suffix="-2025")
    breast_panel = observation(
        pid,
        "receptor-panel",
        cc(text="Breast cancer prognostic panel"),
        effective="2025-12-01",
        members=("er-2025", "pr-2025", "her2-ihc-2025"),
    )
    res = [who(), breast, skin, *old_receptors]
    add(
        "b1-receptors-hasmember-on-server",
        "The observations prefetch holds a receptor panel whose hasMember results (ER, PR, HER2 after the onset) only "
        "the FHIR server has: they count (revision 2 panels), B1 silent; P1.",
        hx("mcode-staging", "codes"),
        "patient-view",
        [*res, breast_panel, er_new, pr_new, her2_new],
        ["P1"],
        [("panels", "B1", "silent")],
        prefetch=ehr_prefetch(res, observations=searchset([*old_receptors, breast_panel])),
        server=True,
    )
    add(
        "b1-all-three-after-onset",
        "ER, PR and HER2 re-tested after the skin metastasis appeared: B1 silent; P1.",
        hx("fixture", "codes"),
        "patient-view",
        [who(), breast, skin, *old_receptors, *new_receptors],
        ["P1"],
        [("rule_B1", "B1", "silent")],
    )
    b2_cases()
    b3_cases()


def b2_cases() -> None:
    pid = "breast-her2"

    def who(deceased: bool | str | None = None) -> Json:
        return person(pid, deceased=deceased, birth="1970-02-02")

    breast = cond(pid, "breast-right", C50_411, "2024-11-01")
    liver = cond(pid, "liver-mets", C78_7, "2026-01-05")
    ihc3 = observation(pid, "her2-ihc", HER2_IHC, value=cc(text="3+"), effective="2026-01-19")
    cscc_ = cond(pid, "cscc-arm", C44_622, "2025-05-01")
    for deceased, cid, expect, kind in (
        (False, "pv-breast-her2-positive-living", ["B2"], "fires"),
        (True, "pv-breast-her2-positive-deceased", [], "silent"),
    ):
        add(
            cid,
            "Breast cancer with liver metastases, HER2 IHC 3+, no HER2-directed therapy. Living: B2; deceased: none.",
            hx("uscore-patient", "fixture", "codes"),
            "patient-view",
            [who(deceased), breast, liver, ihc3],
            expect,
            [("deceased", "B2", kind)]
            + ([("rule_B2", "B2", "fires"), ("medication_reference", "B2", "fires")] if kind == "fires" else []),
        )
    add(
        "b2-old-liver-mets-abated-new-bone-mets",
        "Liver metastases of 2024 abated (no clinicalStatus); new bone metastases active; HER2 3+: B2.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [
            who(),
            breast,
            cond(pid, "liver-mets-2024", C78_7, "2024-12-01", clinical=None, abatement="2025-06-01"),
            cond(pid, "bone-mets", C79_51, "2026-01-05"),
            ihc3,
        ],
        ["B2"],
        [("abatement", "B2", "fires")],
    )
    add(
        "b2-liver-mets-abated-no-status",
        "The only metastasis has abatementDateTime and no clinicalStatus: not metastatic, B2 silent.",
        hx("uscore-abated", "codes"),
        "patient-view",
        [who(), breast, cond(pid, "liver-mets-2024", C78_7, "2024-12-01", clinical=None, abatement="2025-06-01"), ihc3],
        [],
        [("abatement", "B2", "silent")],
    )
    oid_ihc = observation(pid, "her2-ihc", oid(HER2_IHC), value=cc(text="3+"), effective="2026-01-19")
    res = [who(), breast, liver, oid_ihc]
    add(
        "b2-oid-her2-ihc-3plus",
        "HER2 IHC 3+ whose code is under the LOINC OID: B2 (revision 2 code systems).",
        hx("epic-oid", "codes"),
        "patient-view",
        res,
        ["B2"],
        [("code_systems", "B2", "fires")],
        prefetch=ehr_prefetch(res),
    )
    newer = observation(pid, "her2-interp-new", oid(HER2_INTERP), value=NEGATIVE, effective="2026-02-15")
    res = [who(), breast, liver, ihc3, newer]
    add(
        "b2-oid-newer-her2-negative",
        "A newer HER2 interpretation (48676-1 under the LOINC OID) is negative: the latest result decides, B2 silent.",
        hx("epic-oid", "mcode-her2"),
        "patient-view",
        res,
        [],
        [("code_systems", "B2", "silent")],
        prefetch=ehr_prefetch(res),
    )
    add(
        "b2-icd-category-c50-91-her2-positive",
        "Breast cancer sent as the ICD-10-CM category C50.91 (not a leaf) with liver metastases and HER2 3+: a "
        "category means its descendants, B2.",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "breast", C50_91, "2024-11-01"), liver, ihc3],
        ["B2"],
        [("hierarchies", "B2", "fires")],
    )
    add(
        "b2-dcis-is-not-breast-cancer",
        "Intraductal carcinoma in situ (D05.11) is not under C50: with liver metastases and HER2 3+, no breast cancer, "
        "B2 silent (nothing fires).",
        hx("icd10cm"),
        "patient-view",
        [who(), cond(pid, "dcis", D05_11, "2024-11-01"), liver, ihc3],
        [],
        [("hierarchies", "B2", "silent")],
    )
    z85 = cond(pid, "hx-breast", Z85_3, "2015-06-01")
    add(
        "b2-history-z85-3-liver-mets-her2-positive",
        "Z85.3 and new liver metastases (the only candidate): recurrent metastatic breast cancer (revision 2 history), "
        "HER2 3+: B2.",
        hx("icd10cm", "codes"),
        "patient-view",
        [who(), z85, liver, ihc3],
        ["B2"],
        [("history_recurrence", "B2", "fires")],
    )
    add(
        "b2-history-z85-3-her2-positive-no-secondary",
        "Z85.3 with an old HER2-positive result and no secondary: not metastatic, B2 silent.",
        hx("icd10cm", "codes"),
        "patient-view",
        [who(), z85, ihc3],
        [],
        [("history_recurrence", "B2", "silent")],
    )
    add(
        "b2-liver-mets-linked-to-breast-cscc-too",
        "Breast cancer and a cSCC; liver metastases linked to the breast cancer (condition-related), HER2 3+: B2 "
        "(the cSCC is not metastatic, no S1 or P1).",
        hx("mcode-secondary", "icd10cm"),
        "patient-view",
        [who(), breast, cscc_, cond(pid, "liver-mets", C78_7, "2026-01-05", related="breast-right"), ihc3],
        ["B2"],
        [("metastasis_attribution", "B2", "fires")],
    )
    add(
        "b2-liver-mets-unlinked-breast-and-cscc",
        "Breast cancer and cSCC, liver metastases linked to neither: B2 and S1 silent; P1 fires.",
        hx("icd10cm"),
        "patient-view",
        [who(), breast, cscc_, liver, ihc3],
        ["P1"],
        [("metastasis_attribution", "B2", "silent"), ("metastasis_attribution", "S1", "silent")],
    )
    twice = [
        cond(pid, "breast-problem", BREAST, "2024-11-01"),
        cond(
            pid,
            "breast-encounter-dx",
            C50_411,
            "2024-11-08",
            category="encounter-diagnosis",
            encounter="onc-visit",
            style="cerner",
        ),
    ]
    add(
        "b2-breast-recorded-twice-liver-mets",
        "One breast cancer recorded twice (SNOMED CT problem, ICD-10-CM encounter diagnosis) with liver metastases, "
        "HER2 3+: B2.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, liver, ihc3],
        ["B2"],
        [("tumour_dedup", "B2", "fires")],
    )
    add(
        "b2-breast-twice-liver-mets-and-cscc",
        "The duplicated breast cancer plus a cSCC and unlinked liver metastases: B2 silent; P1.",
        hx("uscore-encdx", "cerner-condition"),
        "patient-view",
        [who(), *twice, cscc_, liver, ihc3],
        ["P1"],
        [("tumour_dedup", "B2", "silent")],
    )
    add(
        "b2-narrative-ihc-2plus-ish-amplified",
        "One HER2 result (48676-1) states 'HER2 positive: IHC 2+, ISH amplified (HER2/CEP17 ratio 2.4)': positive, B2.",
        hx("rules", "mcode-her2"),
        "patient-view",
        [
            who(),
            breast,
            liver,
            observation(
                pid,
                "her2-interp",
                HER2_INTERP,
                value="HER2 positive: IHC 2+, ISH amplified (HER2/CEP17 ratio 2.4)",
                effective="2026-01-19",
            ),
        ],
        ["B2"],
        [("narrative_results", "B2", "fires")],
    )
    add(
        "b2-narrative-ihc-2plus-ish-not-amplified",
        "One HER2 result states 'IHC 2+, ISH not amplified': HER2-low, not positive: B2 silent.",
        hx("rules", "mcode-her2"),
        "patient-view",
        [
            who(),
            breast,
            liver,
            observation(pid, "her2-interp", HER2_INTERP, value="IHC 2+, ISH not amplified", effective="2026-01-19"),
        ],
        [],
        [("narrative_results", "B2", "silent")],
    )
    add(
        "b2-interpretation-with-ihc-3plus-component",
        "The HER2 interpretation Observation (48676-1) has no value of its own; its component HER2 IHC (85319-2) is "
        "3+. A component counts as if it stood alone (revision 2 panels): B2.",
        hx("mcode-her2", "codes"),
        "patient-view",
        [
            who(),
            breast,
            liver,
            observation(
                pid, "her2-panel", HER2_INTERP, effective="2026-01-19", components=((HER2_IHC, cc(text="3+")),)
            ),
        ],
        ["B2"],
        [("panels", "B2", "fires")],
    )
    add(
        "b2-ish-panel-amplified-component",
        "HER2 ISH panel (74885-5) whose component ERBB2 gene duplication (85318-4) is 'Amplified': B2.",
        hx("codes"),
        "patient-view",
        [
            who(),
            breast,
            liver,
            observation(
                pid, "her2-panel", HER2_PANEL, effective="2026-01-19", components=((HER2_ISH, cc(text="Amplified")),)
            ),
        ],
        ["B2"],
        [("panels", "B2", "fires")],
    )
    member = observation(pid, "her2-ish-member", HER2_ISH, value=cc(text="Amplified"), effective="2026-01-19")
    report_obs = observation(
        pid, "her2-report", cc(text="HER2 testing report"), effective="2026-01-19", members=("her2-ish-member",)
    )
    res = [who(), breast, liver]
    add(
        "b2-her2-hasmember-on-server",
        "The prefetch holds a HER2 report Observation whose hasMember (ISH amplified) only the FHIR server has: B2.",
        hx("mcode-staging", "codes"),
        "patient-view",
        [*res, report_obs, member],
        ["B2"],
        [("panels", "B2", "fires")],
        prefetch=ehr_prefetch(res, observations=searchset([report_obs])),
        server=True,
    )
    add(
        "b2-newer-panel-component-1plus",
        "An older HER2 IHC 3+ and a newer interpretation panel whose IHC component is 1+: the latest is negative, B2 "
        "silent.",
        hx("codes"),
        "patient-view",
        [
            who(),
            breast,
            liver,
            {**ihc3, "effectiveDateTime": "2025-02-01", "issued": "2025-02-01T16:00:00Z"},
            observation(
                pid, "her2-panel", HER2_INTERP, effective="2026-01-19", components=((HER2_IHC, cc(text="1+")),)
            ),
        ],
        [],
        [("panels", "B2", "silent")],
    )
    tras_ref = med_request(pid, "trastuzumab-current", "Medication/erx-herceptin", authored="2026-02-01")
    tras_med = medication("erx-herceptin", TRASTUZUMAB)
    res = [who(), breast, liver, ihc3, tras_ref]
    add(
        "b2-on-trastuzumab-included-medication",
        "Already on trastuzumab through an _include'd Medication: B2 silent.",
        hx("epic-include", "fhir-searchset"),
        "patient-view",
        [*res, tras_med],
        [],
        [("medication_reference", "B2", "silent")],
        prefetch=ehr_prefetch(res, medicationRequests=searchset([tras_ref], [tras_med])),
    )
    for key, concept in (
        ("kadcyla", T_DM1),
        ("tucatinib", TUCATINIB),
        ("neratinib", NERATINIB),
        ("lapatinib", LAPATINIB),
        ("margetuximab", MARGETUXIMAB),
        ("phesgo", PHESGO),
        ("kanjinti-biosimilar", KANJINTI),
    ):
        add(
            f"b2-on-{key}",
            f"HER2-positive metastatic breast cancer already on {concept['text']}: HER2-directed therapy, the whole "
            "class (B2 row, revision 2): B2 silent.",
            hx("labels"),
            "patient-view",
            [who(), breast, liver, ihc3, med_request(pid, f"{key}-current", concept, authored="2026-02-01")],
            [],
            [("rule_B2", "B2", "silent")],
        )
    add(
        "b2-kadcyla-stopped",
        "Hygiene: Kadcyla stopped for toxicity: not current therapy, B2 fires.",
        hx("labels"),
        "patient-view",
        [
            who(),
            breast,
            liver,
            ihc3,
            med_request(pid, "kadcyla-stopped", T_DM1, status="stopped", authored="2025-04-01"),
        ],
        ["B2"],
        [("rule_B2", "B2", "fires")],
    )


def b3_cases() -> None:
    pid = "breast-b3"
    who = person(pid, birth="1962-06-16")
    breast = cond(pid, "breast", C50_912, "2023-02-01")
    ihc1 = observation(pid, "her2-ihc", HER2_IHC, value=cc(text="1+"), effective="2025-12-10")
    tras = drafts_of(draft(pid, "draft-trastuzumab", TRASTUZUMAB))
    tdxd = drafts_of(draft(pid, "draft-tdxd", T_DXD))
    add(
        "b3-old-breast-abated-new-breast-active",
        "A 2016 breast cancer abated (no clinicalStatus) and a new active one; HER2 1+; trastuzumab: B3.",
        hx("uscore-abated", "codes"),
        "order-select",
        [who, cond(pid, "breast-2016", C50_411, "2016-01-01", clinical=None, abatement="2016-09-01"), breast, ihc1],
        ["B3"],
        [("abatement", "B3", "fires")],
        drafts=tras,
    )
    add(
        "b3-breast-cancer-abated-no-status",
        "The only breast cancer has abatementDateTime and no clinicalStatus: no breast cancer, so B3 is silent "
        "(rev. 2 B3 row) for trastuzumab.",
        hx("uscore-abated", "codes"),
        "order-select",
        [who, cond(pid, "breast-2016", C50_411, "2016-01-01", clinical=None, abatement="2016-09-01"), ihc1],
        [],
        [("abatement", "B3", "silent")],
        drafts=tras,
    )
    add(
        "b3-oid-trastuzumab-bare-rxnorm",
        "Trastuzumab drafted with only RxNorm 224905 under the RxNorm OID (no text): B3 for HER2 1+.",
        hx("epic-oid", "codes"),
        "order-sign",
        [who, breast, ihc1],
        ["B3"],
        [("code_systems", "B3", "fires")],
        drafts=drafts_of(draft(pid, "draft-trastuzumab", bare(oid(TRASTUZUMAB)))),
    )
    res = [who, breast, observation(pid, "her2-ihc", oid(HER2_IHC), value=cc(text="3+"), effective="2025-12-10")]
    add(
        "b3-oid-her2-ihc-3plus-trastuzumab",
        "HER2 IHC 3+ whose code is under the LOINC OID: positive, B3 silent for trastuzumab.",
        hx("epic-oid", "codes"),
        "order-select",
        res,
        [],
        [("code_systems", "B3", "silent")],
        drafts=tras,
        prefetch=ehr_prefetch(res),
    )
    add(
        "b3-snomed-upper-outer-quadrant-trastuzumab",
        "Breast cancer coded as the SNOMED CT descendant 188154003, HER2 1+, trastuzumab: B3.",
        hx("vsac-cancer", "codes"),
        "order-select",
        [who, cond(pid, "breast-uoq", BREAST_UOQ, "2023-02-01"), ihc1],
        ["B3"],
        [("hierarchies", "B3", "fires")],
        drafts=tras,
    )
    add(
        "b3-dcis-only-trastuzumab",
        "Only ductal carcinoma in situ (D05.11), HER2 1+, trastuzumab: no breast cancer under C50, B3 silent.",
        hx("icd10cm"),
        "order-select",
        [who, cond(pid, "dcis", D05_11, "2023-02-01"), ihc1],
        [],
        [("hierarchies", "B3", "silent")],
        drafts=tras,
    )
    z85 = cond(pid, "hx-breast", Z85_3, "2014-01-01")
    add(
        "b3-history-z85-3-liver-mets-trastuzumab",
        "Z85.3 and new liver metastases (recurrent metastatic breast cancer, revision 2), HER2 1+, trastuzumab: B3.",
        hx("icd10cm", "codes"),
        "order-select",
        [who, z85, cond(pid, "liver-mets", C78_7, "2026-01-05"), ihc1],
        ["B3"],
        [("history_recurrence", "B3", "fires")],
        drafts=tras,
    )
    add(
        "b3-history-z85-3-alone-trastuzumab",
        "Z85.3 alone (no active disease), HER2 1+, trastuzumab: no breast cancer, B3 silent.",
        hx("icd10cm", "codes"),
        "order-select",
        [who, z85, ihc1],
        [],
        [("history_recurrence", "B3", "silent")],
        drafts=tras,
    )
    low = observation(pid, "her2-interp", HER2_INTERP, value="IHC 2+, ISH not amplified", effective="2025-12-10")
    add(
        "b3-narrative-her2-low-trastuzumab",
        "One HER2 result states 'IHC 2+, ISH not amplified' (HER2-low, negative for trastuzumab): B3.",
        hx("rules", "mcode-her2"),
        "order-select",
        [who, breast, low],
        ["B3"],
        [("narrative_results", "B3", "fires"), ("rule_B3", "B3", "fires")],
        drafts=tras,
    )
    add(
        "b3-narrative-her2-low-tdxd",
        "The same 'IHC 2+, ISH not amplified' states its own ISH outcome: HER2-low, not equivocal; T-DXd allowed, B3 "
        "silent (B3 row, revision 2).",
        hx("rules", "mcode-her2"),
        "order-select",
        [who, breast, low],
        [],
        [("narrative_results", "B3", "silent"), ("rule_B3", "B3", "silent")],
        drafts=tdxd,
    )

    def her2_panel(*components: tuple[Json, Any]) -> Json:
        return observation(pid, "her2-panel", HER2_INTERP, effective="2025-12-10", components=components)

    add(
        "b3-panel-component-ihc-1plus-trastuzumab",
        "HER2 only as a 1+ IHC component of the interpretation panel: negative, trastuzumab: B3.",
        hx("codes", "mcode-her2"),
        "order-select",
        [who, breast, her2_panel((HER2_IHC, cc(text="1+")))],
        ["B3"],
        [("panels", "B3", "fires")],
        drafts=tras,
    )
    add(
        "b3-panel-component-ihc-3plus-trastuzumab",
        "HER2 IHC 3+ reported as a component of the interpretation panel counts like a stand-alone result: positive, "
        "B3 silent.",
        hx("codes", "mcode-her2"),
        "order-select",
        [who, breast, her2_panel((HER2_IHC, cc(text="3+")))],
        [],
        [("panels", "B3", "silent"), ("rule_B3", "B3", "silent")],
        drafts=tras,
    )
    add(
        "b3-panel-ihc-2plus-ish-not-amplified-tdxd",
        "A panel with IHC 2+ and ISH 'Not amplified' components: HER2-low; T-DXd: B3 silent.",
        hx("codes", "mcode-her2"),
        "order-sign",
        [who, breast, her2_panel((HER2_IHC, cc(text="2+")), (HER2_ISH, cc(text="Not amplified")))],
        [],
        [("panels", "B3", "silent")],
        drafts=tdxd,
    )
    urn = "urn:uuid:5b4a3c2d-1e0f-4a9b-8c7d-6e5f4a3b2c01"
    add(
        "b3-draft-trastuzumab-by-urn-uuid",
        "Trastuzumab drafted through a urn:uuid reference to a Medication in the draftOrders Bundle; HER2 1+: B3.",
        hx("fhir-searchset"),
        "order-select",
        [who, breast, ihc1],
        ["B3"],
        [("medication_reference", "B3", "fires")],
        drafts=drafts_of(
            draft(pid, "draft-her2-ref", urn), medication("med-herceptin", TRASTUZUMAB), urls={"med-herceptin": urn}
        ),
        selections=["MedicationRequest/draft-her2-ref"],
    )
    add(
        "b3-draft-tdxd-by-urn-uuid-her2-low",
        "T-DXd drafted through a urn:uuid reference; HER2 IHC 1+ (HER2-low): B3 silent.",
        hx("fhir-searchset"),
        "order-select",
        [who, breast, ihc1],
        [],
        [("medication_reference", "B3", "silent")],
        drafts=drafts_of(
            draft(pid, "draft-her2-ref", urn), medication("med-enhertu", T_DXD), urls={"med-enhertu": urn}
        ),
        selections=["MedicationRequest/draft-her2-ref"],
    )
    add(
        "b3-tdm1-her2-negative",
        "Kadcyla (ado-trastuzumab emtansine) is HER2-directed therapy: ordered with HER2 1+, B3.",
        hx("labels"),
        "order-select",
        [who, breast, ihc1],
        ["B3"],
        [("rule_B3", "B3", "fires")],
        drafts=drafts_of(draft(pid, "draft-kadcyla", T_DM1)),
    )
    add(
        "b3-tucatinib-no-her2-result",
        "Tucatinib ordered with no HER2 result on file: B3.",
        hx("labels"),
        "order-sign",
        [who, breast],
        ["B3"],
        [("rule_B3", "B3", "fires")],
        drafts=drafts_of(draft(pid, "draft-tucatinib", TUCATINIB)),
    )
    add(
        "b3-discordant-earlier-positive",
        "An ISH amplified result in 2022, the latest HER2 (December 2025) IHC 1+: trastuzumab ordered, B3 with the "
        "discordance wording (ESMO allows HER2-targeted therapy when any sample was positive).",
        hx("codes"),
        "order-select",
        [
            who,
            breast,
            observation(pid, "her2-ish-2022", HER2_ISH, value=cc(text="Amplified"), effective="2022-03-01"),
            ihc1,
        ],
        ["B3:discordant"],
        [("rule_B3", "B3", "fires")],
        drafts=tras,
    )
    add(
        "b3-tdxd-her2-ultralow",
        "HER2 IHC 0 with faint incomplete membrane staining (HER2-ultralow, T-DXd label since January 2025): T-DXd, "
        "B3 silent.",
        hx("labels", "codes"),
        "order-select",
        [
            who,
            breast,
            observation(
                pid,
                "her2-ihc",
                HER2_IHC,
                value=cc(text="0 (ultralow: faint, incomplete membrane staining in 10% or fewer of tumour cells)"),
                effective="2025-12-10",
            ),
        ],
        [],
        [("rule_B3", "B3", "silent")],
        drafts=tdxd,
    )
    add(
        "b3-tdxd-her2-null-ihc-0",
        "HER2 IHC 0 with no staining (HER2-null): not low or ultralow, T-DXd: B3.",
        hx("labels", "codes"),
        "order-select",
        [
            who,
            breast,
            observation(pid, "her2-ihc", HER2_IHC, value=cc(text="0 (no staining observed)"), effective="2025-12-10"),
        ],
        ["B3"],
        [("rule_B3", "B3", "fires")],
        drafts=tdxd,
    )
    add(
        "b3-tdxd-lung-cancer-no-breast",
        "T-DXd ordered for a lung cancer (HER2-mutant NSCLC indication), no breast cancer on record: B3 silent.",
        hx("labels", "vsac-cancer"),
        "order-select",
        [who, lung_cancer(pid)],
        [],
        [("rule_B3", "B3", "silent")],
        drafts=tdxd,
    )
    add(
        "b3-trastuzumab-gastric-cancer-no-breast",
        "Trastuzumab ordered for gastric cancer (C16.9), no breast cancer, no HER2 result: B3 silent (revision 2).",
        hx("labels", "icd10cm"),
        "order-sign",
        [who, cond(pid, "gastric", C16_9, "2025-10-01")],
        [],
        [("rule_B3", "B3", "silent")],
        drafts=tras,
    )
    add(
        "b3-draft-for-another-patient",
        "Hygiene: the trastuzumab draft names another patient as subject: ignored, B3 silent.",
        hx("labels"),
        "order-sign",
        [who, breast, ihc1],
        [],
        [("rule_B3", "B3", "silent")],
        drafts=drafts_of(draft("someone-else", "draft-trastuzumab", TRASTUZUMAB)),
    )


# ================================================================================================
# P1 — palliative care; hospice counts
# ================================================================================================


def p1_cases() -> None:
    pid = "cscc-palliative"
    who = person(pid, gender="male", birth="1940-11-11")
    disease = [cond(pid, "cscc-neck", C44_42, "2025-06-10"), cond(pid, "nodes-neck", C77_0, "2026-01-05")]
    add(
        "p1-hospice-encounter-recent",
        "Metastatic cSCC; a finished hospice admission Encounter (SNOMED CT 305336008, VSAC Hospice Encounter) 40 "
        "days ago: hospice counts as palliative care (P1 row, revision 2): P1 silent; S1 fires.",
        hx("vsac-hospice", "uscore-delivery"),
        "patient-view",
        [
            who,
            *disease,
            encounter(pid, "hospice-admission", HOSPICE_ADMISSION, start="2026-01-20", end="2026-01-21", klass="IMP"),
        ],
        ["S1"],
        [("rule_P1", "P1", "silent")],
    )
    add(
        "p1-hospice-episode-of-care",
        "An active EpisodeOfCare of type hospice care (385763009) since February: P1 silent; S1.",
        hx("vsac-hospice"),
        "patient-view",
        [who, *disease, episode_of_care(pid, "hospice-episode", HOSPICE_CARE, start="2026-02-01")],
        ["S1"],
        [("rule_P1", "P1", "silent")],
    )
    add(
        "p1-hospice-referral-active",
        "An active referral to hospice (SNOMED CT 306205009, VSAC Hospice Care Referral or Admission): P1 silent; S1.",
        hx("vsac-hospice", "uscore-sr"),
        "patient-view",
        [
            who,
            *disease,
            service_request(pid, "hospice-referral", HOSPICE_REFERRAL, authored="2026-02-15", reason="cscc-neck"),
        ],
        ["S1"],
        [("rule_P1", "P1", "silent")],
    )
    add(
        "p1-seen-in-hospice-ongoing",
        "An in-progress Encounter 'Seen in hospice' (305911006) that started five months ago: ongoing care counts, "
        "P1 silent; S1.",
        hx("vsac-hospice"),
        "patient-view",
        [
            who,
            *disease,
            encounter(pid, "hospice-visit", HOSPICE_SEEN, status="in-progress", start="2025-10-01", klass="HH"),
        ],
        ["S1"],
        [("rule_P1", "P1", "silent")],
    )
    add(
        "p1-hospice-episode-finished-long-ago",
        "A hospice EpisodeOfCare that finished in June 2025 (more than 90 days ago): P1 and S1 fire.",
        hx("vsac-hospice"),
        "patient-view",
        [
            who,
            *disease,
            {
                **episode_of_care(pid, "hospice-episode", HOSPICE_CARE, status="finished", start="2025-03-01"),
                "period": {"start": "2025-03-01", "end": "2025-06-30"},
            },
        ],
        ["P1", "S1"],
        [("rule_P1", "P1", "fires")],
    )
    add(
        "p1-palliative-encounter-cancelled",
        "Hygiene: a palliative-care Encounter last month was cancelled: it does not count, P1 and S1 fire.",
        hx("vsac-palliative"),
        "patient-view",
        [who, *disease, encounter(pid, "palliative-visit", PALLIATIVE_SEEN, status="cancelled", start="2026-02-10")],
        ["P1", "S1"],
        [("rule_P1", "P1", "fires")],
    )
    add(
        "p1-palliative-referral-revoked",
        "A palliative-care referral (306237005) was revoked: nothing pending, P1 and S1 fire.",
        hx("uscore-sr", "vsac-palliative"),
        "patient-view",
        [
            who,
            *disease,
            service_request(pid, "palliative-referral", PALLIATIVE_REFERRAL, status="revoked", authored="2026-02-01"),
        ],
        ["P1", "S1"],
        [("pending_orders", "P1", "fires")],
    )
    add(
        "p1-palliative-referral-pending",
        "A palliative-care referral is active (pending): not suggested again, P1 silent; S1.",
        hx("uscore-sr", "vsac-palliative"),
        "patient-view",
        [
            who,
            *disease,
            service_request(pid, "palliative-referral", PALLIATIVE_REFERRAL, status="active", authored="2025-10-01"),
        ],
        ["S1"],
        [("pending_orders", "P1", "silent")],
    )
    add(
        "p1-oid-palliative-encounter",
        "A palliative-care Encounter 20 days ago whose type is under the SNOMED CT OID: P1 silent; S1.",
        hx("epic-oid", "vsac-palliative"),
        "patient-view",
        [who, *disease, encounter(pid, "palliative-visit", oid(PALLIATIVE_SEEN), start="2026-02-09")],
        ["S1"],
        [("code_systems", "P1", "silent")],
    )


# ================================================================================================
# the manifest
# ================================================================================================

RULES = ["T1", "T2", "T3", "S1", "S2", "S3", "M1", "M2", "M3", "K1", "N1", "B1", "B2", "B3", "P1"]
CHANGED = ["T1", "T2", "T3", "S1", "S2", "S3", "K1", "N1", "B1", "B2", "B3", "P1"]  # rows changed in revision 2
GENERIC = [
    "abatement",
    "deceased",
    "code_systems",
    "hierarchies",
    "history_recurrence",
    "metastasis_attribution",
    "tumour_dedup",
    "product_form",
    "medication_reference",
    "narrative_results",
    "panels",
    "pending_orders",
]
S3_NA = "S3 fires on every vismodegib/sonidegib order; conditions and results only choose its variant (see S3:pregnant)"
M2_NA = (
    "M2 fires on every BRAF/MEK order without a documented V600E/K; the melanoma record only chooses its variant "
    "(see M2:no_condition)"
)
NA = {
    "abatement": {"S3": S3_NA, "M2": M2_NA},
    "code_systems": {"S3": S3_NA},
    "hierarchies": {"S3": S3_NA, "M2": M2_NA},
    "history_recurrence": {
        "T1": "T1 asks for an active cSCC, not for metastatic disease, and no ICD-10-CM history code names cSCC",
        "T2": "no ICD-10-CM personal-history code names cSCC (Z85.828 is 'other malignant neoplasm of skin', SCC or "
        "BCC alike); see p1-history-z85-828-with-nodes",
        "T3": "T3 reads transplant status, not cancer history",
        "S1": "no ICD-10-CM personal-history code names cSCC: Z85.828 + secondary is metastatic skin cancer of unknown "
        "type (P1 fires, S1 and S2 do not: p1-history-z85-828-with-nodes)",
        "S2": "no ICD-10-CM personal-history code names BCC (Z85.828 covers SCC and BCC alike): see "
        "p1-history-z85-828-with-nodes",
        "S3": "S3 reads no cancer history",
        "M2": M2_NA,
    },
    "metastasis_attribution": {
        "T1": "T1 asks whether an active cSCC exists, not where a metastasis belongs",
        "T3": "T3 reads transplant status and the order, no metastases",
        "S3": "S3 reads the order and pregnancy, no metastases",
        "M2": "M2 reads the BRAF result and whether a melanoma is recorded, not metastases",
        "B3": "B3 asks whether breast cancer exists and reads HER2, not metastases",
    },
    "tumour_dedup": {
        "T1": "T1 asks whether any active cSCC exists; the number of tumours never matters",
        "T3": "T3 reads transplant status and the order",
        "S3": "S3 reads the order and pregnancy",
        "M2": "M2 asks only whether a melanoma is recorded, not how many",
        "N1": "N1 asks whether a NET and a skin lesion exist and is exempt from attribution; counting never matters",
        "B3": "B3 asks only whether breast cancer exists",
        "P1": "P1 fires for the patient's metastatic skin disease whether one or several tumours are recorded",
    },
    "product_form": {
        r: "the drugs this rule reads have no topical or ophthalmic form whose ingredient code could be mistaken"
        for r in ["T3", "S1", "S2", "S3", "M2", "M3", "K1", "B2", "B3"]
    }
    | {r: "the rule reads no medications" for r in ["M1", "N1", "B1", "P1"]},
    "medication_reference": {r: "the rule reads no medications" for r in ["M1", "N1", "B1", "P1"]},
    "narrative_results": {r: "the rule reads no results" for r in ["T1", "T2", "T3", "S1", "S2", "K1", "N1", "P1"]}
    | {"S3": S3_NA},
    "panels": {r: "the rule reads no results" for r in ["T1", "T2", "T3", "S1", "S2", "K1", "N1", "P1"]}
    | {"S3": S3_NA},
    "pending_orders": {
        "T2": "T2's row names no pending order that silences it; a pending referral only removes its suggestion, which "
        "the fired-rule set does not show",
        "T3": "T3 suggests no test or referral",
        "S1": "S1 suggests no test",
        "S2": "S2 suggests no test",
        "S3": "S3 suggests no test",
        "M3": "M3 suggests no test",
        "K1": "K1 suggests no test",
        "N1": "N1 suggests no order",
        "B1": "B1's row silences it only on results after the onset; a pending re-test only removes its suggestions, "
        "which the fired-rule set does not show",
        "B2": "B2 suggests no test",
        "B3": "B3 fires on the order itself; a pending HER2 re-test only removes its 'Re-test HER2' suggestion, which "
        "the fired-rule set does not show",
    },
}


def manifest() -> Json:
    points: Json = {}
    for point in GENERIC + [f"rule_{r}" for r in CHANGED]:
        cells = CELLS.get(point, {})
        rules = RULES if point in GENERIC else [point.removeprefix("rule_")]
        found: Json = {}
        for rule in rules:
            if rule in cells:
                found[rule] = {k: sorted(set(v)) for k, v in cells[rule].items()}
            elif rule in NA.get(point, {}):
                found[rule] = {"na": NA[point][rule]}
        for key in sorted(k for k in cells if k not in found):  # variant cells and extra rules
            found[key] = {k: sorted(set(v)) for k, v in cells[key].items()}
        points[point] = found
    return {"points": points}


def main() -> None:
    t1_cases()
    order_deceased_cases()
    t2_cases()
    t3_cases()
    s1_cases()
    s2_cases()
    s3_cases()
    melanoma_cases()
    merkel_cases()
    net_cases()
    breast_cases()
    p1_cases()
    out = HERE / "cases"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for case in CASES:
        (out / f"{case['id']}.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    header = (
        "# Revision-2 point x rule: the cases where the rule must fire and where it must not.\n"
        "# Written by tests/corpus/make_cases.py; checked by tests/test_corpus.py::test_manifest_has_no_gap.\n"
        "# A cell is {fires: [...], silent: [...]} or {na: reason}; keys RULE:variant are extra cells for a variant.\n"
    )
    text = yaml.safe_dump(manifest(), sort_keys=False, width=120, allow_unicode=True)
    (HERE / "manifest.yaml").write_text(header + text, encoding="utf-8")
    write_source_index()
    print(f"{len(CASES)} cases")


SOURCE_TITLES = {
    "uscore-encdx": "US Core Condition encounter-diagnosis-example1",
    "uscore-abated": "US Core Condition condition-duodenal-ulcer-res (abatementDateTime)",
    "uscore-mr-ref": "US Core MedicationRequest medicationrequest-referenced-oral-axid",
    "uscore-mr-contained": "US Core MedicationRequest medicationrequest-contained-oral-axid",
    "uscore-deceased": "US Core Patient deceased-example",
    "uscore-patient": "US Core Patient example",
    "uscore-delivery": "US Core Encounter delivery",
    "uscore-sr": "US Core ServiceRequest servicerequest-cbc",
    "fhir-searchset": "FHIR R4 Bundle bundle-example (searchset with _include)",
    "epic-include": "Epic MedicationRequest search with _include'd Medication",
    "epic-oid": "Epic R4 Condition with ICD-10-CM under its OID",
    "fhir-routes": "FHIR value set SNOMED CT Route Codes",
    "cerner-condition": "Oracle Health R4 Condition examples",
    "cerner-medreq": "Oracle Health R4 MedicationRequest examples",
    "mcode-secondary": "mCODE secondary-cancer-condition-brain-mets",
    "mcode-variant": "mCODE gx-genomic-variant-pertinent-negative-nras-kit-braf",
    "mcode-her2": "mCODE tumor-marker-test-her2-jenny-m",
    "mcode-staging": "mCODE TNM staging (stage.assessment, hasMember)",
    "gr-variant": "genomics-reporting oncology diagnostic variant (BRAF V600E)",
    "gr-chgvs": "genomics-reporting c.HGVS examples",
    "pdex-formulary": "Da Vinci PDex formulary FormularyDrug-284520",
    "vsac-cancer": "VSAC All Primary and Secondary Cancer",
    "vsac-hospice": "VSAC hospice value sets",
    "vsac-pregnancy": "VSAC pregnancy, pregnancy test and delivery value sets",
    "vsac-palliative": "VSAC Palliative Care Encounter",
    "icd10cm": "ICD-10-CM April 2026 (simple-icd-10-cm 1.5.0, shared leaf lists)",
    "codes": "shared/clinical/codes_verified.csv",
    "rules": "shared/clinical/rules.md (quoted result texts)",
    "fixture": "repository demo patients (fixtures/fhir)",
    "labels": "FDA labels (drug and brand names)",
}


def write_source_index() -> None:
    readme = HERE / "README.md"
    start, end = "<!-- generated by make_cases.py: cases by source -->", "<!-- end of generated list -->"
    text = readme.read_text(encoding="utf-8")
    lines = [start, ""]
    for key, note in S.items():
        ids = [c["id"] for c in CASES if note in c["sources"]]
        lines.append(f"- **{SOURCE_TITLES[key]}** ({len(ids)}): " + ", ".join(f"`{i}`" for i in ids))
    lines += ["", end]
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    readme.write_text(head + "\n".join(lines) + tail, encoding="utf-8")


if __name__ == "__main__":
    main()
