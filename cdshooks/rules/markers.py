"""Tumour markers read from final Observations: HER2 status and BRAF V600 status.

HER2 (ASCO/CAP 2023): IHC score 0/1+/2+/3+ (coded or text), ISH amplified or not
(coded, text, or ratio plus copy number), and the overall interpretation (48676-1).
The latest day with a readable result decides; on that day an interpretation
wins, then any positive (IHC 3+ or ISH amplified), then ISH, then IHC. IHC 2+
without ISH is equivocal, never positive. HER2-low = negative with a structured
IHC score of 1+ or 2+.

BRAF: genomics-reporting variant Observations (69548-6) whose gene component is
BRAF, with the amino-acid change in any common spelling; BRAF V600E IHC
(85299-6); and BRAF targeted mutation analysis results (53844-7).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from cdshooks.facts import ObservationFact, ObservationValue
from cdshooks.fhir_read import Concept
from cdshooks.record import PatientRecord
from cdshooks.terminology import ValueSet, vs

HER2 = vs("her2")
HER2_IHC = vs("her2_ihc")
HER2_ISH = vs("her2_ish")
HER2_INTERPRETATION = vs("her2_interpretation")
ISH_RATIO = vs("her2_ish_ratio")
ISH_COPIES = vs("her2_ish_copies")
AMPLIFIED = vs("ish_amplified")
NOT_AMPLIFIED = vs("ish_not_amplified")
POSITIVE = vs("variant_present")  # positive, detected, present
NEGATIVE = vs("variant_absent")  # negative, not detected, absent
EQUIVOCAL = vs("answer_equivocal")

VARIANT = vs("genetic_variant_assessment")
GENE = vs("gene_studied")
BRAF_GENE = vs("braf_gene")
AMINO_ACID_CHANGE = vs("amino_acid_change")
VARIANT_DESCRIPTION = vs("variant_description")
BRAF_IHC = vs("braf_v600e_ihc")
BRAF_TEST = vs("braf_mutation_test")

IHC_SCORE = re.compile(r"(?<![\d.])([0-3])\s*\+")
BRAF_PROTEIN_ACCESSION = "NP_004324"  # BRAF's RefSeq protein, as in NP_004324.2:p.Val600Glu
LABEL_V600 = ("V600E", "V600K")  # the changes BRAF/MEK inhibitor labels cover
AMINO_ACIDS = {
    "Ala": "A", "Arg": "R", "Asn": "N", "Asp": "D", "Cys": "C", "Gln": "Q", "Glu": "E", "Gly": "G",
    "His": "H", "Ile": "I", "Leu": "L", "Lys": "K", "Met": "M", "Phe": "F", "Pro": "P", "Ser": "S",
    "Thr": "T", "Trp": "W", "Tyr": "Y", "Val": "V", "Ter": "*",
}  # fmt: skip
_RESIDUE = "|".join(AMINO_ACIDS) + "|[ACDEFGHIKLMNPQRSTVWY]"
PROTEIN_CHANGE = re.compile(
    rf"(?<![A-Za-z0-9_])(?:p\.)?\(?(?P<ref>{_RESIDUE})(?P<pos>\d+)(?P<alt>{_RESIDUE}|\*)\)?(?![a-z0-9])",
    re.IGNORECASE,
)


class Call(StrEnum):
    POSITIVE = "positive"
    NEGATIVE = "negative"
    EQUIVOCAL = "equivocal"


def answer(value: Concept) -> Call | None:
    """Positive/negative/equivocal from an answer code or the words of a value."""
    if NOT_AMPLIFIED.matches(value):
        return Call.NEGATIVE
    if EQUIVOCAL.matches(value):
        return Call.EQUIVOCAL
    if NEGATIVE.matches(value):
        return Call.NEGATIVE
    if AMPLIFIED.matches(value) or POSITIVE.matches(value):
        return Call.POSITIVE
    return None


def _value_concept(value: ObservationValue | None) -> Concept:
    return value.as_concept() if value is not None else Concept()


def _words(value: ObservationValue | None) -> str:
    if value is None:
        return ""
    found = value.as_concept()
    return " ".join([found.words(), *(c.code for c in found.codings)])


# --- HER2 -------------------------------------------------------------------


@dataclass(frozen=True)
class Her2Reading:
    fact: ObservationFact
    kind: str  # ihc | ish | interpretation
    call: Call | None
    score: int | None = None
    ratio: float | None = None
    copies: float | None = None


def ihc_score(value: ObservationValue | None) -> int | None:
    """An IHC score 0–3 from '2+', 'Score 1+', 'Positive (3+)', or an integer value."""
    if value is None:
        return None
    if value.quantity is not None and value.quantity in (0, 1, 2, 3) and not value.unit:
        return int(value.quantity)
    found = value.as_concept()
    text = " ".join([found.text, *(c.display for c in found.codings), *(c.code for c in found.codings)])
    match = IHC_SCORE.search(text)
    if match:
        return int(match.group(1))
    if re.fullmatch(r"\s*0\s*", text):
        return 0
    return None


def _score_call(score: int) -> Call:
    return {3: Call.POSITIVE, 2: Call.EQUIVOCAL}.get(score, Call.NEGATIVE)


def _ish_numbers(ratio: float | None, copies: float | None) -> Call | None:
    """ASCO/CAP 2018 dual-probe groups: 1 is positive, 5 negative, 2–4 need IHC review (not decided here)."""
    if ratio is None or copies is None:
        return None
    if ratio >= 2.0 and copies >= 4.0:
        return Call.POSITIVE
    if ratio < 2.0 and copies < 4.0:
        return Call.NEGATIVE
    return Call.EQUIVOCAL


def _number(fact: ObservationFact, valueset: ValueSet) -> float | None:
    if valueset.matches(fact.concept) and fact.value is not None and fact.value.quantity is not None:
        return fact.value.quantity
    for value in fact.component_values(valueset):
        if value.quantity is not None:
            return value.quantity
    return None


def read_her2(fact: ObservationFact) -> Her2Reading:
    if HER2_INTERPRETATION.matches(fact.concept):
        kind = "interpretation"
    elif HER2_ISH.matches(fact.concept):
        kind = "ish"
    else:
        kind = "ihc"
    score = ihc_score(fact.value) if kind != "ish" else None
    scored = kind == "ihc" and score is not None
    call = _score_call(score) if scored and score is not None else answer(_value_concept(fact.value))
    ratio = copies = None
    if kind == "ish" and call is None:
        ratio, copies = _number(fact, ISH_RATIO), _number(fact, ISH_COPIES)
        call = _ish_numbers(ratio, copies)
    if call is None and score is not None:
        call = _score_call(score)
    if call is None and not (ratio or copies):
        call = answer(fact.interpretation)
    return Her2Reading(fact, kind, call, score, ratio, copies)


@dataclass(frozen=True)
class Her2Status:
    call: Call | None  # None: no readable HER2 result
    evidence: tuple[ObservationFact, ...] = ()
    score: int | None = None  # latest structured IHC score
    has_ish: bool = False

    @property
    def positive(self) -> bool:
        return self.call is Call.POSITIVE

    @property
    def low(self) -> bool:
        """HER2-low: negative, with a structured IHC score of 1+ or 2+ (2+ only with ISH not amplified)."""
        return self.call is Call.NEGATIVE and self.score in (1, 2)

    def describe(self) -> str:
        if self.call is None:
            return "no HER2 result"
        if self.call is Call.EQUIVOCAL and not self.has_ish:
            return "HER2 equivocal (IHC 2+) without ISH"
        label = f"HER2 {self.call.value}"
        return label + (f" (IHC {self.score}+)" if self.score is not None else "")


def her2_status(record: PatientRecord) -> Her2Status:
    """The HER2 status the latest final results give (see module doc)."""
    readings = [read_her2(o) for o in record.observations_in(HER2)]
    readable = [r for r in readings if r.call is not None or r.ratio is not None or r.copies is not None]
    if not readable:
        return Her2Status(None)
    day = _day(readable[0].fact)
    group = [r for r in readable if _day(r.fact) == day]
    ratio = next((r.ratio for r in group if r.ratio is not None), None)
    copies = next((r.copies for r in group if r.copies is not None), None)
    derived = _ish_numbers(ratio, copies)
    calls = [r for r in group if r.call is not None]
    interpretation = [r for r in calls if r.kind == "interpretation"]
    ish = [r.call for r in calls if r.kind == "ish"] + ([derived] if derived else [])
    ihc = [r.call for r in calls if r.kind == "ihc"]
    if interpretation:
        call = interpretation[0].call
    elif any(c is Call.POSITIVE for c in [*ish, *ihc]):
        call = Call.POSITIVE
    elif ish:
        call = ish[0]
    elif ihc:
        call = ihc[0]
    else:
        call = None
    older_or_same = [r for r in readings if r.score is not None and (_day(r.fact) or "") <= (day or "")]
    score = older_or_same[0].score if older_or_same else None
    return Her2Status(call, tuple(r.fact for r in group), score, bool(ish))


def _day(fact: ObservationFact) -> str | None:
    return fact.when.date().isoformat() if fact.when else None


# --- BRAF -------------------------------------------------------------------


class Braf(StrEnum):
    V600 = "V600E/K present"
    OTHER = "BRAF result without V600E/K"
    WILD_TYPE = "BRAF V600 wild-type"
    IHC_NEGATIVE = "BRAF V600E negative by IHC"


PRECEDENCE = (Braf.V600, Braf.OTHER, Braf.WILD_TYPE, Braf.IHC_NEGATIVE)


@dataclass(frozen=True)
class BrafResult:
    kind: Braf
    fact: ObservationFact
    variant: str = ""  # V600E, V600K, or another change as read

    def describe(self) -> str:
        return f"BRAF {self.variant}" if self.kind is Braf.V600 else self.kind.value


def protein_changes(text: str) -> list[str]:
    """Amino-acid changes in one-letter form: 'p.(Val600Glu)' and 'NP_004324.2:p.V600E' both give 'V600E'."""
    found = []
    for match in PROTEIN_CHANGE.finditer(text):
        ref, alt = (_one_letter(match.group(g)) for g in ("ref", "alt"))
        found.append(f"{ref}{match.group('pos')}{alt}")
    return list(dict.fromkeys(found))


def _one_letter(residue: str) -> str:
    if len(residue) == 3:
        return AMINO_ACIDS[residue.capitalize()]
    return residue.upper()


def _braf_variant(fact: ObservationFact) -> BrafResult | None:
    genes = fact.component_values(GENE)
    texts = [_words(v) for v in fact.component_values(AMINO_ACID_CHANGE)]
    texts += [_words(v) for v in fact.component_values(VARIANT_DESCRIPTION)]
    texts.append(_words(fact.value))
    joined = " ".join(texts)
    is_braf = any(BRAF_GENE.matches(g.as_concept()) for g in genes) or (
        not genes and BRAF_PROTEIN_ACCESSION.lower() in joined.lower()
    )
    if not is_braf:
        return None
    return _from_call(fact, answer(_value_concept(fact.value)) or answer(fact.interpretation), joined)


def _from_call(fact: ObservationFact, call: Call | None, text: str) -> BrafResult | None:
    changes = protein_changes(text)
    v600 = [c for c in changes if c in LABEL_V600]
    if call is Call.POSITIVE:
        if v600:
            return BrafResult(Braf.V600, fact, v600[0])
        return BrafResult(Braf.OTHER, fact, changes[0] if changes else "")
    if call is Call.NEGATIVE:
        if changes and not any(c.startswith("V600") for c in changes):
            return None  # another variant tested absent: says nothing about V600
        return BrafResult(Braf.WILD_TYPE, fact)
    return None


def read_braf(fact: ObservationFact) -> BrafResult | None:
    if BRAF_IHC.matches(fact.concept):
        call = answer(_value_concept(fact.value)) or answer(fact.interpretation)
        if call is Call.POSITIVE:
            return BrafResult(Braf.V600, fact, "V600E")
        if call is Call.NEGATIVE:
            return BrafResult(Braf.IHC_NEGATIVE, fact)
        return None
    if VARIANT.matches(fact.concept):
        return _braf_variant(fact)
    if BRAF_TEST.matches(fact.concept):
        parts = [_words(fact.value), *(_words(v) for _, v in fact.components)]
        text = " ".join(parts)
        call = answer(_value_concept(fact.value)) or answer(fact.interpretation)
        if call is None and protein_changes(text):
            call = Call.POSITIVE
        return _from_call(fact, call, text)
    return None


def braf_status(record: PatientRecord) -> BrafResult | None:
    """The most telling final BRAF result: V600E/K anywhere, else another variant, else wild-type, else IHC."""
    found = [r for r in (read_braf(o) for o in record.observations_in(BRAF_ANY)) if r is not None]
    for kind in PRECEDENCE:
        for result in found:  # newest first
            if result.kind is kind:
                return result
    return None


BRAF_ANY = vs("braf_result")
