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

from cdshooks.domains import PrefetchKey
from cdshooks.errors import ApiError
from cdshooks.facts import CURRENT_REQUEST_STATUS, CURRENT_STATEMENT_STATUS
from cdshooks.fhir_client import FhirClient, FhirError
from cdshooks.fhir_read import as_list, flatten, reference, reference_id, status_code

log = logging.getLogger(__name__)

TOKEN = re.compile(r"\{\{\s*([^{}\s]+)\s*\}\}")
USER_TOKENS = {
    "userPractitionerId": "Practitioner",
    "userPractitionerRoleId": "PractitionerRole",
    "userPatientId": "Patient",
    "userRelatedPersonId": "RelatedPerson",
}
MAX_MEDICATION_READS = 20
CURRENT_MEDICATION_STATUS = CURRENT_REQUEST_STATUS | CURRENT_STATEMENT_STATUS


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


def resolve(
    prefetch_keys: Mapping[str, PrefetchKey],
    provided: Mapping[str, Any] | None,
    context: Mapping[str, Any],
    client: FhirClient | None,
) -> Fetched:
    """Take what was prefetched, fetch what is missing, report what could not be had."""
    provided = provided or {}
    result = Fetched()
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
                if kind == "Bundle" and client is not None and _has_next(value):
                    to_follow[key] = value
                else:
                    result.resources.append(value)
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
            log.warning("FHIR fetch failed", extra={"key": key, "reason": str(outcome)})
            result.missing_keys.add(key)
        else:
            result.resources.extend(outcome)
            result.fetched_keys.add(key)

    unresolved = _resolve_medications(result.resources, client)
    if unresolved:
        log.warning("medication references not resolved", extra={"count": unresolved})
        result.unavailable.add("medications")
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


def _resolve_medications(resources: list[dict[str, Any]], client: FhirClient | None) -> int:
    """Fetch Medications that current orders reference but nobody sent; count those still missing."""
    flat = list(flatten(resources))
    known = {f"Medication/{r.get('id')}" for r in flat if r.get("resourceType") == "Medication"}
    wanted: set[str] = set()
    for r in flat:
        if r.get("resourceType") not in {"MedicationRequest", "MedicationStatement"}:
            continue
        if status_code(r.get("status")) not in CURRENT_MEDICATION_STATUS:
            continue
        ref = reference(r.get("medicationReference"))
        med_id = reference_id(ref, "Medication") if ref and not ref.startswith("#") else None
        if med_id and f"Medication/{med_id}" not in known:
            wanted.add(f"Medication/{med_id}")
    if not wanted:
        return 0
    if client is None:
        return len(wanted)
    reads = sorted(wanted)[:MAX_MEDICATION_READS]
    jobs = {ref: (lambda r=ref: [client.get(r)]) for ref in reads}
    missing = len(wanted) - len(reads)
    for outcome in _run_parallel(jobs).values():
        if isinstance(outcome, FhirError):
            missing += 1
        else:
            resources.extend(outcome)
    return missing
