"""The demo patients of fixtures/fhir/ (a FHIR R4 Bundle per patient, and the README), generated from definitions here.

    python scripts/make_fixtures.py            # rewrite fixtures/fhir/*.json and fixtures/fhir/README.md
    python scripts/make_fixtures.py --check    # write nothing; exit 1 naming each file that differs

The Bundles are hundreds of lines of JSON that repeat the same Condition and Observation
boilerplate; a patient is easier to read, review and change as a dozen builder calls. The JSON
files stay committed because the sandbox, `cdshooks call` and the tests read them directly, so
`--check` (run by tests/test_fixtures.py) keeps them equal to what this script generates.

Every demo patient can be loaded into one FHIR server (the sandbox's `/sandbox/fhir` serves them all
from one store), so a resource id or an entry fullUrl used by two patients would make one overwrite
the other. The generator refuses to write when that happens and names both patients.

Vendored mCODE examples (fixtures/fhir/mcode/) are read from their files at generation time and only
re-pointed at the demo patient, so the fixtures embed them exactly as published.

Standard library only, so it runs without the project's virtual environment.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures" / "fhir"
MCODE = FIXTURES / "mcode"

Json = dict[str, Any]

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
LOINC = "http://loinc.org"
HGNC = "http://www.genenames.org"
HGVS = "http://varnomen.hgvs.org"
TERMINOLOGY = "http://terminology.hl7.org/CodeSystem"
CONDITION_RELATED = "http://hl7.org/fhir/StructureDefinition/condition-related"

README_HEAD = """# Demo patients (FHIR R4 Bundles)

