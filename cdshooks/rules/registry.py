"""The rule registry: a rule is one decorated function plus its card file.

    @rule("T1", hooks=ORDER_HOOKS, needs={"medications"})
    def t1(record: PatientRecord) -> Iterable[Finding]: ...

`needs` names the data a rule must have to rule itself *out* (for T1, the
medication list, to know the patient is not already on sirolimus). When such
data could not be obtained, the rule is skipped rather than risk a wrong card.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from cdshooks.record import Fact, PatientRecord

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
PATIENT_VIEW = frozenset({"patient-view"})
DATA_DOMAINS = frozenset({"conditions", "medications", "observations", "procedures", "service_requests", "encounters"})


@dataclass(frozen=True)
class Finding:
    """Why a rule fired: the facts behind it and the values its card needs."""

    evidence: tuple[Fact, ...]
    bindings: dict[str, str] = field(default_factory=dict)
    variant: str | None = None


def fire(*evidence: Fact | None, variant: str | None = None, **bindings: str) -> Finding:
    return Finding(tuple(e for e in evidence if e is not None), bindings, variant)


Evaluate = Callable[[PatientRecord], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    id: str
    hooks: frozenset[str]
    needs: frozenset[str]
    evaluate: Evaluate


RULES: dict[str, Rule] = {}


def rule(rule_id: str, *, hooks: Iterable[str], needs: Iterable[str] = ()) -> Callable[[Evaluate], Evaluate]:
    def register(func: Evaluate) -> Evaluate:
        if rule_id in RULES:
            raise ValueError(f"rule {rule_id} registered twice")
        unknown = set(needs) - DATA_DOMAINS
        if unknown:
            raise ValueError(f"rule {rule_id}: unknown data domains {sorted(unknown)}")
        RULES[rule_id] = Rule(rule_id, frozenset(hooks), frozenset(needs), func)
        return func

    return register


def rules_for(hook: str) -> list[Rule]:
    return [r for r in RULES.values() if hook in r.hooks]
