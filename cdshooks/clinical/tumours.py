"""Tumours, not Condition rows: each cancer with its records, its history codes and its metastases.

How EHRs record cancer, and how this module reads it (catalogue, revision 2):
- One tumour may be recorded several times (a problem-list entry in SNOMED CT and
  an encounter diagnosis in ICD-10-CM): records of the same kind of cancer with the
  same or a missing body site and onsets within 30 days are one tumour.
- A personal-history code (Z85.x) is a candidate primary too: with a new
  secondary and no other candidate, it is a recurrence of that cancer.
- A secondary is attributed to a primary when it says so — a `condition-related`
  or `dueTo` extension or an evidence detail naming the primary, a staging
  assessment or piece of evidence both rest on, or a code that names the primary
  (metastatic melanoma, secondary Merkel cell carcinoma, metastasis from breast)
  — or when exactly one candidate primary fits. With two or more candidates and
  no link it belongs to none of them (`unattributed`): no card that is specific to
  one primary may rest on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from cdshooks.facts import ConditionFact
from cdshooks.fhir_read import Concept
from cdshooks.record import PatientRecord
from cdshooks.terminology import ValueSet, vs

SAME_TUMOUR_WINDOW = timedelta(days=30)
SKIN_KINDS = frozenset({"cscc", "bcc", "melanoma", "merkel", "skin_other"})
ALL_KINDS = SKIN_KINDS | {"breast", "net", "other"}

# kind -> the value set of its primary cancer (tried in this order)
PRIMARY = {
    "cscc": vs("cutaneous_scc"),
    "bcc": vs("basal_cell_carcinoma"),
    "melanoma": vs("melanoma"),
    "merkel": vs("merkel_cell_carcinoma"),
    "breast": vs("breast_cancer"),
    "net": vs("neuroendocrine_tumour"),
}
ANY_PRIMARY = vs("malignant_neoplasm")
# kind -> personal-history (or remission) codes of that cancer
HISTORY = {
    "melanoma": (vs("history_of_melanoma"),),
    "merkel": (vs("history_of_merkel"),),
    "skin_other": (vs("history_of_other_skin_cancer"),),
    "breast": (vs("history_of_breast_cancer"), vs("breast_cancer_in_remission")),
    "net": (vs("history_of_neuroendocrine_tumour"),),
}
ANY_HISTORY = vs("personal_history_of_cancer")


@dataclass(frozen=True)
class Combined:
    """A secondary whose code names its primary's kind (or the kinds it may belong to)."""

    valueset: ValueSet
    kinds: frozenset[str]  # the primaries it may be attributed to
    implies: str  # the kind of primary it stands for when no candidate fits


COMBINED = (
    Combined(vs("metastatic_melanoma"), frozenset({"melanoma"}), "melanoma"),
    Combined(vs("secondary_merkel_cell_carcinoma"), frozenset({"merkel"}), "merkel"),
    Combined(vs("metastatic_bcc"), frozenset({"bcc"}), "bcc"),
    Combined(vs("metastatic_breast_cancer"), frozenset({"breast"}), "breast"),
    Combined(vs("secondary_neuroendocrine_tumour"), frozenset({"net"}), "net"),
    # "metastatic SCC to skin" belongs to a cutaneous SCC (the catalogue's own example of a combined code);
    # another metastatic SCC names no primary site: a cutaneous SCC, or another SCC (lung, head and neck...)
    Combined(vs("metastatic_scc_to_skin"), frozenset({"cscc"}), "cscc"),
    Combined(vs("metastatic_scc"), frozenset({"cscc", "skin_other", "other"}), "other"),
    Combined(vs("metastatic_skin_cancer"), SKIN_KINDS, "skin_other"),
    Combined(vs("secondary_of_other_primary"), frozenset({"breast", "net", "other"}), "other"),
)
SECONDARY = vs("secondary_malignancy")


@dataclass
class Tumour:
    """One cancer: the records of its primary (possibly none), history codes, attributed metastases."""

    kind: str
    records: list[ConditionFact] = field(default_factory=list)
    history: list[ConditionFact] = field(default_factory=list)
    secondaries: list[ConditionFact] = field(default_factory=list)

    @property
    def metastatic(self) -> bool:
        return bool(self.secondaries)

    @property
    def condition(self) -> ConditionFact:
        """The condition that names this cancer best (its primary record, else a history code or metastasis)."""
        return (self.records or self.history or self.secondaries)[0]

    @property
    def evidence(self) -> tuple[ConditionFact, ...]:
        return tuple(dict.fromkeys([*self.records[:1], *self.history[:1], *self.secondaries[:1]]))

    def holds(self, ref: str) -> bool:
        return any(c.ref == ref for c in (*self.records, *self.history, *self.secondaries))

    def links(self) -> set[str]:
        return {link for c in (*self.records, *self.history) for link in c.links}

    def sites(self) -> list[Concept]:
        return [c.body_site for c in self.records if c.body_site.codings or c.body_site.text]


