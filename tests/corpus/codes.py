"""The codes the corpus uses, each from a source named in README.md.

Conditions, medications and results as CodeableConcepts. A drug without a verified
RxNorm code is written by name only (text), as EHRs often send it.
"""

from __future__ import annotations

from shapes import HGNC, HGNC_ID, HGVS, ICD, LNC, OID_ICD, OID_LNC, OID_RX, OID_SCT, RX, SCT, cc, coding


def icd(code: str, display: str, *, text: str | None = None, system: str = ICD) -> dict:
    return cc(coding(system, code, display), text=text or display)


def sct(code: str, display: str, *, text: str | None = None, system: str = SCT) -> dict:
    return cc(coding(system, code, display), text=text or display)


def both(sct_code: str, sct_display: str, icd_code: str, icd_display: str, text: str) -> dict:
    """SNOMED CT + ICD-10-CM on one concept, as US Core and Oracle Health examples carry them."""
    return cc(coding(SCT, sct_code, sct_display), coding(ICD, icd_code, icd_display), text=text)


# --- transplant (ICD-10-CM April 2026 via simple-icd-10-cm 1.5.0; SNOMED from codes_verified.csv)
Z94_0 = icd("Z94.0", "Kidney transplant status")
Z94_1 = icd("Z94.1", "Heart transplant status")
Z94_2 = icd("Z94.2", "Lung transplant status")
Z94_3 = icd("Z94.3", "Heart and lungs transplant status")
Z94_4 = icd("Z94.4", "Liver transplant status")
Z94_7 = icd("Z94.7", "Corneal transplant status")
Z94_81 = icd("Z94.81", "Bone marrow transplant status")
RENAL_TX_HX = sct("161665007", "History of renal transplant (situation)")
T86_10 = icd("T86.10", "Unspecified complication of kidney transplant")
T86_11 = icd("T86.11", "Kidney transplant rejection")
T86_12 = icd("T86.12", "Kidney transplant failure")
T86_21 = icd("T86.21", "Heart transplant rejection")
T86_31 = icd("T86.31", "Heart-lung transplant rejection")
T86_41 = icd("T86.41", "Liver transplant rejection")
T86_42 = icd("T86.42", "Liver transplant failure")
T86_810 = icd("T86.810", "Lung transplant rejection")
T86_851 = icd("T86.851", "Intestine transplant failure")
T86_01 = icd("T86.01", "Bone marrow transplant rejection")
T86_5 = icd("T86.5", "Complications of stem cell transplant")
T86_820 = icd("T86.820", "Skin graft (allograft) rejection")
T86_8401 = icd("T86.8401", "Corneal transplant rejection, right eye")
T86_1 = icd("T86.1", "Complications of kidney transplant")  # a category, not a leaf
KIDNEY_TX_PROC = sct("70536003", "Transplant of kidney (procedure)")
LIVER_TX_PROC = sct("18027006", "Transplantation of liver (procedure)")
HEART_TX_PROC = sct("32413006", "Transplantation of heart (procedure)")
LUNG_TX_PROC = sct("88039007", "Transplant of lung (procedure)")

# --- skin cancers
CSCC = sct("254651007", "Squamous cell carcinoma of skin (disorder)")
CSCC_SCALP = both(
    "254651007",
    "Squamous cell carcinoma of skin (disorder)",
    "C44.42",
    "Squamous cell carcinoma of skin of scalp and neck",
    "Squamous cell carcinoma of skin of scalp",
)
C44_42 = icd("C44.42", "Squamous cell carcinoma of skin of scalp and neck")
C44_622 = icd("C44.622", "Squamous cell carcinoma of skin of right upper limb, including shoulder")
C44_320 = icd("C44.320", "Squamous cell carcinoma of skin of unspecified parts of face")
C44_40 = icd("C44.40", "Unspecified malignant neoplasm of skin of scalp and neck")
CSCC_CHEEK = sct(
    "285309005", "Squamous cell carcinoma of skin of cheek (disorder)"
)  # VSAC 2.16.840.1.113762.1.4.1111.161
CSCC_LIP = sct("285307007", "Squamous cell carcinoma of skin of upper lip (disorder)")
MET_SCC = sct("403906006", "Metastatic squamous cell carcinoma (disorder)")
MET_SCC_SKIN = sct("78461000119105", "Metastatic squamous cell carcinoma to skin (disorder)")
BCC = sct("254701007", "Basal cell carcinoma of skin (disorder)")
BCC_LIP = sct("402819001", "Basal cell carcinoma of skin of lip (disorder)")  # VSAC 2.16.840.1.113762.1.4.1111.161
C44_41 = icd("C44.41", "Basal cell carcinoma of skin of scalp and neck")
C44_91 = icd("C44.91", "Basal cell carcinoma of skin, unspecified")
MET_BCC = sct("402537005", "Metastatic basal cell carcinoma (disorder)")
MELANOMA = sct("372244006", "Malignant melanoma (disorder)")
C43_59 = icd("C43.59", "Malignant melanoma of other part of trunk")
C43_5 = icd("C43.5", "Malignant melanoma of trunk")  # a category, not a leaf
SSM = sct("254730000", "Superficial spreading malignant melanoma of skin (disorder)")  # VSAC ...1111.161
MET_MELANOMA = sct("443493003", "Metastatic malignant melanoma (disorder)")
MEL_TO_SKIN = sct("1197324006", "Metastatic malignant melanoma to skin (disorder)")
D03_59 = icd("D03.59", "Melanoma in situ of other part of trunk")
MERKEL = sct("253001006", "Merkel cell carcinoma (disorder)")
C4A_39 = icd("C4A.39", "Merkel cell carcinoma of other parts of face")
MERKEL_NECK = sct("133851000119107", "Merkel cell carcinoma of neck (disorder)")  # VSAC ...1111.161
C7B_1 = icd("C7B.1", "Secondary Merkel cell carcinoma")

