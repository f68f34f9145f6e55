"""Tumour markers read from final results: HER2 status and BRAF V600 status.

Results are read where EHRs put them: a stand-alone Observation, a `component` of
a panel (it counts as a result of its own, dated as its panel), or a panel member
(`hasMember`, resolved by the fetch step and read as any other Observation).

HER2 (ASCO/CAP 2023): IHC score 0/1+/2+/3+ (coded or text), ISH amplified or not
(coded, text, or ratio plus copy number), and the overall interpretation (48676-1).
The latest day with a readable result decides; on that day an interpretation
wins, then any positive (IHC 3+ or ISH amplified), then ISH, then IHC. IHC 2+
without ISH is equivocal, never positive; a result that states its own ISH outcome
("IHC 2+, ISH not amplified") has ISH. HER2-low = negative with an IHC score of 1+
or 2+; HER2-ultralow = IHC 0 with faint, incomplete membrane staining (the
trastuzumab deruxtecan label since January 2025); HER2-zero = IHC 0 without.

BRAF: genomics-reporting variant Observations (69548-6) whose gene is BRAF, with
the change in HGVS protein (`p.Val600Glu`, `p.V600E`, `NP_004324.2:p.(Val600Glu)`)
or coding-DNA notation (c.1799T>A is V600E; c.1798_1799delinsAA, also written
c.1798_1799GT>AA, is V600K); BRAF V600E IHC (85299-6); BRAF targeted mutation
analysis (53844-7). Narrative results are read clause by clause: in "BRAF V600E
detected; NRAS and KIT not detected" the negation belongs to NRAS and KIT, while
"No BRAF V600 mutation detected" is BRAF V600 wild-type. A negative result that
names only V600E (by IHC or otherwise) does not exclude V600K.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
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
BRAF_ANY = vs("braf_result")

IHC_SCORE = re.compile(r"(?<![\d.])([0-3])\s*\+")
ULTRALOW = re.compile(r"ultra[\s-]?low|faint|>\s*0\s*(?:and\s*)?<\s*1\s*\+|0\s*<\s*1\s*\+", re.IGNORECASE)
ISH_MENTIONED = re.compile(r"\b(?:f|c|s|d)?ish\b|in situ hybridi[sz]ation", re.IGNORECASE)
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
# BRAF codon 600 is GTG at c.1798-1800: the coding-DNA changes the catalogue names, as protein changes
CODING_CHANGES = {
    "c.1799t>a": "V600E",
    "c.1798_1799delinsaa": "V600K",
    "c.1798_1799gt>aa": "V600K",
}
CODING_CHANGE = re.compile(r"\bc\.\s?\d+(?:_\d+)?(?:[acgt]*>[acgt]+|del[acgt]*ins[acgt]+|dup[acgt]*|del[acgt]*)", re.I)
V600_ANY = re.compile(r"\bV(?:al)?600\b(?![A-Za-z])", re.IGNORECASE)  # "V600" with no change named
GENE_SYMBOL = re.compile(r"\b(BRAF|NRAS|KRAS|HRAS|KIT|EGFR|NF1|MAP2K1|TP53|PTEN|GNAQ|GNA11|TERT|CDKN2A)\b")
NEGATED = re.compile(
    r"\b(?:not\s+(?:detected|identified|present|found|seen)|no\b|negative|absent|wild[\s-]?type|undetected|"
    r"without|none\s+detected)",
    re.IGNORECASE,
)
AFFIRMED = re.compile(r"\b(?:detected|positive|present|identified|mutated|mutation|mutant|found)\b", re.IGNORECASE)
CLAUSE = re.compile(r";|\n|\.(?=\s|$)|,(?=\s)")


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


def value_concept(value: ObservationValue | None) -> Concept:
    return value.as_concept() if value is not None else Concept()


def _words(value: ObservationValue | None) -> str:
    if value is None:
        return ""
    found = value.as_concept()
    return " ".join([found.text, *(c.display for c in found.codings), *(c.code for c in found.codings)]).strip()


# --- results, panels included -------------------------------------------------


def results_in(record: PatientRecord, valueset: ValueSet) -> list[ObservationFact]:
    """Final results in the value set, newest first: stand-alone ones and panel components (computed once)."""
    return record.derived(f"results:{valueset.name}", lambda r: _results(r, valueset))


def _results(record: PatientRecord, valueset: ValueSet) -> list[ObservationFact]:
    found = list(record.observations_in(valueset))
    for panel in record.observations:
        for code, value in panel.components:
            if valueset.matches(code):
                found.append(ObservationFact(panel.ref, code, panel.when, panel.status, value, Concept()))
    return sorted(found, key=lambda f: (0, -f.when.timestamp()) if f.when else (1, 0.0))


# --- HER2 -------------------------------------------------------------------


@dataclass(frozen=True)
class Her2Reading:
    fact: ObservationFact
    kind: str  # ihc | ish | interpretation
    call: Call | None
    score: int | None = None
    ratio: float | None = None
    copies: float | None = None
    ish: Call | None = None  # an ISH outcome the result states besides its IHC score
    ultralow: bool = False


def ihc_score(value: ObservationValue | None) -> int | None:
    """An IHC score 0–3 from '2+', 'Score 1+', 'Positive (3+)', or an integer value."""
    if value is None:
        return None
    if value.quantity is not None and value.quantity in (0, 1, 2, 3) and not value.unit:
        return int(value.quantity)
    text = _words(value)
    match = IHC_SCORE.search(text)
    if match:
        return int(match.group(1))
    if re.match(r"\s*(?:ihc\s*)?0\b", text, re.IGNORECASE):
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


def _stated_ish(text: str) -> Call | None:
    """The ISH outcome an IHC result states in its own text ('IHC 2+, ISH not amplified')."""
    concept = Concept(text=text)
    if not (ISH_MENTIONED.search(text) or AMPLIFIED.matches(concept) or NOT_AMPLIFIED.matches(concept)):
        return None
    if NOT_AMPLIFIED.matches(concept):
        return Call.NEGATIVE
    if AMPLIFIED.matches(concept):
        return Call.POSITIVE
    return None


def read_her2(fact: ObservationFact) -> Her2Reading:
    if HER2_INTERPRETATION.matches(fact.concept):
        kind = "interpretation"
    elif HER2_ISH.matches(fact.concept):
        kind = "ish"
    else:
        kind = "ihc"
    text = " ".join(t for t in (_words(fact.value), fact.notes) if t)
    score = ihc_score(fact.value) if kind != "ish" else None
    ish = _stated_ish(text) if kind == "ihc" and score is not None else None
    scored = kind == "ihc" and score is not None
    call = _score_call(score) if scored and score is not None else answer(value_concept(fact.value))
    ratio = copies = None
    if kind == "ish" and call is None:
        ratio, copies = _number(fact, ISH_RATIO), _number(fact, ISH_COPIES)
        call = _ish_numbers(ratio, copies)
    if call is None and score is not None:
        call = _score_call(score)
    if call is None and not (ratio or copies):
        call = answer(fact.interpretation)
    ultralow = score == 0 and bool(ULTRALOW.search(text))
    return Her2Reading(fact, kind, call, score, ratio, copies, ish, ultralow)


@dataclass(frozen=True)
class Her2Status:
    call: Call | None  # None: no readable HER2 result
    evidence: tuple[ObservationFact, ...] = ()
    score: int | None = None  # latest IHC score
    has_ish: bool = False
    ultralow: bool = False
    earlier_positive: ObservationFact | None = None  # a positive result before the latest one (discordance)

    @property
    def positive(self) -> bool:
        return self.call is Call.POSITIVE

    @property
    def low(self) -> bool:
        """HER2-low: negative, with an IHC score of 1+ or 2+ (2+ only with ISH not amplified)."""
        return self.call is Call.NEGATIVE and self.score in (1, 2)

    @property
    def low_or_ultralow(self) -> bool:
        return self.low or (self.call is Call.NEGATIVE and self.ultralow)

    def describe(self) -> str:
        if self.call is None:
            return "no HER2 result"
        if self.call is Call.EQUIVOCAL and not self.has_ish:
            return "HER2 equivocal (IHC 2+) without ISH"
        if self.call is Call.NEGATIVE and self.ultralow:
            return "HER2-ultralow (IHC 0 with faint staining)"
        if self.low:
            return f"HER2-low (IHC {self.score}+{', ISH not amplified' if self.score == 2 else ''})"
        label = f"HER2 {self.call.value}"
        return label + (f" (IHC {self.score}+)" if self.score is not None else "")


def her2_status(record: PatientRecord) -> Her2Status:
    """The HER2 status the latest final results give (see module doc)."""
    return record.derived("her2", _her2)


def _her2(record: PatientRecord) -> Her2Status:
    readings = [read_her2(o) for o in results_in(record, HER2)]
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
    ish = [r.call for r in calls if r.kind == "ish"] + [r.ish for r in group if r.ish] + ([derived] if derived else [])
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
    ultralow = any(r.ultralow for r in group)
    earlier = next((r.fact for r in readable if _day(r.fact) != day and r.call is Call.POSITIVE), None)
    evidence = tuple(dict.fromkeys(r.fact for r in group))
    return Her2Status(call, evidence, score, bool(ish), ultralow, earlier)


def _day(fact: ObservationFact) -> str | None:
    return fact.when.date().isoformat() if fact.when else None


# --- BRAF -------------------------------------------------------------------


class Braf(StrEnum):
    V600 = "V600E/K present"
    OTHER = "BRAF result without V600E/K"
    WILD_TYPE = "BRAF V600 wild-type"
    IHC_NEGATIVE = "BRAF V600E negative"  # V600E excluded (IHC or a V600E-only result); V600K not


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


def coding_changes(text: str) -> list[str]:
    """BRAF coding-DNA changes as protein changes where the catalogue names them (c.1799T>A is V600E);
    another c. change is reported as written."""
    found = []
    for match in CODING_CHANGE.finditer(text):
        written = re.sub(r"\s", "", match.group(0)).lower()
        found.append(CODING_CHANGES.get(written, written))
    return list(dict.fromkeys(found))


def changes_in(text: str) -> list[str]:
    return list(dict.fromkeys([*coding_changes(text), *protein_changes(_without_coding(text))]))


def _without_coding(text: str) -> str:
    return CODING_CHANGE.sub(" ", text)


def _one_letter(residue: str) -> str:
    if len(residue) == 3:
        return AMINO_ACIDS[residue.capitalize()]
    return residue.upper()


@dataclass(frozen=True)
class Clause:
    """One clause of a BRAF result: whether it affirms or negates, and the changes it names."""

    negated: bool
    affirmed: bool
    changes: tuple[str, ...]
    any_v600: bool


def braf_clauses(text: str, *, about_braf: bool) -> Iterator[Clause]:
    """The clauses of a narrative that speak of BRAF ('NRAS and KIT not detected' does not).

    A clause that names no gene speaks of the gene of the clause before it, or of BRAF when the
    result is a BRAF test (`about_braf`).
    """
    gene_in_force = "BRAF" if about_braf else None
    for part in CLAUSE.split(text):
        if not part.strip():
            continue
        genes = set(GENE_SYMBOL.findall(part.upper()))
        braf_specific = BRAF_PROTEIN_ACCESSION.lower() in part.lower()
        if genes:
            gene_in_force = "BRAF" if "BRAF" in genes else next(iter(genes))
        if gene_in_force != "BRAF" and not braf_specific:
            continue
        changes = tuple(changes_in(part))
        yield Clause(bool(NEGATED.search(part)), bool(AFFIRMED.search(part)), changes, bool(V600_ANY.search(part)))


def _from_clauses(fact: ObservationFact, clauses: list[Clause], call: Call | None) -> BrafResult | None:
    """The BRAF finding of a result's clauses; `call` is the coded answer (present/absent) if any."""
    positives = [c for c in clauses if not c.negated and (c.affirmed or c.changes or call is Call.POSITIVE)]
    negatives = [c for c in clauses if c.negated or (call is Call.NEGATIVE and not c.affirmed)]
    for clause in positives:
        v600 = [change for change in clause.changes if change in LABEL_V600]
        if v600:
            return BrafResult(Braf.V600, fact, v600[0])
    for clause in positives:
        if clause.changes or clause.affirmed or call is Call.POSITIVE:
            return BrafResult(Braf.OTHER, fact, clause.changes[0] if clause.changes else "")
    for clause in negatives:
        named = [change for change in clause.changes if change.startswith("V600")]
        if named and all(change == "V600E" for change in named) and not clause.any_v600:
            return BrafResult(Braf.IHC_NEGATIVE, fact)  # V600E excluded; V600K not
        if clause.changes and not named:
            continue  # another variant tested absent: says nothing about V600
        return BrafResult(Braf.WILD_TYPE, fact)
    return None


