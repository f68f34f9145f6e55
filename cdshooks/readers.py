"""Readers: one FHIR resource in, one fact out — or a `SetAside` saying why it does not count.

Each data domain of `cdshooks.domains` names the reader for its resources. A
reader sees the resource and a `ReadContext` (the call's patient, and an index of
the call's resources to resolve references: a Medication contained, elsewhere in
the prefetched Bundle, or read from the FHIR server). The record has already
dropped other patients' data and duplicates, so a reader applies its own kind's
hygiene: entered-in-error, refuted and resolved conditions (an `abatement[x]`
without a clinicalStatus is resolved), medication statuses, non-final results,
procedures not done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cdshooks.facts import (
    COUNTING_CLINICAL_STATUS,
    CURRENT_REQUEST_STATUS,
    CURRENT_STATEMENT_STATUS,
    EXCLUDED_VERIFICATION,
    FINAL_OBSERVATION_STATUS,
    ORDER_INTENTS,
    PAST_REQUEST_STATUS,
    PAST_STATEMENT_STATUS,
    ConditionFact,
    EncounterFact,
    EpisodeFact,
    MedicationFact,
    ObservationFact,
    ObservationValue,
    PatientFact,
    ProcedureFact,
    RequestFact,
    SetAside,
)
from cdshooks.fhir_read import (
    Concept,
    ResourceIndex,
    as_list,
    concept,
    first_instant,
    parse_instant,
    reference,
    reference_id,
    status_code,
)
from cdshooks.terminology import Relevance, relevance

# Extensions and elements that tie a condition to another (a metastasis to its primary).
RELATED_CONDITION_EXTENSIONS = {
    "http://hl7.org/fhir/StructureDefinition/condition-related",
    "http://hl7.org/fhir/StructureDefinition/condition-dueTo",
    "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-related-primary-cancer-condition",
}
ABATEMENT_FIELDS = ("abatementDateTime", "abatementAge", "abatementPeriod", "abatementRange", "abatementString")


@dataclass
class ReadContext:
    """What readers may need beyond the resource itself."""

    patient_id: str
    index: ResourceIndex = field(default_factory=ResourceIndex)
    named: dict[str, bool] = field(default_factory=dict)  # text -> may a value set's name match it (per call)
    terms: Relevance = field(default_factory=relevance)

    def medication(self, resource: Mapping[str, Any]) -> tuple[Concept, Concept, bool]:
        """(drug, dose form, resolved) of a MedicationRequest/Statement: its own concept, or the Medication
        it references — contained, elsewhere in the call's Bundles (by id or fullUrl), or fetched."""
        if "medicationCodeableConcept" in resource:
            return concept(resource["medicationCodeableConcept"]), Concept(), True
        med_ref = resource.get("medicationReference")
        display = med_ref.get("display", "") if isinstance(med_ref, dict) else ""
        display = display if isinstance(display, str) else ""
        found = self.index.resolve(reference(med_ref), "Medication", dict(resource))
        if found is None:
            return Concept(text=display), Concept(), False
        drug = concept(found.get("code"))
        if display and not drug.text:
            drug = Concept(drug.codings, display)
        return drug, concept(found.get("form")), True

    def medication_concept(self, resource: Mapping[str, Any]) -> Concept:
        return self.medication(resource)[0]


# the elements whose codes or words say what a resource is about (a panel: its components too)
ABOUT = {
    "Condition": ("code",),
    "Procedure": ("code",),
    "ServiceRequest": ("code",),
    "Observation": ("code", "component"),
    "Encounter": ("type", "serviceType", "reasonCode"),
    "EpisodeOfCare": ("type",),
}


MEDICATION_KINDS = ("MedicationRequest", "MedicationStatement")