# --- other primaries
C50_912 = icd("C50.912", "Malignant neoplasm of unspecified site of left female breast")
C50_411 = icd("C50.411", "Malignant neoplasm of upper-outer quadrant of right female breast")
C50_91 = icd("C50.91", "Malignant neoplasm of breast of unspecified site, female")  # a category
BREAST = sct("254837009", "Malignant neoplasm of breast (disorder)")
BREAST_UOQ = sct("188154003", "Malignant neoplasm of upper-outer quadrant of female breast (disorder)")  # VSAC
D05_11 = icd("D05.11", "Intraductal carcinoma in situ of right breast")
C34_11 = icd("C34.11", "Malignant neoplasm of upper lobe, right bronchus or lung")
C16_9 = icd("C16.9", "Malignant neoplasm of stomach, unspecified")
C7A_012 = icd("C7A.012", "Malignant carcinoid tumor of the ileum")
C7A_1 = icd("C7A.1", "Malignant poorly differentiated neuroendocrine tumors")
NET = sct("133531000119104", "Malignant neuroendocrine tumor (disorder)")
NEC = sct("253000007", "Neuroendocrine carcinoma (disorder)")
SCLC = sct("254632001", "Small cell carcinoma of lung (disorder)")  # VSAC ...1111.161
C7B_09 = icd("C7B.09", "Secondary carcinoid tumors of other sites")

# --- secondaries (icd10cm_valuesets_April2026.json secondary_C77_C79_leaves)
C77_0 = icd("C77.0", "Secondary and unspecified malignant neoplasm of lymph nodes of head, face and neck")
C78_01 = icd("C78.01", "Secondary malignant neoplasm of right lung")
C78_7 = icd("C78.7", "Secondary malignant neoplasm of liver and intrahepatic bile duct")
C79_51 = icd("C79.51", "Secondary malignant neoplasm of bone")
C79_2 = icd("C79.2", "Secondary malignant neoplasm of skin")
C79_89 = icd("C79.89", "Secondary malignant neoplasm of other specified sites")
SKIN_SECONDARY = sct("94579000", "Secondary malignant neoplasm of skin (disorder)")

# --- personal history (ICD-10-CM April 2026)
Z85_820 = icd("Z85.820", "Personal history of malignant melanoma of skin")
Z85_821 = icd("Z85.821", "Personal history of Merkel cell carcinoma")
Z85_828 = icd("Z85.828", "Personal history of other malignant neoplasm of skin")
Z85_3 = icd("Z85.3", "Personal history of malignant neoplasm of breast")
Z85_060 = icd("Z85.060", "Personal history of malignant carcinoid tumor of small intestine")

# --- pregnancy (Oracle Health R4 Condition example; VSAC Pregnancy 2.16.840.1.113883.3.526.3.378)
PREGNANT = cc(coding(SCT, "77386006", "Patient currently pregnant (finding)", selected=True), text="Pregnant")
PREGNANT_URINE = sct("169560008", "Pregnant - urine test confirms (finding)")
Z33_1 = icd("Z33.1", "Pregnant state, incidental")
DELIVERY = sct(
    "177184002", "Normal delivery procedure (procedure)"
)  # US Core encounter-delivery; VSAC Delivery Procedures
HCG_URINE = cc(
    coding(LNC, "2106-3", "Choriogonadotropin (pregnancy test) [Presence] in Urine"), text="Urine pregnancy test"
)
HCG_SERUM = cc(
    coding(LNC, "2118-8", "Choriogonadotropin (pregnancy test) [Presence] in Serum or Plasma"),
    text="Serum hCG, qualitative",
)


