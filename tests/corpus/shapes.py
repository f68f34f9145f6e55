"""Realistic FHIR R4 resource shapes for the corpus, as EHRs send them.

Each builder follows a public example (see README.md for the sources): US Core
examples, the Oracle Health (Cerner) R4 documentation examples, Epic's documented
search behaviour, mCODE and HL7 genomics-reporting examples. Only the clinical
content (codes, dates, statuses) changes from case to case.
"""

from __future__ import annotations

import copy
from typing import Any

Json = dict[str, Any]

SCT = "http://snomed.info/sct"
ICD = "http://hl7.org/fhir/sid/icd-10-cm"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
LNC = "http://loinc.org"
HGNC = "http://www.genenames.org"
HGNC_ID = "http://www.genenames.org/geneId"
HGVS = "http://varnomen.hgvs.org"
# Official OIDs (rules.md, revision 2 "Code systems by any official name").
OID_ICD = "urn:oid:2.16.840.1.113883.6.90"
OID_SCT = "urn:oid:2.16.840.1.113883.6.96"
OID_RX = "urn:oid:2.16.840.1.113883.6.88"
OID_LNC = "urn:oid:2.16.840.1.113883.6.1"

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
EHR = "https://ehr.example.org/fhir/R4"


def coding(system: str, code: str, display: str | None = None, *, selected: bool | None = None) -> Json:
    found: Json = {"system": system, "code": code}
    if display:
        found["display"] = display
    if selected is not None:
        found["userSelected"] = selected
    return found


def cc(*codings: Json, text: str | None = None) -> Json:
    concept: Json = {}
    if codings:
        concept["coding"] = list(codings)
    if text:
        concept["text"] = text
    return concept


def ref(kind: str, rid: str, display: str | None = None) -> Json:
    found: Json = {"reference": f"{kind}/{rid}"}
    if display:
        found["display"] = display
    return found


# --- Patient ------------------------------------------------------------------


def patient(
    pid: str,
    family: str,
    given: str,
    *,
    gender: str = "female",
    birth: str = "1958-04-12",
    deceased: bool | str | None = None,
) -> Json:
    """A US Core Patient; `deceased` True/False gives deceasedBoolean, a date gives deceasedDateTime."""
    resource: Json = {
        "resourceType": "Patient",
        "id": pid,
        "meta": {"profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]},
        "identifier": [
            {
                "use": "usual",
                "type": cc(coding("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number")),
                "system": "http://example.org/patient/identifiers",
                "value": f"MRN-{pid}",
            }
        ],
        "active": True,
        "name": [{"use": "official", "family": family, "given": [given]}],
        "gender": gender,
        "birthDate": birth,
    }
    if isinstance(deceased, bool):
        resource["deceasedBoolean"] = deceased
    elif isinstance(deceased, str):
        resource["deceasedDateTime"] = deceased
    return resource


# --- Condition ------------------------------------------------------------------


def condition(
    pid: str,
    cid: str,
    code: Json,
    *,
    clinical: str | None = "active",
    verification: str | None = "confirmed",
    category: str = "problem-list-item",
    onset: str | None = None,
    abatement: str | None = None,
    recorded: str | None = None,
    body_site: Json | None = None,
    related: str | None = None,
    evidence: list[str] | None = None,
    stage: str | None = None,
    encounter: str | None = None,
    style: str = "uscore",
) -> Json:
    """A Condition on the problem list or as an encounter diagnosis.

    style "uscore" follows the US Core examples; "cerner" adds the Oracle Health
    'Medical' classification category and `userSelected` flags as in the Millennium R4
    examples; "epic" writes a bare problem-list entry as Epic's R4 API returns it.
    """
    resource: Json = {"resourceType": "Condition", "id": cid}
    if related:
        resource["extension"] = [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/condition-related",
                "valueReference": ref("Condition", related),
            }
        ]
    if clinical:
        resource["clinicalStatus"] = cc(coding(CLINICAL, clinical, clinical.capitalize()), text=clinical.capitalize())
    if verification:
        label = {"entered-in-error": "Entered in Error"}.get(verification, verification.capitalize())
        resource["verificationStatus"] = cc(coding(VERIFICATION, verification, label), text=label)
    display = {"problem-list-item": "Problem List Item", "encounter-diagnosis": "Encounter Diagnosis"}[category]
    categories = [cc(coding(CATEGORY, category, display), text=display)]
    if style == "cerner":
        categories.append(cc(coding(SCT, "74188005", "Medical (qualifier value)", selected=False), text="Medical"))
    resource["category"] = categories
    resource["code"] = code
    if body_site:
        resource["bodySite"] = [body_site]
    resource["subject"] = ref("Patient", pid)
    if encounter:
        resource["encounter"] = ref("Encounter", encounter)
    if onset:
        resource["onsetDateTime"] = onset
    if abatement:
        resource["abatementDateTime"] = abatement
    if stage:
        resource["stage"] = [{"assessment": [ref("Observation", stage)]}]
    if evidence:
        resource["evidence"] = [{"detail": [{"reference": r} for r in evidence]}]
    resource["recordedDate"] = recorded or onset or "2025-06-01"
    return resource