@dataclass
class TumourMap:
    tumours: list[Tumour] = field(default_factory=list)
    unattributed: list[ConditionFact] = field(default_factory=list)  # metastases with several candidate primaries
    linked_elsewhere: list[ConditionFact] = field(default_factory=list)  # linked to a condition that is no cancer here

    def of_kind(self, kind: str) -> list[Tumour]:
        return [t for t in self.tumours if t.kind == kind]

    def metastatic(self, kind: str) -> Tumour | None:
        """A metastatic tumour of this kind (recorded primary or recurrence), if any."""
        return next((t for t in self.tumours if t.kind == kind and t.metastatic), None)

    def active(self, kind: str) -> list[Tumour]:
        """Tumours of this kind known from a current record or a metastasis (not from a history code alone)."""
        return [t for t in self.of_kind(kind) if t.records or t.secondaries]

    def possibly_metastatic_skin_cancer(self) -> bool:
        """Metastatic disease that is, or may be, a skin cancer's (what P1, which is about the patient, asks)."""
        if any(t.metastatic and t.kind in SKIN_KINDS for t in self.tumours):
            return True
        return bool(self.unattributed) and any(t.kind in SKIN_KINDS for t in self.tumours)


def tumours(record: PatientRecord) -> TumourMap:
    """The tumour map of the record (computed once per call)."""
    return record.derived("tumours", _build)


def _kind_of(condition: ConditionFact) -> tuple[str, str] | None:
    """(role, kind) of a condition: ('combined', i), ('secondary', ''), ('history', kind), ('primary', kind)."""
    value = condition.concept
    for index, combined in enumerate(COMBINED):
        if combined.valueset.matches(value):
            return "combined", str(index)
    if SECONDARY.matches(value):
        return "secondary", ""
    for kind, sets in HISTORY.items():
        if any(s.matches(value) for s in sets):
            return "history", kind
    if ANY_HISTORY.matches(value):
        return "history", "other"
    for kind, valueset in PRIMARY.items():
        if valueset.matches(value):
            return "primary", kind
    if ANY_PRIMARY.matches(value):
        return "primary", "other"
    return None


def _same_site(a: ConditionFact, b: ConditionFact) -> bool:
    """Same or missing body site; two ICD-10-CM codes that differ name different sites."""
    if (a.body_site.codings or a.body_site.text) and (b.body_site.codings or b.body_site.text):
        shared = {(c.system, c.code) for c in a.body_site.codings} & {(c.system, c.code) for c in b.body_site.codings}
        return bool(shared) or (bool(a.body_site.text) and a.body_site.text.lower() == b.body_site.text.lower())
    icd_a = {c.code for c in a.concept.codings if c.system == "icd10cm"}
    icd_b = {c.code for c in b.concept.codings if c.system == "icd10cm"}
    return not (icd_a and icd_b) or bool(icd_a & icd_b)


def _close(a: ConditionFact, b: ConditionFact) -> bool:
    """Onsets within 30 days (both must be known: two undated records may be two tumours)."""
    if a.when is None or b.when is None:
        return False
    return abs(a.when - b.when) <= SAME_TUMOUR_WINDOW


def _build(record: PatientRecord) -> TumourMap:
    found = TumourMap()
    combined: list[tuple[ConditionFact, Combined]] = []
    plain: list[ConditionFact] = []
    for condition in record.conditions:
        role = _kind_of(condition)
        if role is None:
            continue
        what, kind = role
        if what == "combined":
            combined.append((condition, COMBINED[int(kind)]))
        elif what == "secondary":
            plain.append(condition)
        elif what == "history":
            tumour = next((t for t in found.tumours if t.kind == kind), None)
            if tumour is None:
                found.tumours.append(Tumour(kind, history=[condition]))
            else:
                tumour.history.append(condition)
        else:
            _add_primary(found, kind, condition, record)
    for condition, spec in combined:
        _attribute(found, condition, spec.kinds, spec.implies)
    for condition in plain:
        _attribute(found, condition, ALL_KINDS, None)
    return found


def _add_primary(found: TumourMap, kind: str, condition: ConditionFact, record: PatientRecord) -> None:
    for tumour in found.of_kind(kind):
        if not tumour.records and tumour.history:
            tumour.records.append(condition)  # a current record of a cancer the patient also has a history code of
            return
        if any(_same_site(condition, other) and _close(condition, other) for other in tumour.records):
            tumour.records.append(condition)
            record.set_aside(condition.ref, "the same tumour as another record (site and onset agree)")
            return
    found.tumours.append(Tumour(kind, records=[condition]))


def _attribute(found: TumourMap, secondary: ConditionFact, kinds: frozenset[str], implies: str | None) -> None:
    linked = [t for t in found.tumours if any(t.holds(ref) for ref in secondary.related)]
    if not linked and secondary.links:
        linked = [t for t in found.tumours if t.links() & set(secondary.links)]
    if not linked and secondary.related:
        found.linked_elsewhere.append(secondary)
        return
    if not linked:
        candidates = [t for t in found.tumours if t.kind in kinds]
        if len(candidates) == 1:
            linked = candidates
        else:
            sited = [t for t in candidates if any(_shares(site, secondary.body_site) for site in t.sites())]
            linked = sited if len(sited) == 1 else []
        if not linked and not candidates and implies is not None:
            tumour = Tumour(implies)
            found.tumours.append(tumour)
            linked = [tumour]
    if len(linked) == 1:
        linked[0].secondaries.append(secondary)
    else:
        found.unattributed.append(secondary)


def _shares(a: Concept, b: Concept) -> bool:
    return bool({(c.system, c.code) for c in a.codings} & {(c.system, c.code) for c in b.codings})
