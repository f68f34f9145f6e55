"""Value sets: the one place that knows which codes mean what, and where each code came from.

Value sets are data (`valuesets/*.yaml`), and every code in them names its
source (`valuesets/sources.yaml`: a VSAC expansion with OID, version, repository
and commit; an HL7 implementation guide; the ICD-10-CM tabular). SNOMED CT sets
list exactly the codes a published expansion lists — no descendants are inferred
— and a code picked out of a broader expansion by its display is marked so.

ICD-10-CM entries are categories: a code means itself and every code below it
in the official tabular (as shipped in the `simple-icd-10-cm` package), minus
explicit exclusions; C44.42 is under "squamous cell carcinoma of skin", C44.102
is not. Drugs may also be matched by name in `text`/`display`, because many EHRs
send clinical-drug codes or free text, and some ingredients have no verified
RxNorm code; each value set says whether it does so.

Code systems are compared by short key (`snomed`, `icd10cm`, ...), whatever name
the EHR used for them (`cdshooks.fhir_read.system_key`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cdshooks.fhir_read import Concept, normalise_code
from cdshooks.paths import data_dir

SYSTEM_URIS = {
    "snomed": "http://snomed.info/sct",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "loinc": "http://loinc.org",
    "hgnc": "http://www.genenames.org",
}
SOURCES_FILE = "sources.yaml"
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: the value sets are large
ICD10CM_SOURCE = "icd10cm-2026"


class Source(BaseModel):
    """Where codes came from; VSAC expansions and repositories are pinned to a version and a commit."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field(min_length=1)
    kind: Literal["vsac", "ig", "terminology", "tables"]
    oid: str | None = None
    version: str | None = None
    repository: str | None = None
    commit: str | None = Field(default=None, pattern=r"^[0-9a-f]{40}$")
    path: str | None = None
    package: str | None = None
    note: str = ""

    @model_validator(mode="after")
    def _pinned(self) -> Source:
        if self.kind == "vsac" and not (self.oid and self.version and self.repository and self.commit and self.path):
            raise ValueError("a VSAC source needs oid, version, repository, commit and path")
        if self.kind == "ig" and not (self.package or (self.repository and self.commit)):
            raise ValueError("an implementation-guide source needs its package@version or repository and commit")
        return self


class CodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: Literal["snomed", "icd10cm", "rxnorm", "loinc", "hgnc"]
    code: str = Field(min_length=1)
    display: str = ""
    status: Literal["VERIFIED", "CORROBORATED", "UNVERIFIED"]
    source: str = Field(min_length=1)  # a key of valuesets/sources.yaml
    picked_by_display: str | None = None  # the words its display was picked by, out of a broader expansion


