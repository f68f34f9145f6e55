"""The data-domain table: which FHIR data the service reads, how it asks for it, how it reads it.

One row per domain: its prefetch templates (key -> FHIR query), the resource
types it holds, the reader that turns each such resource into a fact, and the
references its resources need resolved before they can be read (a Medication a
MedicationRequest points to, the members of a panel). The table drives both ends
of a call: a service's prefetch is the templates of the domains its rules read,
the fetch step resolves the references, and the record reads each domain with
its reader. A new domain is a row here, its reader, and the rules that use it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from cdshooks.facts import Fact, SetAside
from cdshooks.readers import (
    ReadContext,
    medication_references,
    member_references,
    read_condition,
    read_encounter,
    read_episode,
    read_medication,
    read_observation,
    read_patient,
    read_procedure,
    read_request,
    relevant,
)
from cdshooks.terminology import valuesets

Reader = Callable[[Mapping[str, Any], ReadContext], Fact | SetAside]
Follow = Callable[[Mapping[str, Any]], list[tuple[str, str]]]  # resource -> [(reference, resource type)]
Relevant = Callable[[Mapping[str, Any], ReadContext], bool]
PATIENT = "{{context.patientId}}"


def _nothing(_resource: Mapping[str, Any]) -> list[tuple[str, str]]:
    return []


def _always(_resource: Mapping[str, Any], _context: ReadContext) -> bool:
    return True


@dataclass(frozen=True)
class PrefetchKey:
    """One prefetch template and the data domain it feeds."""

    template: str
    domain: str


@dataclass(frozen=True)
class Domain:
    name: str
    prefetch: Mapping[str, str]  # prefetch key -> template
    resource_types: frozenset[str]
    read: Reader
    follow: Follow = _nothing
    relevant: Relevant = _always  # a cheap look: may a rule's value set match this resource at all?

    @property
    def follows(self) -> bool:
        """Whether its resources reference others the reader needs (a Medication, a panel's members)."""
        return self.follow is not _nothing

    def prefetch_keys(self) -> dict[str, PrefetchKey]:
        return {key: PrefetchKey(template, self.name) for key, template in self.prefetch.items()}


def _loinc_codes(name: str) -> str:
    """A token search value listing the LOINC codes of a value set."""
    codes = sorted(code for system, code in valuesets()[name].members if system == "loinc")
    return ",".join(f"http://loinc.org|{code}" for code in codes)


def _table() -> dict[str, Domain]:
    observations = f"Observation?patient={PATIENT}&code={_loinc_codes('prefetch_observations')}"
    rows = [
        Domain("patient", {"patient": f"Patient/{PATIENT}"}, frozenset({"Patient"}), read_patient),
        Domain(
            "conditions",
            {"conditions": f"Condition?patient={PATIENT}"},
            frozenset({"Condition"}),
            read_condition,
            relevant=relevant,
        ),
        Domain(
            "medications",
            {
                "medicationRequests": f"MedicationRequest?patient={PATIENT}",
                "medicationStatements": f"MedicationStatement?patient={PATIENT}",
            },
            frozenset({"MedicationRequest", "MedicationStatement"}),
            read_medication,
            medication_references,
            relevant,
        ),
        Domain(
            "procedures",
            {"procedures": f"Procedure?patient={PATIENT}"},
            frozenset({"Procedure"}),
            read_procedure,
            relevant=relevant,
        ),
        Domain(
            "observations",
            {"observations": observations},
            frozenset({"Observation"}),
            read_observation,
            member_references,
        ),
        Domain(
            "service_requests",
            {"serviceRequests": f"ServiceRequest?patient={PATIENT}"},
            frozenset({"ServiceRequest"}),
            read_request,
            relevant=relevant,
        ),
        Domain(
            "encounters",
            {"encounters": f"Encounter?patient={PATIENT}"},
            frozenset({"Encounter"}),
            read_encounter,
            relevant=relevant,
        ),
        Domain(
            "episodes_of_care",
            {"episodesOfCare": f"EpisodeOfCare?patient={PATIENT}"},
            frozenset({"EpisodeOfCare"}),
            read_episode,
            relevant=relevant,
        ),
    ]
    return {row.name: row for row in rows}


DOMAINS: dict[str, Domain] = _table()


def domain_for_type(resource_type: str) -> Domain | None:
    """The domain holding resources of this type (None: the record does not read them)."""
    for domain in DOMAINS.values():
        if resource_type in domain.resource_types:
            return domain
    return None


def prefetch_keys(domains: set[str] | frozenset[str]) -> dict[str, PrefetchKey]:
    """The prefetch keys of the named domains, in table order."""
    keys: dict[str, PrefetchKey] = {}
    for name, domain in DOMAINS.items():
        if name in domains:
            keys.update(domain.prefetch_keys())
    return keys
