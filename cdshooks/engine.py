"""The rules step: run every rule registered for the hook against the record."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cdshooks.record import PatientRecord
from cdshooks.rules import rules_for
from cdshooks.rules.registry import Finding, Rule

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Fired:
    rule: Rule
    finding: Finding


@dataclass(frozen=True)
class RuleOutcome:
    """What one rule did, for explain mode: fired, silent (and why), skipped for missing data, or failed."""

    rule: Rule
    status: str  # "fired", "silent", "skipped", "failed", "off" (by configuration), "shadow" (fired, not shown)
    reasons: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    findings: int = 0


def evaluate(
    record: PatientRecord, outcomes: list[RuleOutcome] | None = None, *, off: frozenset[str] = frozenset()
) -> list[Fired]:
    """Findings of all rules for the record's hook; a rule lacking data it needs is skipped.

    A deceased patient gets no cards at all (the catalogue's hygiene: the chart may still be opened).

    A rule that raises is logged (by name and exception type only, never the
    data) and skipped: one faulty rule must not take the others down.
    """
    fired: list[Fired] = []
    if record.deceased:
        if outcomes is not None:
            reason = "the patient is deceased: no advice is given"
            outcomes.extend(RuleOutcome(rule, "silent", (reason,)) for rule in rules_for(record.hook))
        return fired  # no advice for a deceased patient
    seen: set[tuple[str, str | None, tuple[tuple[str, str], ...]]] = set()
    for rule in rules_for(record.hook):
        if rule.id in off:
            if outcomes is not None:
                outcomes.append(RuleOutcome(rule, "off", ("switched off by configuration (CDSHOOKS_RULE_MODES)",)))
            continue
        missing = rule.needs & record.unavailable
        if missing:
            log.warning("rule skipped, data unavailable", extra={"rule": rule.id, "missing": sorted(missing)})
            if outcomes is not None:
                outcomes.append(RuleOutcome(rule, "skipped", missing=tuple(sorted(missing))))
            continue
        if outcomes is not None:
            record.reasons = []
        try:
            findings = list(rule.evaluate(record))
        except Exception as exc:  # a rule bug degrades the answer, never fails the call
            log.error("rule failed", extra={"rule": rule.id, "error": type(exc).__name__})
            if outcomes is not None:
                outcomes.append(RuleOutcome(rule, "failed", (type(exc).__name__,)))
            continue
        if outcomes is not None:
            reasons, record.reasons = tuple(record.reasons or ()), None
            status = "fired" if findings else "silent"
            outcomes.append(RuleOutcome(rule, status, () if findings else reasons, findings=len(findings)))
        for finding in findings:
            mismatch = rule.mismatch(finding)
            if mismatch:
                log.error("finding does not match its rule declaration", extra={"rule": rule.id, "reason": mismatch})
                continue
            key = (rule.id, finding.variant, tuple(sorted(finding.bindings.items())))
            if key not in seen:
                seen.add(key)
                fired.append(Fired(rule, finding))
    return fired
