"""Medications as products: which drug, and whether it is the systemic form a rule is about.

A coding that names a systemic ingredient can belong to an ointment or eye drops:
tacrolimus ointment is not immunosuppression, cyclosporine eye drops are not a
calcineurin inhibitor, sirolimus gel is not conversion to an mTOR inhibitor. The
product decides — its clinical-drug code or name (RxNorm names carry the dose
form), `Medication.form`, the dosage route and text — and a topical or ophthalmic
form wins over a matching ingredient code. What a rule leaves out this way is
noted on the record, for explanations.
"""

from __future__ import annotations

from cdshooks.facts import MedicationFact, RequestFact
from cdshooks.record import PatientRecord
from cdshooks.terminology import ValueSet, vs

TOPICAL_OR_OPHTHALMIC = vs("topical_or_ophthalmic")
MEDICATION_ORDER = "MedicationRequest"


def drug_of(fact: MedicationFact | RequestFact, group: ValueSet, record: PatientRecord) -> ValueSet | None:
    """The drug of `group` this product is, if it is a systemic form of it (else None, noted on the record)."""
    drug = group.member(fact.concept)
    if drug is None:
        return None
    if TOPICAL_OR_OPHTHALMIC.matches_code(fact.concept) or TOPICAL_OR_OPHTHALMIC.names_in(_words(fact)):
        record.set_aside(fact.ref, f"topical or ophthalmic form of {drug.title}, not the systemic drug")
        return None
    return drug


def _words(fact: MedicationFact | RequestFact) -> str:
    if isinstance(fact, MedicationFact):
        return fact.product_words()
    return " ".join(w for w in (fact.concept.words(), fact.form.words(), fact.route.words()) if w)


def current(record: PatientRecord, group: ValueSet) -> MedicationFact | RequestFact | None:
    """A current medication (or a draft order of this session) that is a systemic drug of the group."""
    for fact in [*record.medications, *(o for o in record.draft_orders if o.resource_type == MEDICATION_ORDER)]:
        if drug_of(fact, group, record) is not None:
            return fact
    return None


def ever(record: PatientRecord, group: ValueSet) -> MedicationFact | RequestFact | None:
    """A current or past (completed, stopped) medication, or a draft order, that is a systemic drug of the group."""
    for fact in [*record.medication_history, *(o for o in record.draft_orders if o.resource_type == MEDICATION_ORDER)]:
        if drug_of(fact, group, record) is not None:
            return fact
    return None


def current_medications(record: PatientRecord, group: ValueSet) -> list[tuple[MedicationFact, ValueSet]]:
    """Current medications (not draft orders) that are systemic drugs of the group, with the drug."""
    found = []
    for fact in record.medications:
        drug = drug_of(fact, group, record)
        if drug is not None:
            found.append((fact, drug))
    return found


def ordered(record: PatientRecord, group: ValueSet) -> list[tuple[RequestFact, ValueSet]]:
    """The orders this hook is about (selected or signed) that are systemic drugs of the group."""
    found = []
    for order in record.focus_orders:
        if order.resource_type != MEDICATION_ORDER:
            continue
        drug = drug_of(order, group, record)
        if drug is not None:
            found.append((order, drug))
    return found