# --- Medications ------------------------------------------------------------------


ROUTE = {
    "oral": coding(SCT, "26643006", "Oral route"),
    "topical": coding(SCT, "6064005", "Topical route"),
    "ophthalmic": coding(SCT, "54485002", "Ophthalmic route"),
}


def dosage(text: str, route: str | None) -> list[Json]:
    found: Json = {"text": text}
    if route:
        found["route"] = cc(ROUTE[route], text=route.capitalize())
    return [found]


def medication(mid: str, code: Json, *, form: str | None = None, ingredient: Json | None = None) -> Json:
    """A Medication; Oracle Health sends a text-only code with an RxNorm-coded ingredient."""
    resource: Json = {"resourceType": "Medication", "id": mid, "code": code}
    if form:
        resource["form"] = {"text": form}
    if ingredient:
        resource["ingredient"] = [{"itemCodeableConcept": ingredient, "isActive": True}]
    return resource


def med_request(
    pid: str,
    mid: str,
    drug: Json | str,
    *,
    status: str = "active",
    intent: str = "order",
    authored: str = "2025-09-15",
    contained: Json | None = None,
    sig: str | None = None,
    route: str | None = None,
    reason: str | None = None,
    display: str | None = None,
) -> Json:
    """A US Core MedicationRequest: `drug` is a CodeableConcept, or a reference string
    ('Medication/x', '#x', an absolute URL or a urn:uuid)."""
    resource: Json = {"resourceType": "MedicationRequest", "id": mid}
    if contained:
        resource["contained"] = [contained]
    resource["status"] = status
    resource["intent"] = intent
    resource["category"] = [
        cc(
            coding(
                "http://terminology.hl7.org/CodeSystem/medicationrequest-category",
                "outpatient",
                "Outpatient",
            )
        )
    ]
    if isinstance(drug, str):
        resource["medicationReference"] = {"reference": drug}
        if display:
            resource["medicationReference"]["display"] = display
    else:
        resource["medicationCodeableConcept"] = drug
    resource["subject"] = ref("Patient", pid)
    resource["authoredOn"] = authored
    resource["requester"] = ref("Practitioner", "corpus-clinician")
    if reason:
        resource["reasonReference"] = [ref("Condition", reason)]
    if sig or route:
        resource["dosageInstruction"] = dosage(sig or "as directed", route)
    return resource


def draft(pid: str, mid: str, drug: Json | str, **kw: Any) -> Json:
    kw.setdefault("status", "draft")
    kw.setdefault("authored", "2026-03-01")
    return med_request(pid, mid, drug, **kw)


def med_statement(
    pid: str, sid: str, drug: Json | str, *, status: str = "active", effective: str = "2025-06-01"
) -> Json:
    resource: Json = {"resourceType": "MedicationStatement", "id": sid, "status": status}
    if isinstance(drug, str):
        resource["medicationReference"] = {"reference": drug}
    else:
        resource["medicationCodeableConcept"] = drug
    resource["subject"] = ref("Patient", pid)
    resource["effectiveDateTime"] = effective
    resource["dateAsserted"] = effective
    return resource


# --- Observations ------------------------------------------------------------------


def _value(value: Any) -> Json:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {"valueCodeableConcept": value}
    if isinstance(value, str):
        return {"valueString": value}
    if isinstance(value, bool):
        return {"valueBoolean": value}
    if isinstance(value, int):
        return {"valueInteger": value}
    return {"valueQuantity": {"value": value}}


def observation(
    pid: str,
    oid: str,
    code: Json,
    *,
    value: Any = None,
    status: str = "final",
    effective: str = "2025-01-15",
    components: tuple[tuple[Json, Any], ...] = (),
    members: tuple[str, ...] = (),
    category: str = "laboratory",
    interpretation: Json | None = None,
    method: Json | None = None,
) -> Json:
    resource: Json = {
        "resourceType": "Observation",
        "id": oid,
        "status": status,
        "category": [
            cc(coding("http://terminology.hl7.org/CodeSystem/observation-category", category, category.capitalize()))
        ],
        "code": code,
        "subject": ref("Patient", pid),
        "effectiveDateTime": effective,
        "issued": f"{effective}T16:00:00Z" if len(effective) == 10 else effective,
    }
    resource.update(_value(value))
    if interpretation:
        resource["interpretation"] = [interpretation]
    if method:
        resource["method"] = method
    if members:
        resource["hasMember"] = [ref("Observation", m) for m in members]
    if components:
        resource["component"] = [{"code": c, **_value(v)} for c, v in components]
    return resource