def relevant(resource: Mapping[str, Any], ctx: ReadContext) -> bool:
    """Whether any rule's value set could match the resource (a cheap look before it is read).

    This runs for every resource of every call, so it reads the JSON directly (CodeableConcepts,
    lone Codings, Observation components): a code any value set holds, or a word of any value-set
    name among the texts and displays.
    """
    kind = resource.get("resourceType")
    words: list[str] = []
    if kind in MEDICATION_KINDS:
        values: Any = (resource.get("medicationCodeableConcept"),)
        if values[0] is None:
            med_ref = resource.get("medicationReference")
            if type(med_ref) is dict and type(med_ref.get("display")) is str:
                words.append(med_ref["display"])
            found = ctx.index.resolve(reference(med_ref), "Medication", dict(resource))
            if found is None:
                return True  # unresolved: the reader marks it, the fetch step has reported it
            values = (found.get("code"),)
    else:
        values = [resource.get(name) for name in ABOUT.get(str(kind), ())]
    codes = ctx.terms.codes
    for value in values:
        for item in value if type(value) is list else (value,):
            if type(item) is not dict:
                continue
            inner = item.get("code")
            if type(inner) is dict:  # an Observation component: its code is the concept
                item = inner
            text = item.get("text")
            if type(text) is str:
                words.append(text)
            coding = item.get("coding")
            for one in coding if type(coding) is list else (item,):
                if type(one) is dict:
                    code = one.get("code")
                    if type(code) is str and code.replace(".", "").upper() in codes:
                        return True
                    display = one.get("display")
                    if type(display) is str:
                        words.append(display)
    text = " ".join(words)
    named = ctx.named.get(text)  # a chart repeats its displays (one drug, many orders): look each up once
    if named is None:
        named = ctx.named[text] = ctx.terms.any_name(text)
    return named


