"""Lenient readers for FHIR R4 JSON.

Prefetched data is read as plain dicts: validating every resource with the full
models costs tens of milliseconds per call, and real EHRs send imperfect payloads
(Bundles without `type`, `category` as an object instead of an array). These
helpers read only what the rules need and never raise on odd shapes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any

# Every official name of the code systems the service reads (FHIR canonical URIs and HL7 OIDs, as
# `urn:oid:` URIs: ICD-10-CM 2.16.840.1.113883.6.90, SNOMED CT .6.96, RxNorm .6.88, LOINC .6.1).
SYSTEM_ALIASES = {
    "http://snomed.info/sct": "snomed",
    "urn:oid:2.16.840.1.113883.6.96": "snomed",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://hl7.org/fhir/sid/icd-10": "icd10cm",
    "urn:oid:2.16.840.1.113883.6.90": "icd10cm",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
    "urn:oid:2.16.840.1.113883.6.88": "rxnorm",
    "http://loinc.org": "loinc",
    "urn:oid:2.16.840.1.113883.6.1": "loinc",
    "http://www.genenames.org": "hgnc",
    "http://www.genenames.org/geneId": "hgnc",
    "http://www.genenames.org/gene_id": "hgnc",
}


def system_key(system: str | None) -> str:
    """Short name of a code system (`snomed`, `rxnorm`, ...); unknown systems pass through."""
    if not system:
        return ""
    system = system.strip()
    found = SYSTEM_ALIASES.get(system.rstrip("/"))
    if found is None and system[:8].lower() == "urn:oid:":
        found = SYSTEM_ALIASES.get("urn:oid:" + system[8:])
    return found or system


def normalise_code(system: str, code: str) -> str:
    """Codes as compared: ICD-10-CM without dots and upper-case, others stripped."""
    code = code.strip()
    if system == "icd10cm":
        return code.replace(".", "").upper()
    if system == "hgnc":
        return code.upper() if code.upper().startswith("HGNC:") else f"HGNC:{code}"
    return code


def as_list(value: Any) -> list[Any]:
    """A FHIR array that some clients send as a single object (or omit)."""
    if value is None:
        return []
    if isinstance(value, list):
        return value
    return [value]


@dataclass(frozen=True)
class Coding:
    system: str  # short key, see system_key()
    code: str
    display: str = ""


@dataclass(frozen=True)
class Concept:
    """A CodeableConcept (or a lone Coding) reduced to comparable codings and text."""

    codings: tuple[Coding, ...] = ()
    text: str = ""

    @property
    def label(self) -> str:
        if self.text:
            return self.text
        for coding in self.codings:
            if coding.display:
                return coding.display
        return self.codings[0].code if self.codings else ""

    @cached_property
    def _words(self) -> str:
        parts = [self.text, *(c.display for c in self.codings)]
        return " ".join(p for p in parts if p).lower()

    def words(self) -> str:
        """Lower-cased text and displays, for name matching (joined once: every value set asks)."""
        return self._words

    def merged(self, other: Concept) -> Concept:
        return Concept(self.codings + other.codings, self.text or other.text)


def concept(value: Any) -> Concept:
    """Read a CodeableConcept, a Coding, or a list of either, into a Concept."""
    codings: list[Coding] = []
    texts: list[str] = []
    for item in as_list(value):
        if not isinstance(item, dict):
            continue
        if isinstance(item.get("text"), str):
            texts.append(item["text"])
        raw_codings = item.get("coding") if "coding" in item else [item]
        for raw in as_list(raw_codings):
            if isinstance(raw, dict) and isinstance(raw.get("code"), str) and raw["code"].strip():
                system = system_key(raw.get("system") if isinstance(raw.get("system"), str) else None)
                display = raw.get("display") if isinstance(raw.get("display"), str) else ""
                codings.append(Coding(system, normalise_code(system, raw["code"]), display))
    return Concept(tuple(codings), texts[0] if texts else "")


def first_code(value: Any) -> str:
    """The first code of a CodeableConcept-ish value, lower-cased ('' if none)."""
    found = concept(value)
    return found.codings[0].code.lower() if found.codings else ""


def status_code(value: Any) -> str:
    """A status that may be a plain code or a CodeableConcept, lower-cased."""
    if isinstance(value, str):
        return value.strip().lower()
    return first_code(value)


def reference(value: Any) -> str:
    """The `reference` string of a Reference ('' if absent)."""
    if isinstance(value, dict) and isinstance(value.get("reference"), str):
        return value["reference"].strip()
    return ""


def reference_id(ref: str, resource_type: str) -> str | None:
    """The id in `Type/id`, `…/Type/id` or `…/Type/id/_history/n`, if it names that type."""
    parts = [p for p in ref.split("/") if p]
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2] == resource_type:
        return parts[-1]
    return None


def parse_instant(value: Any) -> datetime | None:
    """A FHIR date/dateTime/instant (partial dates allowed) as an aware datetime."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    try:
        if len(text) == 4:
            return datetime(int(text), 1, 1, tzinfo=UTC)
        if len(text) == 7:
            return datetime(int(text[:4]), int(text[5:7]), 1, tzinfo=UTC)
        if len(text) == 10:
            parsed = date.fromisoformat(text)
            return datetime(parsed.year, parsed.month, parsed.day, tzinfo=UTC)
        parsed_dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed_dt if parsed_dt.tzinfo else parsed_dt.replace(tzinfo=UTC)


