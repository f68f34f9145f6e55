"""The prefetch/fetch step: get every FHIR resource a service asked for.

Prefetch is a hint (spec §Prefetch): a key may be missing, `null`, or an
OperationOutcome. Each such key is fetched from `fhirServer` when the call gives
one. Keys that cannot be had are reported, by key and by data domain, so that
the pipeline can answer 412 (required data) or skip the rules that need it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from cdshooks import metrics
from cdshooks.domains import DOMAINS, PrefetchKey
from cdshooks.errors import ApiError
from cdshooks.fhir_client import FhirClient, FhirError
from cdshooks.fhir_read import ResourceIndex, as_list, flatten, reference, reference_id

log = logging.getLogger(__name__)

TOKEN = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
MAX_REFERENCE_READS = 20  # reads of referenced resources (Medications, panel members) per call


def render_template(template: str, context: Mapping[str, Any]) -> str | None:
    """Fill prefetch tokens from the context; None if a token has no value."""
    failed = False

    def value(match: re.Match[str]) -> str:
        nonlocal failed
        token = match.group(1)
        found: Any = None
        if token.startswith("context."):
            found = context.get(token.removeprefix("context."))
        elif token in USER_TOKENS:
            found = reference_id(str(context.get("userId", "")), USER_TOKENS[token])
        if not isinstance(found, str | int) or isinstance(found, bool) or found == "":
            failed = True
            return ""
        return quote(str(found), safe="")

    rendered = TOKEN.sub(value, template)
    return None if failed else rendered


@dataclass
class Fetched:
    """What the prefetch/fetch step obtained."""

    resources: list[dict[str, Any]] = field(default_factory=list)
    missing_keys: set[str] = field(default_factory=set)
    unavailable: set[str] = field(default_factory=set)  # data domains
    fetched_keys: set[str] = field(default_factory=set)
    index: ResourceIndex = field(default_factory=ResourceIndex)  # every resource of the call, for references
    by_domain: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # what each domain's keys brought


def resolve(
    prefetch_keys: Mapping[str, PrefetchKey],
    provided: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    client: FhirClient | None,
    drafts: dict[str, Any] | None = None,
) -> Fetched:
    """Take what was prefetched, fetch what is missing, resolve the references the readers will need
    (from the call's own Bundles, else the FHIR server), report what could not be had."""
    provided = provided or {}
    result = Fetched()
    if drafts:
        result.index.add(drafts)
    to_fetch: dict[str, str] = {}
    to_follow: dict[str, dict[str, Any]] = {}
    for key, spec in prefetch_keys.items():
        value = provided.get(key, _ABSENT)
        if value is not _ABSENT and value is not None and not isinstance(value, dict):
            raise ApiError(
                400,
                "invalid-prefetch",
                f"prefetch.{key} must be a FHIR resource, a Bundle or null",
                key=key,
                field=f"prefetch.{key}",
            )
        if isinstance(value, dict):
            kind = value.get("resourceType")
            if not isinstance(kind, str):
                raise ApiError(
                    400, "invalid-prefetch", f"prefetch.{key} has no resourceType", key=key, field=f"prefetch.{key}"
                )
            if kind != "OperationOutcome":
                result.index.add(value)
                if kind == "Bundle" and client is not None and _has_next(value):
                    to_follow[key] = value
                else:
                    result.resources.append(value)
                    result.by_domain.setdefault(spec.domain, []).append(value)
                continue
        if value is None and client is None:
            continue  # the client had no data for this key: an empty result
        if client is None:
            result.missing_keys.add(key)
            continue
        query = render_template(spec.template, context)
        if query is None:
            result.missing_keys.add(key)
        else:
            to_fetch[key] = query

    jobs: dict[str, Callable[[], list[dict[str, Any]]]] = {}
    assert client is not None or not (to_fetch or to_follow)
    for key, query in to_fetch.items():
        jobs[key] = lambda q=query: client.search(q)  # type: ignore[union-attr]
    for key, bundle in to_follow.items():
        jobs[key] = lambda b=bundle: client.follow(b)  # type: ignore[union-attr]
    for key, outcome in _run_parallel(jobs).items():
        if isinstance(outcome, FhirError):
            metrics.fhir_failure(str(outcome))
            log.warning("FHIR fetch failed", extra={"key": key, "reason": str(outcome)})
            result.missing_keys.add(key)
        else:
            result.resources.extend(outcome)
            result.by_domain.setdefault(prefetch_keys[key].domain, []).extend(outcome)
            result.fetched_keys.add(key)
            for resource in outcome:
                result.index.add(resource)

    domains = {spec.domain for spec in prefetch_keys.values()}
    for domain, count in _follow_references(result, domains, drafts, client).items():
        log.warning("references not resolved", extra={"key": domain, "count": count})
        result.unavailable.add(domain)
    result.unavailable |= {prefetch_keys[k].domain for k in result.missing_keys}
    return result


_ABSENT = object()


def _has_next(bundle: dict[str, Any]) -> bool:
    return any(isinstance(link, dict) and link.get("relation") == "next" for link in as_list(bundle.get("link")))


def _run_parallel(jobs: dict[str, Callable[[], list[dict[str, Any]]]]) -> dict[str, Any]:
    if not jobs:
        return {}
    if len(jobs) == 1:
        key, job = next(iter(jobs.items()))
        return {key: _catch(job)}
    with ThreadPoolExecutor(max_workers=min(8, len(jobs)), thread_name_prefix="fhir") as pool:
        futures = {key: pool.submit(_catch, job) for key, job in jobs.items()}
        return {key: future.result() for key, future in futures.items()}


def _catch(job: Callable[[], Any]) -> Any:
    try:
        return job()
    except FhirError as exc:
        return exc


def _follow_references(
    result: Fetched, domains: set[str], drafts: dict[str, Any] | None, client: FhirClient | None
) -> dict[str, int]:
    """Read from the server what the domains' resources reference and the call does not hold; count, per
    domain, the references that stay unresolved (that domain's rules are then skipped, not guessed)."""
    wanted: dict[str, tuple[str, str]] = {}  # reference -> (domain, type)
    for domain in (d for d in DOMAINS.values() if d.name in domains and d.follows):
        # only what the domain's own keys brought: a Condition never references a Medication
        for resource in flatten(result.by_domain.get(domain.name, ())):
            if resource.get("resourceType") in domain.resource_types:
                for ref, kind in domain.follow(resource):
                    if result.index.resolve(ref, kind, resource) is None:
                        wanted.setdefault(ref, (domain.name, kind))
    for draft in flatten([drafts]) if drafts else ():
        ref = reference(draft.get("medicationReference")) if draft.get("resourceType") == "MedicationRequest" else ""
        if ref and not ref.startswith("#") and result.index.resolve(ref, "Medication", draft) is None:
            wanted.setdefault(ref, ("medications", "Medication"))
    missing: dict[str, int] = {}
    readable = {ref: spec for ref, spec in wanted.items() if client is not None and not ref.startswith("urn:")}
    reads = dict(sorted(readable.items())[:MAX_REFERENCE_READS])
    jobs = {ref: (lambda r=ref: [client.get(r)]) for ref in reads}  # type: ignore[union-attr]
    outcomes = _run_parallel(jobs)
    for ref, (domain, kind) in wanted.items():
        outcome = outcomes.get(ref)
        if isinstance(outcome, list) and outcome[0].get("resourceType") == kind:
            result.resources.append(outcome[0])
            result.index.add(outcome[0], ref if ref.startswith(("http://", "https://")) else None)
            if result.index.resolve(ref, kind) is not None:
                continue
        missing[domain] = missing.get(domain, 0) + 1
    return missing