# --- oids
def oid(concept: dict) -> dict:
    """The same concept with every coding's system written as its official OID (displays kept)."""
    systems = {SCT: OID_SCT, ICD: OID_ICD, RX: OID_RX, LNC: OID_LNC}
    found = {**concept, "coding": [{**c, "system": systems.get(c["system"], c["system"])} for c in concept["coding"]]}
    return found


def bare(concept: dict) -> dict:
    """Codings only: no text and no displays (only the code can be matched)."""
    return {"coding": [{"system": c["system"], "code": c["code"]} for c in concept["coding"]]}


# --- medications (RxNorm ingredient codes from codes_verified.csv)
def rx(code: str, name: str, text: str) -> dict:
    return cc(coding(RX, code, name), text=text)


def named(text: str) -> dict:
    return cc(text=text)


TACROLIMUS = rx("42316", "tacrolimus", "tacrolimus (PROGRAF) 1 mg capsule")
CYCLOSPORINE = rx("3008", "Cyclosporine", "cycloSPORINE modified (NEORAL) 100 mg capsule")
AZATHIOPRINE = rx("1256", "Azathioprine", "azaTHIOprine (IMURAN) 50 mg tablet")
MYCOPHENOLATE = rx("68149", "mycophenolate mofetil", "mycophenolate mofetil (CELLCEPT) 500 mg tablet")
SIROLIMUS = rx("35302", "sirolimus", "sirolimus (RAPAMUNE) 1 mg tablet")
EVEROLIMUS = rx("141704", "everolimus", "everolimus (ZORTRESS) 0.75 mg tablet")
PEMBROLIZUMAB = rx("1547545", "pembrolizumab", "pembrolizumab (KEYTRUDA) 100 mg/4 mL injection")
NIVOLUMAB = rx("1597876", "nivolumab", "nivolumab (OPDIVO) 240 mg/24 mL injection")
DABRAFENIB = rx("1424911", "dabrafenib", "dabrafenib (TAFINLAR) 75 mg capsule")
TRAMETINIB = rx("1425098", "trametinib", "trametinib (MEKINIST) 2 mg tablet")
TRASTUZUMAB = rx("224905", "trastuzumab", "trastuzumab (HERCEPTIN) 150 mg injection")
# RxNorm SBD 284520 and SBDFP 1182458 from HL7 Da Vinci PDex formulary example FormularyDrug-284520.
TACROLIMUS_OINTMENT = cc(
    coding(RX, "42316", "tacrolimus"),
    coding(RX, "284520", "tacrolimus 0.001 MG/MG Topical Ointment [Protopic]"),
    text="Protopic 0.1 % topical ointment",
)
CYCLOSPORINE_EYE = cc(coding(RX, "3008", "Cyclosporine"), text="RESTASIS (cycloSPORINE) 0.05 % ophthalmic emulsion")
SIROLIMUS_GEL = cc(coding(RX, "35302", "sirolimus"), text="HYFTOR (sirolimus) 0.2 % topical gel")
CEMIPLIMAB = named("LIBTAYO (cemiplimab-rwlc) 350 mg/7 mL injection")
AVELUMAB = named("BAVENCIO (avelumab) 200 mg/10 mL injection")
VISMODEGIB = named("ERIVEDGE (vismodegib) 150 mg capsule")
SONIDEGIB = named("ODOMZO (sonidegib) 200 mg capsule")
ENCORAFENIB = named("BRAFTOVI (encorafenib) 75 mg capsule")
T_DXD = named("ENHERTU (fam-trastuzumab deruxtecan-nxki) 100 mg injection")
T_DM1 = named("KADCYLA (ado-trastuzumab emtansine) 100 mg injection")
TUCATINIB = named("TUKYSA (tucatinib) 150 mg tablet")
NERATINIB = named("NERLYNX (neratinib) 40 mg tablet")
LAPATINIB = named("TYKERB (lapatinib) 250 mg tablet")
MARGETUXIMAB = named("MARGENZA (margetuximab-cmkb) 250 mg/10 mL injection")
PHESGO = named("PHESGO (pertuzumab, trastuzumab, and hyaluronidase-zzxf) injection")
KANJINTI = named("KANJINTI (trastuzumab-anns) 420 mg injection")
LETROZOLE = named("letrozole 2.5 mg tablet")
AMLODIPINE = named("amLODIPine 5 mg tablet")
ONDANSETRON = named("ondansetron 8 mg tablet")
ICI = {
    "retifanlimab": named("ZYNYZ (retifanlimab-dlwr) 500 mg/20 mL injection"),
    "cosibelimab": named("UNLOXCYT (cosibelimab-ipdl) 300 mg/5 mL injection"),
    "opdivo-qvantig": named("OPDIVO QVANTIG (nivolumab and hyaluronidase-nvhy) subcutaneous injection"),
    "tecentriq-hybreza": named("TECENTRIQ HYBREZA (atezolizumab and hyaluronidase-tqjs) subcutaneous injection"),
    "keytruda-qlex": named("KEYTRUDA QLEX (pembrolizumab and berahyaluronidase alfa-pmph) subcutaneous injection"),
    "dostarlimab": named("JEMPERLI (dostarlimab-gxly) 500 mg/10 mL injection"),
    "toripalimab": named("LOQTORZI (toripalimab-tpzi) 240 mg/6 mL injection"),
    "tislelizumab": named("TEVIMBRA (tislelizumab-jsgr) 100 mg/10 mL injection"),
    "penpulimab": named("penpulimab-kcqx 100 mg/10 mL injection"),
    "atezolizumab": named("TECENTRIQ (atezolizumab) 1200 mg/20 mL injection"),
    "durvalumab": named("IMFINZI (durvalumab) 500 mg/10 mL injection"),
    "ipilimumab": named("YERVOY (ipilimumab) 50 mg/10 mL injection"),
    "tremelimumab": named("IMJUDO (tremelimumab-actl) 25 mg/1.25 mL injection"),
    "relatlimab": named("OPDUALAG (nivolumab and relatlimab-rmbw) injection"),
}