def first_instant(resource: dict[str, Any], *fields: str) -> datetime | None:
    """The first parseable date among fields; a Period field gives its start."""
    for name in fields:
        value = resource.get(name)
        if isinstance(value, dict):
            value = value.get("start") or value.get("end")
        found = parse_instant(value)
        if found:
            return found
    return None


def bundle_resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources of a Bundle's entries, skipping search outcomes and non-resources."""
    found = []
    entries = bundle.get("entry")
    for entry in entries if type(entries) is list else as_list(entries):
        if type(entry) is not dict:
            continue
        resource = entry.get("resource")
        if type(resource) is dict and type(resource.get("resourceType")) is str:
            search = entry.get("search")
            if type(search) is dict and search.get("mode") == "outcome":
                continue
            found.append(resource)
    return found


def flatten(resources: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Resources with nested Bundles expanded (iteratively: nesting costs no recursion), OperationOutcomes dropped."""
    found: list[dict[str, Any]] = []
    pending: list[Iterator[dict[str, Any]]] = [iter(resources)]
    while pending:
        for resource in pending[-1]:
            kind = resource.get("resourceType")
            if kind == "Bundle":
                pending.append(iter(bundle_resources(resource)))
                break
            if kind != "OperationOutcome":
                found.append(resource)
        else:
            pending.pop()
    return found


class ResourceIndex:
    """The resources of one call by `Type/id` and by the `fullUrl` of their Bundle entry.

    References point to a resource in several ways EHRs use: relative (`Medication/123`), absolute
    (`https://ehr/fhir/Medication/123`, possibly with `/_history/n`), or a Bundle entry's `fullUrl`
    (`urn:uuid:…`). Contained resources (`#id`) are resolved against the referring resource. The maps
    of a resource type are built the first time a reference to that type is resolved: most calls
    resolve none, or only Medications.
    """

    def __init__(self) -> None:
        self._values: list[tuple[dict[str, Any], str | None]] = []
        self._maps: dict[str, tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]] = {}

    @classmethod
    def over(cls, values: Iterable[dict[str, Any]]) -> ResourceIndex:
        index = cls()
        for value in values:
            index.add(value)
        return index

    def add(self, value: dict[str, Any], full_url: str | None = None) -> None:
        """Index a resource (a Bundle: its entries, recursively; OperationOutcomes are skipped)."""
        self._values.append((value, full_url))
        for kind, (by_key, by_url) in self._maps.items():
            self._index(value, full_url, kind, by_key, by_url)

    def _maps_of(self, kind: str) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        maps = self._maps.get(kind)
        if maps is None:
            maps = self._maps[kind] = ({}, {})
            for value, full_url in self._values:
                self._index(value, full_url, kind, *maps)
        return maps

    @staticmethod
    def _index(
        value: dict[str, Any], full_url: str | None, kind: str, by_key: dict[str, Any], by_url: dict[str, Any]
    ) -> None:
        pending = [(value, full_url)]
        while pending:
            resource, url = pending.pop()
            found = resource.get("resourceType")
            if found == "Bundle":
                for entry in reversed(as_list(resource.get("entry"))):  # the first of two equal ids wins
                    if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                        entry_url = entry.get("fullUrl")
                        pending.append((entry["resource"], entry_url if isinstance(entry_url, str) else None))
                continue
            if found != kind:
                continue
            if isinstance(resource.get("id"), str):
                by_key.setdefault(f"{kind}/{resource['id']}", resource)
            if url:
                by_url.setdefault(url.strip(), resource)

    def resolve(self, ref: str, kind: str, referrer: dict[str, Any] | None = None) -> dict[str, Any] | None:
        """The resource of type `kind` that `ref` points to, if the call holds it."""
        ref = ref.strip()
        if not ref:
            return None
        if ref.startswith("#"):
            for contained in as_list((referrer or {}).get("contained")):
                if isinstance(contained, dict) and contained.get("id") == ref[1:]:
                    return contained if contained.get("resourceType") == kind else None
            return None
        by_key, by_url = self._maps_of(kind)
        found = by_url.get(ref)
        if found is None:
            rid = reference_id(ref, kind)
            found = by_key.get(f"{kind}/{rid}") if rid else None
        return found