# --- Requests, encounters, procedures ------------------------------------------------------------------


def service_request(
    pid: str,
    sid: str,
    code: Json,
    *,
    status: str = "active",
    intent: str = "order",
    authored: str = "2026-02-10",
    reason: str | None = None,
    category: Json | None = None,
) -> Json:
    resource: Json = {"resourceType": "ServiceRequest", "id": sid, "status": status, "intent": intent}
    if category:
        resource["category"] = [category]
    resource["code"] = code
    resource["subject"] = ref("Patient", pid)
    resource["authoredOn"] = authored
    resource["requester"] = ref("Practitioner", "corpus-clinician")
    if reason:
        resource["reasonReference"] = [ref("Condition", reason)]
    return resource


def encounter(
    pid: str,
    eid: str,
    kind: Json,
    *,
    status: str = "finished",
    start: str = "2026-01-20",
    end: str | None = None,
    klass: str = "AMB",
    reason: Json | None = None,
) -> Json:
    period: Json = {"start": start}
    if end:
        period["end"] = end
    resource: Json = {
        "resourceType": "Encounter",
        "id": eid,
        "status": status,
        "class": coding("http://terminology.hl7.org/CodeSystem/v3-ActCode", klass),
        "type": [kind],
        "subject": ref("Patient", pid),
        "period": period,
    }
    if reason:
        resource["reasonCode"] = [reason]
    return resource


def episode_of_care(pid: str, eid: str, kind: Json, *, status: str = "active", start: str = "2026-02-01") -> Json:
    return {
        "resourceType": "EpisodeOfCare",
        "id": eid,
        "status": status,
        "type": [kind],
        "patient": ref("Patient", pid),
        "period": {"start": start},
    }


def procedure(pid: str, prid: str, code: Json, *, performed: str = "2012-05-03", status: str = "completed") -> Json:
    return {
        "resourceType": "Procedure",
        "id": prid,
        "status": status,
        "code": code,
        "subject": ref("Patient", pid),
        "performedDateTime": performed,
    }


def diagnostic_report(pid: str, rid: str, code: Json, *, results: list[str], effective: str) -> Json:
    return {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "code": code,
        "subject": ref("Patient", pid),
        "effectiveDateTime": effective,
        "result": [ref("Observation", r) for r in results],
    }


# --- Bundles ------------------------------------------------------------------


def full_url(resource: Json) -> str:
    return f"{EHR}/{resource['resourceType']}/{resource['id']}"


def collection(*resources: Json, urls: dict[str, str] | None = None) -> Json:
    """A collection Bundle; `urls` maps a resource id to the entry's fullUrl (default: absolute URL)."""
    urls = urls or {}
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": urls.get(r["id"], full_url(r)), "resource": copy.deepcopy(r)} for r in resources],
    }


def searchset(matches: list[Json], includes: tuple[Json, ...] = (), *, urls: dict[str, str] | None = None) -> Json:
    """A searchset as an EHR answers a prefetch query, `_include`d resources in search mode include."""
    urls = urls or {}
    entries = [
        {"fullUrl": urls.get(r["id"], full_url(r)), "resource": copy.deepcopy(r), "search": {"mode": "match"}}
        for r in matches
    ]
    entries += [
        {"fullUrl": urls.get(r["id"], full_url(r)), "resource": copy.deepcopy(r), "search": {"mode": "include"}}
        for r in includes
    ]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(matches), "entry": entries}


PREFETCH_TYPES = {
    "conditions": "Condition",
    "medicationRequests": "MedicationRequest",
    "medicationStatements": "MedicationStatement",
    "procedures": "Procedure",
    "observations": "Observation",
    "serviceRequests": "ServiceRequest",
    "encounters": "Encounter",
    "episodesOfCare": "EpisodeOfCare",
}


def ehr_prefetch(resources: list[Json], **overrides: Json | None) -> Json:
    """Every prefetch key the services use, answered from `resources` as an EHR would
    (one searchset per key; `patient` is the Patient resource), with some keys replaced."""
    found: Json = {}
    for key, kind in PREFETCH_TYPES.items():
        found[key] = searchset([r for r in resources if r["resourceType"] == kind])
    found["patient"] = copy.deepcopy(next(r for r in resources if r["resourceType"] == "Patient"))
    for key, value in overrides.items():
        found[key] = value
    return found