class Icd10Entry(BaseModel):
    """An ICD-10-CM code with everything below it in the tabular, minus `exclude` (and what is below those)."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1)
    exclude: list[str] = []


class ValueSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    codes: list[CodeEntry] = []
    icd10cm: list[Icd10Entry] = []
    names: list[str] = []
    exclude_names: list[str] = []
    includes: list[str] = []
    note: str = ""


@dataclass(frozen=True)
class ValueSet:
    """A named set of codes (and optionally drug names) that a Concept can match."""

    name: str
    title: str
    members: frozenset[tuple[str, str]]
    preferred: tuple[CodeEntry, ...] = ()
    names: tuple[str, ...] = ()
    exclude_names: tuple[str, ...] = ()
    parts: tuple[ValueSet, ...] = ()
    _name_re: re.Pattern[str] | None = field(default=None, compare=False)
    _exclude_re: re.Pattern[str] | None = field(default=None, compare=False)

    def matches(self, value: Concept) -> bool:
        if self.parts:
            return self._may_match(value) and any(part.matches(value) for part in self.parts)
        if any((c.system, c.code) in self.members for c in value.codings):
            return True
        return self.matches_name(value)

    def matches_code(self, value: Concept) -> bool:
        """Whether one of the concept's codes is in the set (names not considered)."""
        return any((c.system, c.code) in self.members for c in value.codings)  # a group's: all its parts'

    def _may_match(self, value: Concept) -> bool:
        """For a group: whether any part could match — one of its codes, or a name of any part (each part
        then applies its own excluded names). Most concepts are none of a group's drugs: one look, not one
        per part."""
        if self.matches_code(value):
            return True
        return bool(self._name_re and self._name_re.search(value.words()))

    def matches_name(self, value: Concept) -> bool:
        """Whether the concept's text or displays name the set (and no excluded name)."""
        if self.parts:
            return self._may_match(value) and any(part.matches_name(value) for part in self.parts)
        if self._name_re is None:
            return False
        words = value.words()
        if not words or not self._name_re.search(words):
            return False
        return not (self._exclude_re and self._exclude_re.search(words))

    def names_in(self, text: str) -> bool:
        """Whether lower-cased text names the set (e.g. a product's whole description)."""
        if self.parts:
            return any(part.names_in(text) for part in self.parts)
        return bool(self._name_re and self._name_re.search(text))

    def member(self, value: Concept) -> ValueSet | None:
        """Which part of a grouped value set matches (the set itself if ungrouped)."""
        if not self.parts:
            return self if self.matches(value) else None
        if not self._may_match(value):
            return None
        return next((part for part in self.parts if part.matches(value)), None)

    def excluded(self, value: Concept) -> bool:
        """True when the name says this is a form the set leaves out (e.g. a topical ointment)."""
        return bool(self._exclude_re and self._exclude_re.search(value.words()))

    def coding(self) -> dict[str, str]:
        """The FHIR Coding to write when building a resource for this concept."""
        best = next((c for c in self.preferred if c.status != "UNVERIFIED"), None)
        if best is None:
            raise LookupError(f"value set {self.name!r} has no verified code to write")
        return {"system": SYSTEM_URIS[best.system], "code": best.code, "display": best.display}

    def codeable_concept(self) -> dict[str, Any]:
        return {"coding": [self.coding()], "text": self.title}


def _word_pattern(words: list[str]) -> re.Pattern[str] | None:
    if not words:
        return None
    return re.compile(r"\b(" + "|".join(re.escape(w.lower()) for w in words) + r")\b")


class Icd10cm:
    """The ICD-10-CM tabular (April 1, 2026, as shipped in simple-icd-10-cm), loaded on first use."""

    def __init__(self) -> None:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the package reads its data with read_text
            import simple_icd_10_cm

        self._cm = simple_icd_10_cm

    def below(self, code: str, where: str) -> set[str]:
        """The code and its descendants, normalised (no dot); an unknown code raises naming `where`."""
        if not self._cm.is_valid_item(code):
            raise ValueError(f"{where}: {code!r} is not an ICD-10-CM code of the April 2026 tabular")
        below = self._cm.get_descendants(code)
        if "-" in code and not below:
            raise ValueError(f"{where}: block {code!r} holds no codes in this tabular (name its sub-blocks)")
        return {normalise_code("icd10cm", c) for c in [code, *below]}

    def expand(self, entry: Icd10Entry, where: str) -> set[str]:
        found = self.below(entry.code, where)
        for excluded in entry.exclude:
            below = self.below(excluded, where)
            if not below <= found:
                raise ValueError(f"{where}: exclude {excluded!r} is not under {entry.code!r}")
            found -= below
        return found


@lru_cache(maxsize=1)
def icd10cm() -> Icd10cm:
    return Icd10cm()


