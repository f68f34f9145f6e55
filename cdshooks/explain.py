"""Explain mode: for each rule of the hook, whether it fired and, if not, why — the condition it did
not find, the data that was missing, the resources set aside and why (refuted, resolved, stopped,
another patient's, a topical form…).

For integrators only: `cdshooks call --explain` and the sandbox page's toggle. It is never part of a
CDS Hooks response, and production mode has no route to it. The rules say why they stay silent
through `PatientRecord.because`, which does nothing unless an explanation is being recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Protocol

from cdshooks.engine import RuleOutcome
from cdshooks.facts import SetAside


class HeldBack(Protocol):
    """Why a card that fired was not shown (cdshooks.suppression.Suppressed)."""

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Explanation:
    service: str
    hook: str
    rules: tuple[RuleOutcome, ...]
    set_aside: tuple[SetAside, ...]
    missing_prefetch: tuple[str, ...]  # prefetch keys neither sent nor fetched
    fetched: tuple[str, ...]  # prefetch keys read from the FHIR server
    unavailable: tuple[str, ...]  # data domains that could not be read completely

    def with_held_back(self, held: dict[str, HeldBack]) -> Explanation:
        """This explanation, with the rules whose cards were held back (snoozed, already acted on) saying so."""
        rules = tuple(
            replace(o, status="snoozed", reasons=(held[o.rule.id].describe(),)) if o.rule.id in held else o
            for o in self.rules
        )
        return replace(self, rules=rules)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "hook": self.hook,
            "rules": [
                {
                    "rule": outcome.rule.id,
                    "version": outcome.rule.version,
                    "status": outcome.status,
                    "firesWhen": outcome.rule.fires_when,
                    **({"cards": outcome.findings} if outcome.findings else {}),
                    **({"why": list(outcome.reasons)} if outcome.reasons else {}),
                    **({"missingData": list(outcome.missing)} if outcome.missing else {}),
                }
                for outcome in self.rules
            ],
            "setAside": [{"resource": item.ref, "reason": item.reason} for item in self.set_aside],
            "missingPrefetch": list(self.missing_prefetch),
            "fetchedFromFhirServer": list(self.fetched),
            "unavailableData": list(self.unavailable),
        }

    def to_text(self) -> str:
        """The explanation as an integrator reads it in a terminal."""
        lines = [f"{self.service} ({self.hook}): {sum(o.status == 'fired' for o in self.rules)} rule(s) fired"]
        for outcome in self.rules:
            head = f"  {outcome.rule.id} {outcome.rule.version}: {outcome.status}"
            if outcome.status == "fired":
                lines.append(f"{head} — {outcome.findings} card(s)")
            elif outcome.status == "skipped":
                lines.append(f"{head} — data unavailable: {', '.join(outcome.missing)}")
            elif outcome.status == "shadow":
                lines.append(f"{head} — {outcome.findings} card(s) recorded in the ledger, not shown")
            elif outcome.status == "failed":
                lines.append(f"{head} — the rule raised {', '.join(outcome.reasons)} (see the log)")
            else:
                lines.append(f"{head} — {'; '.join(outcome.reasons) or 'its conditions were not met'}")
        if self.set_aside:
            lines.append("  set aside:")
            lines.extend(f"    {item.ref}: {item.reason}" for item in self.set_aside)
        if self.missing_prefetch:
            lines.append(f"  missing prefetch: {', '.join(self.missing_prefetch)}")
        if self.fetched:
            lines.append(f"  fetched from the FHIR server: {', '.join(self.fetched)}")
        if self.unavailable:
            lines.append(f"  data unavailable: {', '.join(self.unavailable)}")
        return "\n".join(lines)
