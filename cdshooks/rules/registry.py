"""The rule registry: a rule is one declaration (this decorator) plus its card file.

    @rule(
        "T1", version="1.0.0", hooks=ORDER_HOOKS, needs={"medications"}, reads={"procedures"},
        fills={"order", "drug"},
        fires_when="...", silent_when=("...",),
    )
    def t1(record: PatientRecord) -> Iterable[Finding]: ...

The declaration says everything the rest of the service needs to know about a
rule without running it: the hooks it serves; the data domains it `needs` (to
rule itself *out*: when such data could not be obtained, the rule is skipped
rather than risk a wrong card) and the ones it also `reads`, which together make
the services' prefetch; the bindings each variant of its card is given (`fills`
for the default card, `variants` for the others), which start-up checks every
card placeholder against; and, for the fact sheets, when it fires and when it
must not. `version` is the card's version: it changes whenever the rule's logic
or its card's text changes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from cdshooks.domains import DOMAINS
from cdshooks.facts import Fact
from cdshooks.record import PatientRecord

ORDER_HOOKS = frozenset({"order-select", "order-sign"})
PATIENT_VIEW = frozenset({"patient-view"})
ALL_HOOKS = frozenset({"patient-view", "order-select", "order-sign"})
ALWAYS_BOUND = frozenset({"patient"})  # filled by the renderer for every card
VERSION = re.compile(r"^\d+\.\d+\.\d+$")


@dataclass(frozen=True)
class Finding:
    """Why a rule fired: the facts behind it and the values its card needs."""

    evidence: tuple[Fact, ...]
    bindings: dict[str, str] = field(default_factory=dict)
    variant: str | None = None


def fire(*evidence: Fact | None, variant: str | None = None, **bindings: str) -> Finding:
    """A finding; its evidence lists each resource once (a panel and its component are one resource)."""
    seen: set[str] = set()
    unique = [e for e in evidence if e is not None and not (e.ref in seen or seen.add(e.ref))]
    return Finding(tuple(unique), bindings, variant)


Evaluate = Callable[[PatientRecord], Iterable[Finding]]


class DeclarationError(ValueError):
    """A rule declaration that cannot be right (raised at import, i.e. start-up)."""


@dataclass(frozen=True)
class Rule:
    id: str
    version: str
    hooks: frozenset[str]
    needs: frozenset[str]
    reads: frozenset[str]
    variants: Mapping[str | None, frozenset[str]]  # variant (None: the default card) -> bindings it is given
    evaluate: Evaluate
    fires_when: str = ""
    silent_when: tuple[str, ...] = ()

    @property
    def domains(self) -> frozenset[str]:
        """Every data domain the rule looks at (its prefetch)."""
        return self.needs | self.reads

    def bindings_for(self, variant: str | None) -> frozenset[str]:
        """What a card variant may name: the variant's declared bindings and the ones every card has."""
        return self.variants[variant] | ALWAYS_BOUND

    def mismatch(self, finding: Finding) -> str | None:
        """Why a finding does not fit this declaration (a rule bug), or None."""
        if finding.variant not in self.variants:
            return "undeclared variant"
        missing = self.variants[finding.variant] - finding.bindings.keys()
        if missing:
            return "declared bindings not filled"
        return None


RULES: dict[str, Rule] = {}


def rule(
    rule_id: str,
    *,
    version: str,
    hooks: Iterable[str],
    needs: Iterable[str] = (),
    reads: Iterable[str] = (),
    fills: Iterable[str] = (),
    variants: Mapping[str, Iterable[str]] | None = None,
    fires_when: str = "",
    silent_when: Iterable[str] = (),
) -> Callable[[Evaluate], Evaluate]:
    """Declare and register a rule; a declaration that cannot be right raises DeclarationError."""

    def register(func: Evaluate) -> Evaluate:
        if rule_id in RULES:
            raise DeclarationError(f"rule {rule_id} registered twice")
        if not VERSION.match(version):
            raise DeclarationError(f"rule {rule_id}: version {version!r} is not MAJOR.MINOR.PATCH")
        unknown = (set(needs) | set(reads)) - DOMAINS.keys()
        if unknown:
            raise DeclarationError(f"rule {rule_id}: unknown data domains {sorted(unknown)}")
        bad_hooks = set(hooks) - ALL_HOOKS
        if bad_hooks or not hooks:
            raise DeclarationError(f"rule {rule_id}: hooks must be among {sorted(ALL_HOOKS)}")
        declared: dict[str | None, frozenset[str]] = {None: frozenset(fills)}
        declared.update({name: frozenset(names) for name, names in (variants or {}).items()})
        RULES[rule_id] = Rule(
            id=rule_id,
            version=version,
            hooks=frozenset(hooks),
            needs=frozenset(needs),
            reads=frozenset(reads) - frozenset(needs),
            variants=declared,
            evaluate=func,
            fires_when=fires_when or (func.__doc__ or "").strip(),
            silent_when=tuple(silent_when),
        )
        return func

    return register


def rules_for(hook: str) -> list[Rule]:
    return [r for r in RULES.values() if hook in r.hooks]