# --- results (LOINC and answers from codes_verified.csv)
def lnc(code: str, display: str, system: str = LNC) -> dict:
    return cc(coding(system, code, display))


HER2_IHC = lnc("85319-2", "HER2 [Presence] in Breast cancer specimen by Immune stain")
HER2_ISH = lnc("85318-4", "ERBB2 gene duplication [Presence] in Breast cancer specimen by FISH")
HER2_INTERP = lnc("48676-1", "HER2 [Interpretation] in Tissue")
HER2_PANEL = lnc("74885-5", "ERBB2 gene (HER2) duplication associated observations panel - Tissue by FISH")
HER2_RATIO = lnc("49683-6", "ERBB2 gene copy number/Chromosome 17 copy number in Tissue by FISH")
HER2_COPIES = lnc("74860-8", "ERBB2 gene copy number/nucleus in Tissue by FISH")
ER = lnc("85337-4", "Estrogen receptor Ag [Presence] in Breast cancer specimen by Immune stain")
PR = lnc("85339-0", "Progesterone receptor Ag [Presence] in Breast cancer specimen by Immune stain")
VARIANT = lnc("69548-6", "Genetic variant assessment")
GENE = lnc("48018-6", "Gene studied [ID]")
AA_CHANGE = lnc("48005-3", "Amino acid change (pHGVS)")
DNA_CHANGE = lnc("48004-6", "DNA change (c.HGVS)")
BRAF_IHC = lnc("85299-6", "BRAF V600E mutant protein [Presence] in Cancer specimen by Immune stain")
BRAF_TEST = lnc("53844-7", "BRAF gene targeted mutation analysis in Blood or Tissue by Molecular genetics method")
GENETIC_REPORT = lnc("51969-4", "Genetic analysis report")
POSITIVE = cc(coding(LNC, "LA6576-8", "Positive"))
NEGATIVE = cc(coding(LNC, "LA6577-6", "Negative"))
PRESENT = cc(coding(LNC, "LA9633-4", "Present"))
ABSENT = cc(coding(LNC, "LA9634-2", "Absent"))
SEQUENCING = cc(coding(LNC, "LA26398-0", "Sequencing"))
BRAF_GENE = cc(coding(HGNC_ID, "HGNC:1097", "BRAF"))
NRAS_GENE = cc(coding(HGNC, "HGNC:6342", "NRAS"))
KIT_GENE = cc(coding(HGNC, "HGNC:7989", "KIT"))


def hgvs(text: str) -> dict:
    return cc(coding(HGVS, text, text))


# --- palliative care and hospice
PALLIATIVE_SEEN = sct("305686008", "Seen by palliative care physician (finding)")  # VSAC ...101.12.1090
HOSPICE_ADMISSION = sct("305336008", "Admission to hospice (procedure)")  # VSAC Hospice Encounter ...1003.1003
HOSPICE_SEEN = sct("305911006", "Seen in hospice (finding)")  # VSAC Hospice Encounter
HOSPICE_CARE = sct("385763009", "Hospice care (regime/therapy)")  # VSAC Hospice Care Ambulatory / Hospice Status
HOSPICE_REFERRAL = sct("306205009", "Referral to hospice (procedure)")  # VSAC Hospice Care Referral or Admission
PALLIATIVE_REFERRAL = sct("306237005", "Referral to palliative care service (procedure)")
TRANSPLANT_REFERRAL = cc(text="Referral to transplant team (transplant nephrology)")
