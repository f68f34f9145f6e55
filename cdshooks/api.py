"""HTTP endpoints of the CDS Hooks protocol: discovery, service call, feedback.

A hook call's cards are written to the ledger, with the call's replay row, before the
response leaves (`cdshooks.ledger`). Feedback is taken only for cards in the ledger
issued to the same client at the same service, within a per-issuer quota.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from cdshooks import metrics
from cdshooks.client_auth import ClientAuthentication
from cdshooks.errors import ApiError, parse_as
from cdshooks.feedback import FeedbackStore
from cdshooks.ledger import Issuance, Ledger, LedgerCard, issued_cards
from cdshooks.pipeline import Outcome, call_service
from cdshooks.protocol import Card, FeedbackItem, FeedbackRequest, HookResponse
from cdshooks.quota import FeedbackQuota
from cdshooks.render import evidence_of
from cdshooks.request_body import read_json
from cdshooks.services import CdsService, all_services
from cdshooks.settings import Settings
from cdshooks.suppression import Candidate, Suppressed, Suppressions

log = logging.getLogger("cdshooks.calls")

bp = Blueprint("cds", __name__)

UUID_LIKE = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def loggable_instance(value: Any) -> str | None:
    """hookInstance for the log: a UUID as sent, anything else only as a digest (it is the client's text)."""
    if not isinstance(value, str):
        return None
    if UUID_LIKE.match(value):
        return value
    return "sha256:" + hashlib.sha256(value.encode("utf-8", "replace")).hexdigest()[:16]


def service_or_404(service_id: str) -> CdsService:
    service = all_services().get(service_id)
    if service is None:
        raise ApiError(404, "unknown-service", f"no CDS service with id {service_id!r}")
    return service


@bp.get("/cds-services")
def discovery() -> Response:
    services = [s.descriptor().model_dump(exclude_none=True) for s in all_services().values()]
    return jsonify({"services": services})


@bp.post("/cds-services/<service_id>")
def call(service_id: str) -> Response:
    started = time.perf_counter()
    service = service_or_404(service_id)
    settings: Settings = current_app.config["CDSHOOKS_SETTINGS"]
    client = getattr(g, "cds_client", None) or {}
    status, cards, rules, hook_instance, missing = 500, 0, (), None, ()
    try:
        payload = read_json()
        hook_instance = loggable_instance(payload.get("hookInstance") if isinstance(payload, dict) else None)
        outcome = call_service(service, payload, settings)
        patient_id = payload["context"]["patientId"]  # validated by the pipeline
        user_id = payload["context"].get("userId")
        user_id = user_id if isinstance(user_id, str) else None
        ledger: Ledger = current_app.config["CDSHOOKS_LEDGER"]
        ledger.maybe_prune()
        current_app.config["CDSHOOKS_SUPPRESSIONS"].maybe_prune()
        answer: dict[str, Any] = {}

        def record(conn: Connection) -> None:
            """In the transaction of the call's replay row: what not to show, then the ledger rows."""
            shown, shadow, _ = visible_cards(service, outcome, settings, client, patient_id, user_id, conn=conn)
            issued = issued_cards(shown, outcome.fingerprints)
            if shadow.cards:
                issued += issued_cards(shadow, outcome.fingerprints, shown=False)
            issuance = Issuance(
                service_id=service.id,
                hook_instance=hook_instance,
                iss=client.get("iss"),
                tenant=client.get("tenant"),
                patient_id=patient_id,
                cards=issued,
                user_id=user_id,
            )
            ledger.record(conn, issuance)
            answer["shown"] = shown

        _authentication().commit_with_token(record)
        shown: HookResponse = answer["shown"]
        status, cards, rules, missing = 200, len(shown.cards), outcome.rules, outcome.missing_keys
        metrics.cards_answered(service.id, [(rule_of(card), card.indicator) for card in shown.cards])
        return jsonify(shown.to_json())
    except ApiError as exc:
        status = exc.status
        missing = tuple(exc.details.get("missingPrefetch", ()))
        raise
    except HTTPException as exc:
        status = exc.code or 500
        raise
    finally:
        metrics.hook_call(service.id, status, time.perf_counter() - started)
        log.info(
            "hook call",
            extra={
                "hookInstance": hook_instance,
                "service": service.id,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "cards": cards,
                "rules": list(rules),
                "missing": list(missing),
                "iss": client.get("iss"),
                "tenant": client.get("tenant"),
            },
        )


def visible_cards(
    service: CdsService,
    outcome: Outcome,
    settings: Settings,
    client: dict[str, Any],
    patient_id: str,
    user_id: Any,
    *,
    conn: Connection | None = None,
) -> tuple[HookResponse, HookResponse, dict[str, Suppressed]]:
    """(the response to send, the shadow rules' cards, the cards held back and why): shadow cards are recorded,
    never shown; a snoozed card, or one acted on at order-select, is not shown (cdshooks.suppression). If the
    suppressions cannot be read, every card is shown — a repeated card costs less than a missed one."""
    cards = outcome.response.cards
    if not cards:
        return outcome.response, NO_CARDS, {}
    shadow_rules = settings.rules_in("shadow")
    shadow = [c for c in cards if rule_of(c) in shadow_rules]
    candidates = [c for c in cards if rule_of(c) not in shadow_rules]
    hidden: dict[str, Suppressed] = {}
    if candidates:
        suppressions: Suppressions = current_app.config["CDSHOOKS_SUPPRESSIONS"]
        try:
            hidden = suppressions.hidden(
                conn=conn,
                hook=service.hook,
                iss=client.get("iss"),
                tenant=client.get("tenant"),
                patient_id=patient_id,
                user_id=user_id if isinstance(user_id, str) else None,
                candidates=[
                    Candidate(c.uuid, rule_of(c), c.indicator, outcome.fingerprints.get(c.uuid, ""))
                    for c in candidates
                    if c.uuid
                ],
            )
        except SQLAlchemyError as exc:
            log.error("suppressions unavailable: every card shown", extra={"error": type(exc).__name__})
    if not hidden and not shadow:
        return outcome.response, NO_CARDS, hidden  # the common case: every card shown
    shown = [c for c in candidates if c.uuid not in hidden]
    response = HookResponse(cards=shown, systemActions=outcome.response.systemActions)
    return response, HookResponse(cards=shadow), hidden


NO_CARDS = HookResponse(cards=[])


def rule_of(card: Card) -> str:
    return str(evidence_of(card).get("rule", ""))


UNKNOWN_CARD = "not a card this service issued to this client at this endpoint"


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    service = service_or_404(service_id)
    settings: Settings = current_app.config["CDSHOOKS_SETTINGS"]
    parsed = parse_as(
        FeedbackRequest,
        read_json(min(settings.max_feedback_bytes, settings.max_request_bytes)),
        error="invalid-feedback",
        message="the feedback does not follow CDS Hooks 2.0",
    )
    client = getattr(g, "cds_client", None) or {}
    iss, tenant = client.get("iss"), client.get("tenant")
    try:
        return _take_feedback(service, parsed.feedback, iss, tenant)
    except SQLAlchemyError as exc:
        log.error("store unavailable", extra={"reason": type(exc).__name__, "service": service.id})
        raise ApiError(503, "unavailable", "the service cannot store feedback right now; retry later") from None


def _take_feedback(service: CdsService, items: list[FeedbackItem], iss: str | None, tenant: str | None) -> Response:
    """Quota, then the ledger, then the store."""
    quota: FeedbackQuota = current_app.config["CDSHOOKS_FEEDBACK_QUOTA"]
    if len(items) > quota.limit:
        message = f"at most {quota.limit} feedback items per request (this client's quota per window)"
        raise ApiError(400, "too-many-items", message, field="feedback")
    outcomes = [item.outcome for item in items]
    wait = quota.take(iss, len(items))
    if wait is not None:
        metrics.feedback_items(service.id, outcomes, "over-quota")
        log.warning("feedback quota exceeded", extra={"service": service.id, "iss": iss, "count": len(items)})
        raise ApiError(
            429,
            "too-many-requests",
            f"feedback quota of {quota.limit} items per {quota.window} s for this client reached; retry later",
            headers={"Retry-After": str(wait)},
        )
    known, problems = _unissued(items, service.id, iss, tenant)
    if problems:
        metrics.feedback_items(service.id, outcomes, "unknown-card")
        log.warning("feedback refused", extra={"service": service.id, "iss": iss, "count": len(problems)})
        message = "feedback is taken only for cards this service issued to this client"
        raise ApiError(422, "unknown-card", message, problems=problems)
    store: FeedbackStore = current_app.config["CDSHOOKS_FEEDBACK"]
    new = store.add_each(service.id, items, iss=iss, tenant=tenant)
    for outcome, is_new in zip(outcomes, new, strict=True):
        metrics.feedback_items(service.id, [outcome], "stored" if is_new else "duplicate")
    stored, duplicates = sum(new), len(new) - sum(new)
    suppressions: Suppressions = current_app.config["CDSHOOKS_SUPPRESSIONS"]
    suppressions.after_feedback(service.hook, [item for item, is_new in zip(items, new, strict=True) if is_new], known)
    log.info("feedback", extra={"service": service.id, "stored": stored, "duplicates": duplicates, "iss": iss})
    return jsonify({"stored": stored, "duplicates": duplicates})


def _unissued(
    items: list[FeedbackItem], service_id: str, iss: str | None, tenant: str | None
) -> tuple[dict[str, LedgerCard], list[dict[str, str]]]:
    """The ledger's cards of the items, and problems for items whose card (or accepted suggestion) the ledger
    does not hold for this client and service.

    A card issued to another client or at another service gets the same answer as one
    never issued, so the answer tells nothing about other tenants' cards.
    """
    ledger: Ledger = current_app.config["CDSHOOKS_LEDGER"]
    known = ledger.cards(item.card for item in items)
    problems = []
    for index, item in enumerate(items):
        card = known.get(item.card)
        if card is None or (card.service_id, card.iss, card.tenant) != (service_id, iss, tenant):
            problems.append({"field": f"feedback.{index}.card", "problem": UNKNOWN_CARD})
            continue
        for position, accepted in enumerate(item.acceptedSuggestions or ()):
            if accepted.id not in card.suggestion_uuids:
                problems.append(
                    {
                        "field": f"feedback.{index}.acceptedSuggestions.{position}.id",
                        "problem": "not a suggestion of this card",
                    }
                )
    return known, problems


def _authentication() -> ClientAuthentication:
    return current_app.extensions["cdshooks.auth"]  # type: ignore[no-any-return]