Synthetic patients for the sandbox page, `cdshooks call` and the tests. Every file is a
`collection` Bundle holding one Patient and that patient's data.
"""


class FixtureError(ValueError):
    """The definitions below cannot be written as they are (e.g. two patients share a resource id)."""


@dataclass(frozen=True)
class Demo:
    """One demo patient: its file name (without `.json`), its README description and its resources.

    The Patient comes first; the Bundle keeps the resources in this order.
    """

    name: str
    about: str
    resources: tuple[Json, ...]

    @property
    def patient_id(self) -> str:
        return next(r["id"] for r in self.resources if r["resourceType"] == "Patient")


# --- data types --------------------------------------------------------------


def coding(system: str, code: str, display: str) -> Json:
    return {"system": system, "code": code, "display": display}


def concept(*codings: Json, text: str | None = None) -> Json:
    """A CodeableConcept; `coding` and `text` are left out when not given, as in the fixtures."""
    result: Json = {}
    if codings:
        result["coding"] = list(codings)
    if text is not None:
        result["text"] = text
    return result


def sct(code: str, display: str) -> Json:
    return coding(SNOMED, code, display)


def icd(code: str, display: str) -> Json:
    return coding(ICD10CM, code, display)


def loinc(code: str, display: str) -> Json:
    return coding(LOINC, code, display)


def drug(rxcui: str, name: str) -> Json:
    """A medication coded in RxNorm with the ingredient name as text."""
    return concept(coding(RXNORM, rxcui, name), text=name)


def ref(kind: str, rid: str) -> Json:
    return {"reference": f"{kind}/{rid}"}


def status(kind: str, code: str) -> Json:
    """A status CodeableConcept from the HL7 terminology (`condition-clinical`, `condition-ver-status`, ...)."""
    return {"coding": [{"system": f"{TERMINOLOGY}/{kind}", "code": code}]}


# --- resources ---------------------------------------------------------------
# Keys are inserted in the order the fixtures have always had, since the files are compared byte for byte.


def patient(pid: str, given: str, family: str, gender: str, birth: str) -> Json:
    return {
        "resourceType": "Patient",
        "id": pid,
        "name": [{"given": [given], "family": family}],
        "gender": gender,
        "birthDate": birth,
    }


def condition(pid: str, cid: str, code: Json, onset: str, *, related: str | None = None) -> Json:
    """An active, confirmed problem-list Condition; `related` links a secondary to its primary Condition."""
    resource: Json = {
        "resourceType": "Condition",
        "id": cid,
        "clinicalStatus": status("condition-clinical", "active"),
        "verificationStatus": status("condition-ver-status", "confirmed"),
        "category": [status("condition-category", "problem-list-item")],
        "code": code,
        "subject": ref("Patient", pid),
        "onsetDateTime": onset,
    }
    if related:
        resource["extension"] = [{"url": CONDITION_RELATED, "valueReference": ref("Condition", related)}]
    return resource


def med_request(pid: str, mid: str, medication: Json, authored: str, *, state: str = "active") -> Json:
    return {
        "resourceType": "MedicationRequest",
        "id": mid,
        "status": state,
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": ref("Patient", pid),
        "authoredOn": authored,
    }


def observation(
    pid: str, oid: str, code: Json, effective: str, value: Json, *, components: Iterable[tuple[Json, Json]] = ()
) -> Json:
    """A final laboratory Observation with a CodeableConcept value (and component values, if any)."""
    resource: Json = {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "category": [status("observation-category", "laboratory")],
        "code": code,
        "subject": ref("Patient", pid),
        "effectiveDateTime": effective,
        "valueCodeableConcept": value,
    }
    parts = [{"code": c, "valueCodeableConcept": v} for c, v in components]
    if parts:
        resource["component"] = parts
    return resource


def procedure(pid: str, prid: str, code: Json, performed: str) -> Json:
    return {
        "resourceType": "Procedure",
        "id": prid,
        "status": "completed",
        "code": code,
        "subject": ref("Patient", pid),
        "performedDateTime": performed,
    }


def service_request(pid: str, sid: str, code: Json, authored: str, *, state: str = "active") -> Json:
    return {
        "resourceType": "ServiceRequest",
        "id": sid,
        "status": state,
        "intent": "order",
        "code": code,
        "subject": ref("Patient", pid),
        "authoredOn": authored,
    }


def mcode_example(name: str, pid: str, folder: Path = MCODE) -> Json:
    """A vendored mCODE example as published, with only its `subject` pointed at our patient.

    Read from the file rather than retyped, so the fixture cannot drift from the vendored example.
    """
    resource = json.loads((folder / f"{name}.json").read_text(encoding="utf-8"))
    resource["subject"] = ref("Patient", pid)
    return resource


# --- the demo patients, in README order ---------------------------------------


def transplant_cscc() -> Demo:
    p = "tx-cscc"
    return Demo(
        "transplant-cscc",
        "kidney transplant (ICD-10-CM Z94.0) with active cutaneous SCC on tacrolimus: ordering tacrolimus, "
        "cyclosporine, azathioprine or mycophenolate fires T1 (consider sirolimus); ordering pembrolizumab fires T3 "
        "(graft rejection risk).",
        (
            patient(p, "Alex", "Moreau", "male", "1961-04-02"),
            condition(
                p,
                "kidney-tx-status",
                concept(icd("Z94.0", "Kidney transplant status"), text="Kidney transplant status"),
                "2014-06-01",
            ),
            condition(
                p,
                "cscc-scalp",
                concept(
                    sct("254651007", "Squamous cell carcinoma of skin (disorder)"),
                    icd("C44.42", "Squamous cell carcinoma of skin of scalp and neck"),
                    text="Cutaneous squamous cell carcinoma, scalp",
                ),
                "2025-09-15",
            ),
            med_request(p, "tacrolimus-current", drug("42316", "tacrolimus"), "2025-01-10"),
        ),
    )


def transplant_cscc_metastatic() -> Demo:
    p = "tx-cscc-met"
    return Demo(
        "transplant-cscc-metastatic",
        "kidney transplant (procedure 70536003), cutaneous SCC with metastatic SCC, on tacrolimus and mycophenolate: "
        "patient-view fires T2 (review immunosuppression, transplant-team referral) and P1 (palliative care).",
        (
            patient(p, "Brigitte", "Lang", "female", "1958-11-20"),
            procedure(
                p, "kidney-transplant", concept(sct("70536003", "Transplant of kidney (procedure)")), "2012-03-14"
            ),
            condition(
                p,
                "cscc-cheek",
                concept(
                    sct("254651007", "Squamous cell carcinoma of skin (disorder)"), text="Cutaneous SCC, left cheek"
                ),
                "2024-02-01",
            ),
            condition(
                p,
                "met-scc",
                concept(
                    sct("403906006", "Metastatic squamous cell carcinoma (disorder)"),
                    text="Metastatic cSCC to cervical nodes",
                ),
                "2025-08-20",
            ),
            med_request(p, "tacrolimus-current-met", drug("42316", "tacrolimus"), "2025-01-10"),
            med_request(p, "mmf-current", drug("68149", "mycophenolate mofetil"), "2025-01-10"),
        ),
    )


def transplant_cscc_on_sirolimus() -> Demo:
    p = "tx-cscc-sirolimus"
    return Demo(
        "transplant-cscc-on-sirolimus",
        "renal transplant with cutaneous SCC, already converted to sirolimus (tacrolimus stopped): "
        "T1 and T2 stay silent.",
        (
            patient(p, "Carlos", "Vidal", "male", "1966-07-09"),
            condition(
                p,
                "kidney-tx-status-sirolimus",
                concept(
                    sct("161665007", "History of renal transplant (situation)"), text="History of renal transplant"
                ),
                "2010-01-01",
            ),
            condition(
                p,
                "cscc-hand",
                concept(
                    sct("254651007", "Squamous cell carcinoma of skin (disorder)"), text="Cutaneous SCC, right hand"
                ),
                "2025-05-05",
            ),
            med_request(p, "sirolimus-current", drug("35302", "sirolimus"), "2025-01-10"),
            med_request(p, "tacrolimus-stopped", drug("42316", "tacrolimus"), "2019-01-01", state="stopped"),
        ),
    )


def corneal_transplant_cscc() -> Demo:
    p = "cornea-cscc"
    return Demo(
        "corneal-transplant-cscc",
        "corneal transplant (Z94.7, not a solid organ) with cutaneous SCC on tacrolimus: T1 and T2 stay silent.",
        (
            patient(p, "Dana", "Okafor", "female", "1970-02-17"),
            condition(
                p,
                "cornea-tx-status",
                concept(icd("Z94.7", "Corneal transplant status"), text="Corneal transplant status"),
                "2018-09-01",
            ),
            condition(
                p,
                "cscc-arm",
                concept(
                    icd("C44.622", "Squamous cell carcinoma of skin of right upper limb, including shoulder"),
                    text="Cutaneous SCC, right arm",
                ),
                "2025-03-03",
            ),
            med_request(p, "tacrolimus-current-cornea", drug("42316", "tacrolimus"), "2025-01-10"),
        ),
    )


def cscc_metastatic() -> Demo:
    p = "cscc-met"
    return Demo(
        "cscc-metastatic",
        "cutaneous SCC of the neck with cervical nodal metastases, coded in ICD-10-CM (C44.42 + C77.0): "
        "patient-view fires S1 (PD-1 inhibitor first line) and P1.",
        (
            patient(p, "Henri", "Laurent", "male", "1948-11-03"),
            condition(
                p,
                "cscc-neck",
                concept(icd("C44.42", "Squamous cell carcinoma of skin of scalp and neck"), text="Cutaneous SCC, neck"),
                "2024-10-02",
            ),
            condition(
                p,
                "nodes-neck",
                concept(
                    icd("C77.0", "Secondary and unspecified malignant neoplasm of lymph nodes of head, face and neck"),
                    text="Cervical nodal metastases of cSCC",
                ),
                "2025-11-20",
                related="cscc-neck",
            ),
            med_request(p, "amlodipine", concept(text="amlodipine 5 mg tablet"), "2025-06-01"),
        ),
    )


def bcc_metastatic() -> Demo:
    p = "bcc-met"
    return Demo(
        "bcc-metastatic",
        "metastatic basal cell carcinoma (SNOMED 402537005), never on a hedgehog inhibitor: patient-view fires S2 "
        "(hedgehog inhibitor) and P1; ordering vismodegib or sonidegib fires S3 (embryo-fetal toxicity).",
        (
            patient(p, "Greta", "Lindqvist", "female", "1951-02-17"),
            condition(
                p,
                "bcc-back",
                concept(sct("254701007", "Basal cell carcinoma of skin (disorder)"), text="Basal cell carcinoma, back"),
                "2019-05-10",
            ),
            condition(
                p,
                "bcc-met-lung",
                concept(sct("402537005", "Metastatic basal cell carcinoma (disorder)"), text="Metastatic BCC (lung)"),
                "2025-10-01",
            ),
            med_request(p, "amlodipine-bcc", concept(text="amlodipine 5 mg tablet"), "2024-03-01"),
        ),
    )


def melanoma_untested() -> Demo:
    p = "mel-untested"
    return Demo(
        "melanoma-untested",
        "metastatic melanoma (SNOMED 443493003), no BRAF result, an earlier BRAF order revoked: patient-view fires "
        "M1 (test BRAF) and P1; ordering dabrafenib fires M1 and M2 (warning).",
        (
            patient(p, "Tomás", "Ferreira", "male", "1970-07-21"),
            condition(
                p,
                "mel-met",
                concept(
                    sct("443493003", "Metastatic malignant melanoma (disorder)"),
                    text="Metastatic melanoma (lung, liver)",
                ),
                "2026-01-12",
            ),
            service_request(
                p,
                "braf-cancelled",
                concept(
                    loinc(
                        "53844-7",
                        "BRAF gene targeted mutation analysis in Blood or Tissue by Molecular genetics method",
                    )
                ),
                "2026-01-14",
                state="revoked",
            ),
        ),
    )


def melanoma_braf_v600e() -> Demo:
    p = "mel-v600e"
    return Demo(
        "melanoma-braf-v600e",
        "melanoma (C43.59) with liver metastases, BRAF `NP_004324.2:p.Val600Glu` present, palliative-care referral "
        "open: patient-view fires M3 only; ordering dabrafenib fires nothing.",
        (
            patient(p, "Ingrid", "Solberg", "female", "1966-03-09"),
            condition(
                p,
                "mel-trunk",
                concept(icd("C43.59", "Malignant melanoma of other part of trunk"), text="Melanoma, back"),
                "2023-04-02",
            ),
            condition(
                p,
                "liver-mets",
                concept(
                    icd("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
                    text="Liver metastases of melanoma",
                ),
                "2026-01-20",
                related="mel-trunk",
            ),
            observation(
                p,
                "braf-variant",
                concept(loinc("69548-6", "Genetic variant assessment")),
                "2026-02-02",
                concept(loinc("LA9633-4", "Present")),
                components=[
                    (concept(loinc("48018-6", "Gene studied [ID]")), concept(coding(HGNC, "HGNC:1097", "BRAF"))),
                    (
                        concept(loinc("48005-3", "Amino acid change (pHGVS)")),
                        concept(coding(HGVS, "NP_004324.2:p.Val600Glu", "p.(Val600Glu)")),
                    ),
                ],
            ),
            service_request(
                p,
                "palliative-referral",
                concept(sct("306237005", "Referral to palliative care service (procedure)")),
                "2026-02-05",
            ),
        ),
    )


def melanoma_braf_wildtype() -> Demo:
    p = "mel-wt"
    return Demo(
        "melanoma-braf-wildtype",
        "melanoma metastatic to skin with the mCODE pertinent-negative NRAS/KIT/BRAF variant example: patient-view "
        "fires P1; ordering dabrafenib fires M2 (critical, wild-type).",
        (
            patient(p, "Amara", "Okafor", "female", "1975-12-30"),
            condition(
                p,
                "mel-skin-mets",
                concept(
                    sct("1197324006", "Metastatic malignant melanoma to skin (disorder)"),
                    text="In-transit and skin metastases of melanoma",
                ),
                "2025-12-01",
            ),
            mcode_example("Observation-gx-genomic-variant-pertinent-negative-nras-kit-braf", p),
        ),
    )


def merkel_metastatic() -> Demo:
    p = "merkel-met"
    return Demo(
        "merkel-metastatic",
        "Merkel cell carcinoma with nodal metastases, pembrolizumab completed: patient-view fires K1 "
        "(PD-1/PD-L1 therapy) and P1.",
        (
            patient(p, "Walter", "Brandt", "male", "1944-08-14"),
            condition(
                p,
                "mcc-cheek",
                concept(
                    sct("253001006", "Merkel cell carcinoma (disorder)"),
                    icd("C4A.39", "Merkel cell carcinoma of other parts of face"),
                    text="Merkel cell carcinoma, cheek",
                ),
                "2025-07-01",
            ),
            condition(
                p,
                "mcc-nodes",
                concept(
                    icd("C77.0", "Secondary and unspecified malignant neoplasm of lymph nodes of head, face and neck"),
                    text="Cervical nodal metastases",
                ),
                "2026-01-05",
            ),
            med_request(p, "pembro-completed", concept(text="pembrolizumab"), "2025-08-01", state="completed"),
        ),
    )


def transplant_merkel() -> Demo:
    p = "tx-merkel"
    return Demo(
        "transplant-merkel",
        "kidney transplant recipient with secondary Merkel cell carcinoma (C7B.1): patient-view fires P1 only "
        "(no K1 for transplant recipients); ordering avelumab or pembrolizumab fires T3.",
        (
            patient(p, "Paolo", "Conti", "male", "1958-01-25"),
            condition(
                p,
                "kidney-tx",
                concept(icd("Z94.0", "Kidney transplant status"), text="Kidney transplant status"),
                "2010-09-01",
            ),
            condition(
                p,
                "mcc-nose",
                concept(icd("C4A.31", "Merkel cell carcinoma of nose"), text="Merkel cell carcinoma, nose"),
                "2025-10-01",
            ),
            condition(
                p,
                "mcc-secondary",
                concept(
                    icd("C7B.1", "Secondary Merkel cell carcinoma"), text="Secondary Merkel cell carcinoma (nodes)"
                ),
                "2026-01-10",
            ),
            med_request(p, "tacrolimus", drug("42316", "tacrolimus"), "2025-06-01"),
        ),
    )


def net_skin_lesion() -> Demo:
    p = "net-skin"
    return Demo(
        "net-skin-lesion",
        "ileal neuroendocrine tumour and a skin secondary (C79.2) not linked to a primary: patient-view fires N1 "
        "(Merkel cell carcinoma or NET metastasis?) and P1.",
        (
            patient(p, "Sofia", "Marino", "female", "1962-05-05"),
            condition(
                p,
                "net-ileum",
                concept(icd("C7A.012", "Malignant carcinoid tumor of the ileum"), text="Ileal neuroendocrine tumour"),
                "2022-03-01",
            ),
            condition(
                p,
                "skin-secondary",
                concept(
                    icd("C79.2", "Secondary malignant neoplasm of skin"),
                    text="Skin nodule, neuroendocrine carcinoma on biopsy",
                ),
                "2026-01-28",
            ),
        ),
    )


def breast_skin_metastasis() -> Demo:
    p = "breast-skin"
    return Demo(
        "breast-skin-metastasis",
        "breast cancer with a new chest-wall skin metastasis, ER/PR/HER2 only from 2021 (HER2 IHC 1+): patient-view "
        "fires B1 (biopsy, re-test receptors) and P1; ordering trastuzumab fires B3, trastuzumab deruxtecan does not "
        "(HER2-low).",
        (
            patient(p, "Claire", "Dubois", "female", "1969-09-19"),
            condition(
                p,
                "breast-left",
                concept(
                    icd("C50.912", "Malignant neoplasm of unspecified site of left female breast"),
                    text="Invasive ductal carcinoma, left breast",
                ),
                "2021-02-10",
            ),
            condition(
                p,
                "skin-met",
                concept(
                    sct("94579000", "Secondary malignant neoplasm of skin (disorder)"),
                    icd("C79.2", "Secondary malignant neoplasm of skin"),
                    text="Chest-wall skin metastasis",
                ),
                "2025-11-15",
                related="breast-left",
            ),
            observation(
                p,
                "er-2021",
                concept(loinc("85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain")),
                "2021-02-20",
                concept(loinc("LA6576-8", "Positive")),
            ),
            observation(
                p,
                "pr-2021",
                concept(
                    loinc("85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain")
                ),
                "2021-02-20",
                concept(loinc("LA6577-6", "Negative")),
            ),
            observation(
                p,
                "her2-ihc-2021",
                concept(loinc("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain")),
                "2021-02-20",
                concept(text="1+"),
            ),
            med_request(p, "letrozole", concept(text="letrozole 2.5 mg tablet"), "2025-06-01"),
        ),
    )


def breast_her2_positive() -> Demo:
    p = "breast-her2"
    return Demo(
        "breast-her2-positive",
        "breast cancer with liver metastases, HER2 IHC 2+ then ISH amplified, no HER2 therapy: patient-view fires "
        "B2; ordering trastuzumab fires nothing.",
        (
            patient(p, "Naomi", "Fischer", "female", "1974-04-11"),
            condition(
                p,
                "breast-right",
                concept(
                    sct("254837009", "Malignant neoplasm of breast (disorder)"),
                    icd("C50.411", "Malignant neoplasm of upper-outer quadrant of right female breast"),
                    text="Breast cancer, right",
                ),
                "2025-12-01",
            ),
            condition(
                p,
                "liver-mets-breast",
                concept(
                    icd("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct"),
                    text="Liver metastases",
                ),
                "2026-01-10",
                related="breast-right",
            ),
            observation(
                p,
                "her2-ihc",
                concept(loinc("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain")),
                "2026-01-15",
                concept(text="Equivocal (2+)"),
            ),
            observation(
                p,
                "her2-ish",
                concept(loinc("85318-4", "ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH")),
                "2026-01-19",
                concept(text="Amplified"),
            ),
        ),
    )


DEMOS: tuple[Callable[[], Demo], ...] = (
    transplant_cscc,
    transplant_cscc_metastatic,
    transplant_cscc_on_sirolimus,
    corneal_transplant_cscc,
    cscc_metastatic,
    bcc_metastatic,
    melanoma_untested,
    melanoma_braf_v600e,
    melanoma_braf_wildtype,
    merkel_metastatic,
    transplant_merkel,
    net_skin_lesion,
    breast_skin_metastasis,
    breast_her2_positive,
)


# --- output -------------------------------------------------------------------


def full_url(resource: Json) -> str:
    return f"urn:uuid:{resource['resourceType'].lower()}-{resource['id']}"


def bundle(demo: Demo) -> Json:
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": full_url(r), "resource": r} for r in demo.resources],
    }


def check_unique(demos: Iterable[Demo]) -> None:
    """Raise FixtureError if two demo patients share a (resourceType, id) or an entry fullUrl.

    Each Bundle is valid on its own, but the demo patients are also served together
    (the sandbox's FHIR endpoint, or a real server they are uploaded to), where a shared id means one
    patient's resource silently replaces the other's. A repeat within one patient is refused as well.
    """
    owners: dict[str, Demo] = {}
    for demo in demos:
        for resource in demo.resources:
            for key in (f"{resource['resourceType']}/{resource['id']}", f"fullUrl {full_url(resource)}"):
                first = owners.get(key)
                if first is demo:
                    raise FixtureError(f"{key} is used twice in {demo.name}.json (Patient/{demo.patient_id})")
                if first is not None:
                    raise FixtureError(
                        f"{key} is used by two demo patients: {first.name}.json (Patient/{first.patient_id}) "
                        f"and {demo.name}.json (Patient/{demo.patient_id})"
                    )
                owners[key] = demo


def render_json(data: Json) -> str:
    """The fixtures' format: two-space indent, non-ASCII kept as UTF-8 (e.g. `Tomás`), final newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def readme(demos: Iterable[Demo]) -> str:
    """The README; `cdshooks/sandbox/routes.py` reads each `- `name.json` — text` line as a patient's description."""
    lines = [f"- `{demo.name}.json` — {demo.about}" for demo in demos]
    return README_HEAD + "\n" + "\n".join(lines) + "\n"


def generate(folder: Path = FIXTURES) -> dict[Path, str]:
    """Every file this script writes, by path, with its text. Raises FixtureError on a shared id."""
    demos = [make() for make in DEMOS]
    check_unique(demos)
    files = {folder / f"{demo.name}.json": render_json(bundle(demo)) for demo in demos}
    files[folder / "README.md"] = readme(demos)
    return files


def differences(folder: Path = FIXTURES) -> list[str]:
    """Files under `folder` that differ from what `generate` produces: changed, missing, or not generated.

    A JSON file in the folder that no definition produces counts too, because the sandbox would
    serve it as a demo patient.
    """
    files = generate(folder)
    problems = []
    for path, text in files.items():
        if not path.exists():
            problems.append(f"{_shown(path)}: missing")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"{_shown(path)}: differs from what scripts/make_fixtures.py generates")
    for path in sorted(folder.glob("*.json")):
        if path not in files:
            problems.append(f"{_shown(path)}: not generated by scripts/make_fixtures.py")
    return problems


def _shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def write(folder: Path = FIXTURES) -> list[Path]:
    """Write every generated file (nothing at all if the definitions have a shared id)."""
    files = generate(folder)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8", newline="\n")
    return list(files)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the demo patients in fixtures/fhir/.")
    parser.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 naming each file that differs from the output"
    )
    args = parser.parse_args(argv)
    try:
        if args.check:
            problems = differences()
            for problem in problems:
                print(problem, file=sys.stderr)
            return 1 if problems else 0
        written = write()
    except FixtureError as exc:
        print(f"make_fixtures: {exc}; nothing written", file=sys.stderr)
        return 1
    print(f"wrote {len(written)} files in {_shown(FIXTURES)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
