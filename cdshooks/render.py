"""The cards step: turn findings into CDS Hooks cards from the card files.

Adds what every card carries: a uuid (and one per suggestion) for feedback, a
"Based on" list of the facts that made the rule fire, and an extension with the
rule id, version and resource references so an auditor can replay the decision.
Suggestions for something already among the draft orders, or already ordered
and still pending (a ServiceRequest on file that is draft, active or on hold),
are dropped.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from cdshooks.cards import CardTemplate, fill
from cdshooks.catalogue import catalogue
from cdshooks.engine import Fired
from cdshooks.fhir_read import concept
from cdshooks.protocol import RELATIVE_REF, Action, Card, Suggestion
from cdshooks.record import PatientRecord

log = logging.getLogger(__name__)

EVIDENCE_EXTENSION = "org.cdshooks.evidence"


def evidence_of(card: Card) -> dict[str, Any]:
    """A card's `org.cdshooks.evidence` extension (rule, version, variant, resources); {} when it has none."""
    return (card.extension or {}).get(EVIDENCE_EXTENSION) or {}


MAX_SUMMARY = 139


def render_cards(fired: list[Fired], record: PatientRecord) -> list[Card]:
    """The cards of the findings; a card that fails to render is dropped (and logged), the others answered."""
    entries = catalogue()
    cards = []
    for item in fired:
        try:
            template = entries[item.rule.id].card.variant(item.finding.variant)
            cards.append(_card(item, template, record))
        except Exception as exc:  # a bad card must not take the other cards down
            log.error("card failed to render", extra={"rule": item.rule.id, "error": type(exc).__name__})
    order = {"critical": 0, "warning": 1, "info": 2}
    return sorted(cards, key=lambda c: order[c.indicator])


def _card(item: Fired, template: CardTemplate, record: PatientRecord) -> Card:
    bindings = {"patient": record.patient_id, **item.finding.bindings}
    summary = fill(template.summary, bindings)
    if len(summary) > MAX_SUMMARY:
        summary = summary[: MAX_SUMMARY - 1].rstrip() + "…"
    evidence = item.finding.evidence
    detail = fill(template.detail, bindings).rstrip()
    if evidence:
        detail += "\n\n**Based on**\n" + "\n".join(f"- {fact.evidence()}" for fact in evidence)
    suggestions = [s for s in (_suggestion(t, bindings, record) for t in template.suggestions) if s]
    return Card(
        uuid=str(uuid.uuid4()),
        summary=summary,
        detail=detail,
        indicator=template.indicator,
        source=template.source,
        suggestions=suggestions or None,
        selectionBehavior=template.selectionBehavior if suggestions else None,
        overrideReasons=template.overrideReasons or None,
        links=template.links or None,
        extension={
            EVIDENCE_EXTENSION: {
                "rule": item.rule.id,
                "version": item.rule.version,
                **({"variant": item.finding.variant} if item.finding.variant else {}),
                "resources": [fact.ref for fact in evidence],
            }
        },
    )


def _suggestion(template: Any, bindings: dict[str, str], record: PatientRecord) -> Suggestion | None:
    actions = []
    for action in template.actions:
        resource = fill(action.resource, bindings) if action.resource else None
        if resource is not None:
            if _already_drafted(resource, record):
                return None
            if not _references_valid(resource):
                log.error("suggested resource failed validation", extra={"label": template.label})
                return None
        actions.append(
            Action(
                type=action.type,
                description=fill(action.description, bindings),
                resource=resource,
                resourceId=fill(action.resourceId, bindings) if action.resourceId else None,
            )
        )
    return Suggestion(
        label=fill(template.label, bindings),
        uuid=str(uuid.uuid4()),
        isRecommended=template.isRecommended,
        actions=actions,
    )


def _references_valid(value: Any) -> bool:
    """Whether every reference the bindings wrote into a suggested resource is a FHIR relative reference.

    The resource templates were validated as FHIR resources at start-up (`cdshooks.cards`); at call
    time only the filled-in values vary, and the only typed fields they go into are references.
    """
    if isinstance(value, dict):
        ref = value.get("reference")
        if ref is not None and not (isinstance(ref, str) and RELATIVE_REF.match(ref)):
            return False
        return all(_references_valid(v) for v in value.values() if isinstance(v, dict | list))
    if isinstance(value, list):
        return all(_references_valid(v) for v in value)
    return True


def _already_drafted(resource: dict[str, Any], record: PatientRecord) -> bool:
    """True when a draft order of this session, or a pending order on file, already asks for the same thing."""
    wanted = concept(resource.get("medicationCodeableConcept") or resource.get("code"))
    codes = {(c.system, c.code) for c in wanted.codings}
    text = wanted.text.lower()
    for order in [*record.draft_orders, *record.pending_service_requests()]:
        if order.resource_type != resource.get("resourceType"):
            continue
        if codes & {(c.system, c.code) for c in order.concept.codings}:
            return True
        if text and order.concept.text.lower() == text:
            return True
    return False