def load_sources(folder: Path) -> dict[str, Source]:
    raw = yaml.load((folder / SOURCES_FILE).read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
    if not isinstance(raw, dict):
        raise ValueError(f"{SOURCES_FILE}: expected a mapping of source names")
    sources = {}
    for name, body in raw.items():
        try:
            sources[name] = Source.model_validate(body)
        except ValidationError as exc:
            raise ValueError(f"{SOURCES_FILE}: {name}: {exc}") from exc
    return sources


def load_valuesets(folder: Path) -> dict[str, ValueSet]:
    """Read and check every value set file; a bad file raises naming file and entry."""
    sources = load_sources(folder)
    found: dict[str, ValueSet] = {}
    groups: dict[str, tuple[ValueSetFile, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name == SOURCES_FILE:
            continue
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=YAML_LOADER) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path.name}: expected a mapping of value set names")
        for name, body in raw.items():
            where = f"{path.name}: {name}"
            if name in found or name in groups:
                raise ValueError(f"{where}: defined twice")
            try:
                spec = ValueSetFile.model_validate(body)
            except ValidationError as exc:
                raise ValueError(f"{where}: {exc}") from exc
            if spec.includes:
                if spec.codes or spec.icd10cm or spec.names:
                    raise ValueError(f"{where}: a group (includes) holds no codes or names of its own")
                groups[name] = (spec, where)
                continue
            unknown = sorted({c.source for c in spec.codes} - sources.keys())
            if unknown:
                raise ValueError(f"{where}: codes name sources not in {SOURCES_FILE}: {unknown}")
            members = {(c.system, normalise_code(c.system, c.code)) for c in spec.codes}
            for entry in spec.icd10cm:
                members |= {("icd10cm", code) for code in icd10cm().expand(entry, where)}
            if not members and not spec.names:
                raise ValueError(f"{where}: has neither codes nor names")
            found[name] = ValueSet(
                name=name,
                title=spec.title,
                members=frozenset(members),
                preferred=tuple(spec.codes),
                names=tuple(spec.names),
                exclude_names=tuple(spec.exclude_names),
                _name_re=_word_pattern(spec.names),
                _exclude_re=_word_pattern(spec.exclude_names),
            )
    for name, (spec, where) in groups.items():
        missing = [part for part in spec.includes if part not in found]
        if missing:
            raise ValueError(f"{where}: includes unknown value sets {missing} (groups cannot nest)")
        parts = tuple(found[part] for part in spec.includes)
        found[name] = ValueSet(
            name=name,
            title=spec.title,
            members=frozenset().union(*(p.members for p in parts)),
            parts=parts,
            _name_re=_word_pattern([n for p in parts for n in p.names]),  # any part's name: `_may_match`
        )
    return found


@lru_cache(maxsize=1)
def valuesets() -> dict[str, ValueSet]:
    return load_valuesets(data_dir("valuesets"))


WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Relevance:
    """What any value set could match: every code (as EHRs write it, dots and case aside) and a word of
    every name.

    A resource none of whose codes or words is here can matter to no rule, so the record does not
    read it further: most of a chart (hypertension, statins, routine visits) is passed over at the
    cost of a few set lookups. A name matches a text only if its longest word is one of the text's
    words, so looking for that word alone never misses a match (and the full match comes later).
    """

    codes: frozenset[str]
    words: frozenset[str]

    def any_code(self, codes: list[str]) -> bool:
        return any(code.replace(".", "").upper() in self.codes for code in codes)

    def any_name(self, text: str) -> bool:
        return bool(text) and not self.words.isdisjoint(WORD.findall(text.lower()))


@lru_cache(maxsize=1)
def relevance() -> Relevance:
    sets = [s for s in valuesets().values() if not s.parts]
    codes = frozenset(code.replace(".", "").upper() for s in sets for _, code in s.members)
    words = frozenset(max(WORD.findall(n.lower()), key=len) for s in sets for n in s.names)
    return Relevance(codes, words)


@lru_cache(maxsize=1)
def _titles() -> dict[tuple[str, str], str]:
    """The title of the first (ungrouped) value set holding each code."""
    titles: dict[tuple[str, str], str] = {}
    for found in valuesets().values():
        if not found.parts:
            for member in found.members:
                titles.setdefault(member, found.title)
    return titles


def title_of(value: Concept) -> str:
    """A readable name for a concept that carries codes but no text or display: the title of the
    first (ungrouped) value set holding one of its codes, else ''."""
    titles = _titles()
    return next((titles[(c.system, c.code)] for c in value.codings if (c.system, c.code) in titles), "")


def vs(name: str) -> ValueSet:
    """The value set called `name`; an unknown name fails at import of the rule using it."""
    try:
        return valuesets()[name]
    except KeyError:
        raise KeyError(f"no value set named {name!r} in valuesets/") from None