def _variant_text(fact: ObservationFact) -> str:
    texts = [_words(v) for v in fact.component_values(AMINO_ACID_CHANGE)]
    texts += [_words(v) for v in fact.component_values(VARIANT_DESCRIPTION)]
    return " ".join(t for t in texts if t)


def _braf_variant(fact: ObservationFact) -> BrafResult | None:
    genes = fact.component_values(GENE)
    variant = _variant_text(fact)
    value_text = " ".join(t for t in (_words(fact.value), fact.notes) if t)
    if genes:
        if not any(BRAF_GENE.matches(g.as_concept()) for g in genes):
            return None
        call = answer(value_concept(fact.value)) or answer(fact.interpretation)
        changes = tuple(changes_in(variant))
        if changes or call is not None:
            clause = Clause(call is Call.NEGATIVE, call is Call.POSITIVE, changes, bool(V600_ANY.search(variant)))
            return _from_clauses(fact, [clause], call)
        return _from_clauses(fact, list(braf_clauses(value_text, about_braf=True)), None)
    if BRAF_PROTEIN_ACCESSION.lower() not in f"{variant} {value_text}".lower() and "BRAF" not in value_text.upper():
        return None
    call = answer(value_concept(fact.value)) or answer(fact.interpretation)
    clauses = list(
        braf_clauses(f"{variant} {value_text}", about_braf=BRAF_PROTEIN_ACCESSION.lower() in variant.lower())
    )
    return _from_clauses(fact, clauses, call if len(clauses) <= 1 else None)