def ref_of(resource: Mapping[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id', '')}"


def read_condition(r: Mapping[str, Any], _ctx: ReadContext) -> ConditionFact | SetAside:
    clinical = status_code(r.get("clinicalStatus"))
    verification = status_code(r.get("verificationStatus"))
    if verification in EXCLUDED_VERIFICATION:
        return SetAside(ref_of(r), verification.replace("-", " "))
    if clinical not in COUNTING_CLINICAL_STATUS:
        return SetAside(ref_of(r), f"clinical status {clinical}")
    if not clinical and _abated(r):
        return SetAside(ref_of(r), "resolved (abatement recorded, no clinical status)")
    when = first_instant(r, "onsetDateTime", "onsetPeriod", "recordedDate")
    return ConditionFact(
        ref_of(r),
        concept(r.get("code")),
        when,
        clinical,
        verification,
        concept(r.get("bodySite")),
        related_conditions(r),
        condition_links(r),
        tuple(c.code for c in concept(r.get("category")).codings),
    )


def _abated(r: Mapping[str, Any]) -> bool:
    if r.get("abatementBoolean") is True:
        return True
    return any(r.get(name) not in (None, "", {}, []) for name in ABATEMENT_FIELDS)


def _routes(r: Mapping[str, Any]) -> Concept:
    """Dosage routes and dosage text of a MedicationRequest (dosageInstruction) or MedicationStatement (dosage)."""
    routes = Concept()
    texts = []
    for dosage in as_list(r.get("dosageInstruction")) + as_list(r.get("dosage")):
        if isinstance(dosage, dict):
            routes = routes.merged(concept(dosage.get("route")))
            texts += [dosage["text"]] if isinstance(dosage.get("text"), str) else []
    return Concept(routes.codings, " ".join([routes.text, *texts]).strip())


def medication_standing(r: Mapping[str, Any]) -> tuple[bool, str]:
    """(current, why it does not count or '') of a MedicationRequest/Statement; past treatment counts too."""
    status = status_code(r.get("status"))
    if r.get("resourceType") == "MedicationRequest":
        intent = status_code(r.get("intent"))
        if intent not in ORDER_INTENTS:
            return False, f"not an order (intent {intent or 'missing'})"
        current, past = status in CURRENT_REQUEST_STATUS, status in PAST_REQUEST_STATUS
    else:
        current, past = status in CURRENT_STATEMENT_STATUS, status in PAST_STATEMENT_STATUS
    if not current and not past:
        return False, f"medication status {status or 'missing'}"
    return current, ""


def read_medication(r: Mapping[str, Any], ctx: ReadContext) -> MedicationFact | SetAside:
    current, excluded = medication_standing(r)
    if excluded:
        return SetAside(ref_of(r), excluded)
    if r["resourceType"] == "MedicationRequest":
        when = first_instant(r, "authoredOn")
    else:
        when = first_instant(r, "effectiveDateTime", "effectivePeriod", "dateAsserted")
    drug, form, resolved = ctx.medication(r)
    status = status_code(r.get("status"))
    return MedicationFact(ref_of(r), drug, when, status, r["resourceType"], form, _routes(r), current, resolved)


def read_observation(r: Mapping[str, Any], _ctx: ReadContext) -> ObservationFact | SetAside:
    status = status_code(r.get("status"))
    if status not in FINAL_OBSERVATION_STATUS:
        return SetAside(ref_of(r), f"result not final (status {status or 'missing'})")
    components = tuple(
        (concept(c.get("code")), observation_value(c)) for c in as_list(r.get("component")) if isinstance(c, dict)
    )
    when = first_instant(r, "effectiveDateTime", "effectivePeriod", "effectiveInstant", "issued")
    members = tuple(ref for ref in (reference(m) for m in as_list(r.get("hasMember"))) if ref)
    notes = " ".join(
        n["text"] for n in as_list(r.get("note")) if isinstance(n, dict) and isinstance(n.get("text"), str)
    )
    return ObservationFact(
        ref_of(r),
        concept(r.get("code")),
        when,
        status,
        observation_value(r),
        concept(r.get("interpretation")),
        components,
        members,
        notes,
    )


def read_procedure(r: Mapping[str, Any], _ctx: ReadContext) -> ProcedureFact | SetAside:
    status = status_code(r.get("status"))
    if status != "completed":
        return SetAside(ref_of(r), f"procedure not done (status {status or 'missing'})")
    when = first_instant(r, "performedDateTime", "performedPeriod")
    return ProcedureFact(ref_of(r), concept(r.get("code")), when, status)


def read_request(r: Mapping[str, Any], ctx: ReadContext) -> RequestFact | SetAside:
    """A ServiceRequest on file, or any draft order of the ordering session."""
    kind = r["resourceType"]
    status = status_code(r.get("status"))
    if status == "entered-in-error":
        return SetAside(ref_of(r), "entered in error")
    form = route = Concept()
    if kind == "MedicationRequest":
        what, form, _resolved = ctx.medication(r)
        route = _routes(r)
    else:
        what = concept(r.get("code"))
    reasons = tuple(ref for ref in (reference(x) for x in as_list(r.get("reasonReference"))) if ref)
    return RequestFact(
        ref_of(r),
        what,
        first_instant(r, "authoredOn", "occurrenceDateTime"),
        kind,
        status,
        status_code(r.get("intent")),
        reasons,
        form,
        route,
    )


def read_encounter(r: Mapping[str, Any], _ctx: ReadContext) -> EncounterFact | SetAside:
    status = status_code(r.get("status"))
    if status in ("entered-in-error", "cancelled"):
        return SetAside(ref_of(r), status.replace("-", " "))
    period = r.get("period") if isinstance(r.get("period"), dict) else {}
    return EncounterFact(
        ref_of(r),
        concept(r.get("type")),
        first_instant(r, "period"),
        status,
        concept(r.get("serviceType")),
        concept(r.get("reasonCode")),
        parse_instant(period.get("end")),
    )


def read_episode(r: Mapping[str, Any], _ctx: ReadContext) -> EpisodeFact | SetAside:
    status = status_code(r.get("status"))
    if status in ("entered-in-error", "cancelled"):
        return SetAside(ref_of(r), status.replace("-", " "))
    period = r.get("period") if isinstance(r.get("period"), dict) else {}
    return EpisodeFact(
        ref_of(r), concept(r.get("type")), first_instant(r, "period"), status, parse_instant(period.get("end"))
    )


def read_patient(r: Mapping[str, Any], _ctx: ReadContext) -> PatientFact:
    deceased = r.get("deceasedBoolean") is True or bool(r.get("deceasedDateTime"))
    birth = parse_instant(r.get("birthDate"))
    return PatientFact(
        ref_of(r),
        Concept(text="Patient"),
        None,
        deceased=deceased,
        gender=r["gender"] if isinstance(r.get("gender"), str) else "",
        birth_date=birth.date() if birth else None,
        name=_name(r),
    )


def _name(r: Mapping[str, Any]) -> str:
    for name in as_list(r.get("name")):
        if not isinstance(name, dict):
            continue
        if isinstance(name.get("text"), str) and name["text"].strip():
            return name["text"].strip()
        given = [g for g in as_list(name.get("given")) if isinstance(g, str)]
        family = name.get("family") if isinstance(name.get("family"), str) else ""
        joined = " ".join([*given, family]).strip()
        if joined:
            return joined
    return ""


def related_conditions(r: Mapping[str, Any]) -> tuple[str, ...]:
    """`Condition/id` references a condition is linked to: related/dueTo extensions, evidence details."""
    refs = [
        reference(ext.get("valueReference"))
        for ext in as_list(r.get("extension"))
        if isinstance(ext, dict) and ext.get("url") in RELATED_CONDITION_EXTENSIONS
    ]
    for evidence in as_list(r.get("evidence")):
        if isinstance(evidence, dict):
            refs.extend(reference(detail) for detail in as_list(evidence.get("detail")))
    ids = (reference_id(ref, "Condition") for ref in refs if ref)
    return tuple(dict.fromkeys(f"Condition/{i}" for i in ids if i))


def condition_links(r: Mapping[str, Any]) -> tuple[str, ...]:
    """References a condition rests on besides other conditions: stage assessments, evidence details.

    Two cancer conditions citing the same staging assessment or the same pathology report are linked.
    """
    refs: list[str] = []
    for stage in as_list(r.get("stage")):
        if isinstance(stage, dict):
            refs.extend(reference(a) for a in as_list(stage.get("assessment")))
    for evidence in as_list(r.get("evidence")):
        if isinstance(evidence, dict):
            refs.extend(reference(d) for d in as_list(evidence.get("detail")))
    return tuple(dict.fromkeys(ref for ref in refs if ref and not ref.startswith("#")))


def observation_value(r: Mapping[str, Any]) -> ObservationValue | None:
    if "valueCodeableConcept" in r:
        return ObservationValue(concept=concept(r["valueCodeableConcept"]))
    quantity = r.get("valueQuantity")
    if isinstance(quantity, dict) and isinstance(quantity.get("value"), int | float):
        comparator = quantity.get("comparator") if isinstance(quantity.get("comparator"), str) else ""
        return ObservationValue(
            quantity=float(quantity["value"]), unit=str(quantity.get("unit", "")), comparator=comparator
        )
    if isinstance(r.get("valueInteger"), int) and not isinstance(r.get("valueInteger"), bool):
        return ObservationValue(quantity=float(r["valueInteger"]))
    if isinstance(r.get("valueString"), str):
        return ObservationValue(text=r["valueString"])
    if isinstance(r.get("valueBoolean"), bool):
        return ObservationValue(text="true" if r["valueBoolean"] else "false")
    return None


def medication_references(r: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The Medication a MedicationRequest/Statement points to, when the reader will want it (not contained)."""
    if "medicationReference" not in r:
        return []
    ref = reference(r.get("medicationReference"))
    if not ref or ref.startswith("#"):
        return []
    return [] if medication_standing(r)[1] else [(ref, "Medication")]


def member_references(r: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The results a final panel Observation groups with `hasMember`."""
    if status_code(r.get("status")) not in FINAL_OBSERVATION_STATUS:
        return []
    return [(ref, "Observation") for ref in (reference(m) for m in as_list(r.get("hasMember"))) if ref]
