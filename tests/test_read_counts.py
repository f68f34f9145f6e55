"""A call's cost is linear in its prefetch: each resource is looked at, followed and read a constant
number of times, however many rules the hook has.

Every data domain's relevance look, reference follow and reader are wrapped in counters keyed by
the resource; a call is run with the registered rules, then with thirty and with sixty more rules
that each ask for every domain and rerun the real rules' reasoning. In every run each resource is
looked at once and read at most once, and sixty more rules read exactly what thirty more did.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest

from cdshooks.domains import DOMAINS
from cdshooks.fhir_read import flatten
from cdshooks.pipeline import call_service
from cdshooks.record import PatientRecord
from cdshooks.rules.registry import ALL_HOOKS, RULES, Rule
from cdshooks.services import all_services
from cdshooks.settings import Settings
from tests import builders as b
from tests.conftest import draft_med, hook_request

SERVICE_FOR_HOOK = {s.hook: s for s in all_services().values()}
PATIENT_FOR_HOOK = {
    "patient-view": "transplant-cscc-metastatic",
    "order-select": "transplant-cscc",
    "order-sign": "transplant-cscc",
}


def padded(hook: str, extra: int) -> dict[str, Any]:
    """The hook's demo call with `extra` more resources of every domain's kind in its prefetch: ordinary
    ones and ones the rules care about, drugs by reference to Medications elsewhere in the Bundle, panels."""
    bundle = b.load(PATIENT_FOR_HOOK[hook])
    pid = b.patient_id(bundle)
    more: list[dict[str, Any]] = []
    medications = [b.medication(f"m-{i}", b.cc(("rxnorm", "42316", "tacrolimus"))) for i in range(extra)]
    for i in range(extra):
        more += [
            b.condition(pid, f"c-{i}", b.cc(("icd10cm", "I10", "Essential (primary) hypertension"))),
            b.condition(pid, f"scc-{i}", b.cc(("icd10cm", "C44.92", "Squamous cell carcinoma of skin"))),
            b.med_request(pid, f"mr-{i}", f"Medication/m-{i}"),
            b.med_statement(pid, f"ms-{i}", b.cc(("rxnorm", "6918", "metoprolol"))),
            b.observation(pid, f"o-{i}", b.cc(("loinc", "48676-1", "HER2 [Interpretation] in Tissue"))),
            b.procedure(pid, f"p-{i}", b.cc(("snomed", "70536003", "Transplantation of kidney"))),
        ]
    bundle = copy.deepcopy(bundle)
    bundle["entry"] += [{"resource": r} for r in more]
    draft = draft_med(pid, "42316", "tacrolimus") if hook != "patient-view" else None
    request = hook_request(hook, bundle, draft=draft)
    # the Medications come with the orders, as a search with _include brings them
    orders = next(v for v in request["prefetch"].values() if "MedicationRequest" in str(v)[:2000])
    orders["entry"] += [{"resource": m, "search": {"mode": "include"}} for m in medications]
    return request


class Counts:
    """How often each resource (by identity) went through each wrapped step."""

    def __init__(self) -> None:
        self.by_step: dict[str, Counter[int]] = {"relevant": Counter(), "follow": Counter(), "read": Counter()}

    def wrap(self, step: str, func: Callable[..., Any]) -> Callable[..., Any]:
        def counted(resource: Any, *args: Any) -> Any:
            self.by_step[step][id(resource)] += 1
            return func(resource, *args)

        return counted

    def most(self, step: str) -> int:
        return max(self.by_step[step].values(), default=0)

    def total(self, step: str) -> int:
        return sum(self.by_step[step].values())

    def summary(self) -> dict[str, tuple[int, int]]:
        """Per step: (most passes of any one resource, passes in all)."""
        return {step: (self.most(step), self.total(step)) for step in self.by_step}

    def reset(self) -> None:
        for counter in self.by_step.values():
            counter.clear()


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Iterator[Counts]:
    found = Counts()
    for name, domain in DOMAINS.items():
        counted = replace(
            domain,
            relevant=found.wrap("relevant", domain.relevant),
            follow=found.wrap("follow", domain.follow),
            read=found.wrap("read", domain.read),
        )
        monkeypatch.setitem(DOMAINS, name, counted)
    yield found


def more_rules(monkeypatch: pytest.MonkeyPatch, copies: int) -> None:
    """Register rules that read every domain and rerun each real rule's reasoning, keeping no finding."""
    real = list(RULES.values())

    def everything(record: PatientRecord) -> list[Any]:
        for domain in DOMAINS:
            record.facts(domain)
        for rule in real:
            if record.hook in rule.hooks:
                list(rule.evaluate(record))
        return []

    for i in range(copies):
        extra = Rule(
            id=f"Z{i}",
            version="1.0.0",
            hooks=ALL_HOOKS,
            needs=frozenset(),
            reads=frozenset(DOMAINS),
            variants={None: frozenset()},
            evaluate=everything,
        )
        monkeypatch.setitem(RULES, extra.id, extra)


def run(hook: str, payload: dict[str, Any]) -> list[str]:
    outcome = call_service(SERVICE_FOR_HOOK[hook], copy.deepcopy(payload), Settings(sandbox=True))
    return [card.summary for card in outcome.response.cards]


def domain_resources(payload: dict[str, Any]) -> int:
    """The prefetched resources that belong to a data domain (a Medication is reached by reference only)."""
    kinds = {kind for domain in DOMAINS.values() for kind in domain.resource_types}
    return sum(1 for r in flatten(list(payload["prefetch"].values())) if r.get("resourceType") in kinds)


@pytest.mark.parametrize("hook", sorted(PATIENT_FOR_HOOK))
def test_each_resource_is_read_once_however_many_rules(
    hook: str, counts: Counts, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = padded(hook, 20)
    cards = run(hook, payload)
    assert cards, "the demo patient's main rule fires"
    runs = [counts.summary()]
    for copies in (30, 60):
        counts.reset()
        more_rules(monkeypatch, copies)
        assert run(hook, payload) == cards
        runs.append(counts.summary())

    registered, thirty_more, sixty_more = runs
    assert thirty_more == sixty_more  # rules added beyond the first that reads everything cost no reading
    for summary in runs:
        assert summary["relevant"] == (1, domain_resources(payload))  # every resource looked at, once
        assert summary["read"][0] == 1 and summary["follow"][0] <= 1
    assert registered["read"][1] <= thirty_more["read"][1] < thirty_more["relevant"][1]  # ordinary ones unread


def test_looks_grow_with_the_prefetch_not_faster(counts: Counts) -> None:
    totals = []
    for extra in (10, 40):
        counts.reset()
        payload = padded("patient-view", extra)
        run("patient-view", payload)
        totals.append((domain_resources(payload), counts.total("relevant"), counts.total("read")))
    (small, small_looks, small_reads), (large, large_looks, large_reads) = totals
    assert (small_looks, large_looks) == (small, large)
    assert large_reads - small_reads <= (large - small)  # each added resource read at most once