def read_braf(fact: ObservationFact) -> BrafResult | None:
    if BRAF_IHC.matches(fact.concept):
        call = answer(value_concept(fact.value)) or answer(fact.interpretation)
        if call is Call.POSITIVE:
            return BrafResult(Braf.V600, fact, "V600E")
        if call is Call.NEGATIVE:
            return BrafResult(Braf.IHC_NEGATIVE, fact)
        return None
    if VARIANT.matches(fact.concept):
        return _braf_variant(fact)
    if BRAF_TEST.matches(fact.concept):
        # components that are BRAF results themselves are read on their own (see results_in)
        texts = [_words(fact.value), fact.notes, *(_words(v) for c, v in fact.components if not BRAF_ANY.matches(c))]
        text = "; ".join(t for t in texts if t)
        coded = answer(value_concept(fact.value)) if fact.value is not None and fact.value.concept else None
        coded = coded or answer(fact.interpretation)
        clauses = list(braf_clauses(text, about_braf=True))
        if not clauses and coded is not None:
            clauses = [Clause(coded is Call.NEGATIVE, coded is Call.POSITIVE, (), False)]
        return _from_clauses(fact, clauses, coded if len(clauses) <= 1 else None)
    return None


def braf_status(record: PatientRecord) -> BrafResult | None:
    """The most telling final BRAF result: V600E/K anywhere, else another variant, else wild-type, else V600E
    negative."""
    return record.derived("braf", _braf)


def _braf(record: PatientRecord) -> BrafResult | None:
    found = [r for r in (read_braf(o) for o in results_in(record, BRAF_ANY)) if r is not None]
    for kind in PRECEDENCE:
        for result in found:  # newest first
            if result.kind is kind:
                return result
    return None
