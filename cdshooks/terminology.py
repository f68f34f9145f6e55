"""Value sets: the one place that knows which codes mean what.

Value sets are data (`valuesets/*.yaml`); ICD-10-CM members come from explicit
leaf lists of the official tabular (never from prefixes: C44.x2 is SCC, C44.102
is not). Drugs may also be matched by name in `text`/`display`, because many EHRs
send clinical-drug codes or free text, and some ingredients have no verified
RxNorm code; each value set says whether it does so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from cdshooks.fhir_read import Concept, normalise_code
from cdshooks.paths import data_dir

SYSTEM_URIS = {
    "snomed": "http://snomed.info/sct",
    "icd10cm": "http://hl7.org/fhir/sid/icd-10-cm",
    "rxnorm": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "loinc": "http://loinc.org",
    "hgnc": "http://www.genenames.org",
}

ICD10CM_FILE = "icd10cm_April2026.json"


class CodeEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: Literal["snomed", "icd10cm", "rxnorm", "loinc", "hgnc"]
    code: str = Field(min_length=1)
    display: str = ""
    status: Literal["VERIFIED", "CORROBORATED", "UNVERIFIED"]


class Icd10Include(BaseModel):
    model_config = ConfigDict(extra="forbid")
    list: str
    only: list[str] | None = None
    exclude: list[str] | None = None


class ValueSetFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    codes: list[CodeEntry] = []
    icd10cm: list[Icd10Include] = []
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
            return any(part.matches(value) for part in self.parts)
        if any((c.system, c.code) in self.members for c in value.codings):
            return True
        if self._name_re is None:
            return False
        words = value.words()
        if not words or not self._name_re.search(words):
            return False
        return not (self._exclude_re and self._exclude_re.search(words))

    def member(self, value: Concept) -> ValueSet | None:
        """Which part of a grouped value set matches (the set itself if ungrouped)."""
        if not self.parts:
            return self if self.matches(value) else None
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


def _icd10_members(spec: Icd10Include, lists: dict[str, list[list[str]]], where: str) -> set[str]:
    if spec.list not in lists:
        raise ValueError(f"{where}: unknown ICD-10-CM list {spec.list!r}")
    codes = {code for code, _ in lists[spec.list]}
    for label, chosen in (("only", spec.only), ("exclude", spec.exclude)):
        unknown = set(chosen or []) - codes
        if unknown:
            raise ValueError(f"{where}: {label} names codes not in {spec.list}: {sorted(unknown)}")
    if spec.only:
        codes &= set(spec.only)
    codes -= set(spec.exclude or [])
    return {normalise_code("icd10cm", c) for c in codes}


def load_valuesets(folder: Path) -> dict[str, ValueSet]:
    """Read and check every value set file; a bad file raises naming file and entry."""
    lists = json.loads((folder / ICD10CM_FILE).read_text(encoding="utf-8"))
    found: dict[str, ValueSet] = {}
    groups: dict[str, tuple[ValueSetFile, str]] = {}
    for path in sorted(folder.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(raw, dict):
            raise ValueError(f"{path.name}: expected a mapping of value set names")
        for name, body in raw.items():
            where = f"{path.name}: {name}"
            if name in found:
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
            members = {(c.system, normalise_code(c.system, c.code)) for c in spec.codes}
            for include in spec.icd10cm:
                members |= {("icd10cm", code) for code in _icd10_members(include, lists, where)}
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
        if name in found:
            raise ValueError(f"{where}: defined twice")
        missing = [part for part in spec.includes if part not in found]
        if missing:
            raise ValueError(f"{where}: includes unknown value sets {missing} (groups cannot nest)")
        parts = tuple(found[part] for part in spec.includes)
        found[name] = ValueSet(
            name=name,
            title=spec.title,
            members=frozenset().union(*(p.members for p in parts)),
            parts=parts,
        )
    return found


@lru_cache(maxsize=1)
def valuesets() -> dict[str, ValueSet]:
    return load_valuesets(data_dir("valuesets"))


def title_of(value: Concept) -> str:
    """A readable name for a concept that carries codes but no text or display: the title of the
    first (ungrouped) value set holding one of its codes, else ''."""
    codes = {(c.system, c.code) for c in value.codings}
    for found in valuesets().values():
        if not found.parts and codes & found.members:
            return found.title
    return ""


def vs(name: str) -> ValueSet:
    """The value set called `name`; an unknown name fails at import of the rule using it."""
    try:
        return valuesets()[name]
    except KeyError:
        raise KeyError(f"no value set named {name!r} in valuesets/") from None
