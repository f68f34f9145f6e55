"""One hook call as a straight line:
request → prefetch/fetch → patient record → rules → cards → response.

(Authentication happens before, in the HTTP layer; the same pipeline serves the
offline `cdshooks call` command.)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from cdshooks import prefetch
from cdshooks.engine import RuleOutcome, evaluate
from cdshooks.errors import ApiError, parse_as
from cdshooks.explain import Explanation
from cdshooks.fhir_access import open_fhir
from cdshooks.fingerprint import fingerprint
from cdshooks.protocol import CONTEXT_MODELS, BaseContext, Card, HookRequest, HookResponse
from cdshooks.record import PatientRecord, build_record
from cdshooks.render import evidence_of, render_cards
from cdshooks.services import CdsService
from cdshooks.settings import Settings
from cdshooks.tracing import span


@dataclass(frozen=True)
class Outcome:
    response: HookResponse
    rules: tuple[str, ...]
    missing_keys: tuple[str, ...]
    explanation: Explanation | None = None  # only when asked for (`explain=True`)
    fingerprints: Mapping[str, str] = field(default_factory=dict)  # card uuid -> cdshooks.fingerprint


def parse_request(service: CdsService, payload: Any) -> tuple[HookRequest, BaseContext]:
    request = parse_as(
        HookRequest, payload, error="invalid-request", message="the request does not follow CDS Hooks 2.0"
    )
    if request.hook != service.hook:
        raise ApiError(
            400,
            "wrong-hook",
            f"service {service.id} answers the {service.hook} hook, not {request.hook!r}",
            field="hook",
        )
    context = parse_as(
        CONTEXT_MODELS[service.hook],
        request.context,
        error="invalid-context",
        message=f"the context does not follow the {service.hook} hook",
        prefix="context",
    )
    return request, context


def call_service(
    service: CdsService, payload: Any, settings: Settings, *, now: datetime | None = None, explain: bool = False
) -> Outcome:
    with span("cdshooks.hook_call", **{"cds.service": service.id, "cds.hook": service.hook}) as call:
        with span("cdshooks.parse"):
            request, context = parse_request(service, payload)
        client = open_fhir(request, settings)
        draft_orders = getattr(context, "draftOrders", None)
        drafts = draft_orders.model_dump() if draft_orders is not None else None
        with span("cdshooks.fetch", **{"cdshooks.fhir_server": client is not None}) as fetch:
            fetched = prefetch.resolve(service.prefetch(), request.prefetch, request.context, client, drafts)
            fetch.set_attribute("cdshooks.fetched_keys", len(fetched.fetched_keys))
            fetch.set_attribute("cdshooks.missing_keys", tuple(sorted(fetched.missing_keys)))
        required_missing = sorted(service.required & fetched.missing_keys)
        if required_missing:
            raise ApiError(
                412,
                "precondition-failed",
                "required FHIR data could not be obtained from prefetch or the FHIR server",
                missingPrefetch=required_missing,
            )
        with span("cdshooks.record", **{"cdshooks.resources": len(fetched.resources)}):
            record = build_record(
                patient_id=context.patientId,
                hook=service.hook,
                resources=fetched.resources,
                draft_orders=drafts,
                index=fetched.index,
                selections=getattr(context, "selections", ()),
                unavailable=fetched.unavailable,
                now=now,
            )
        outcomes: list[RuleOutcome] | None = [] if explain else None
        with span("cdshooks.rules") as rules:
            fired = evaluate(record, outcomes, off=settings.rules_in("off"))
            rules.set_attribute("cdshooks.rules_fired", tuple(f.rule.id for f in fired))
        with span("cdshooks.render") as render:
            cards = render_cards(fired, record)
            render.set_attribute("cdshooks.cards", len(cards))
        call.set_attribute("cdshooks.cards", len(cards))
        fingerprints = {card.uuid: _fingerprint(card, record) for card in cards if card.uuid}
        explanation = None
        if outcomes is not None:
            shadow = settings.rules_in("shadow")
            explanation = Explanation(
                service=service.id,
                hook=service.hook,
                rules=tuple(
                    replace(o, status="shadow") if o.status == "fired" and o.rule.id in shadow else o for o in outcomes
                ),
                set_aside=tuple(record.explained()),
                missing_prefetch=tuple(sorted(fetched.missing_keys)),
                fetched=tuple(sorted(fetched.fetched_keys)),
                unavailable=tuple(sorted(record.unavailable)),
            )
        return Outcome(
            HookResponse(cards=cards),
            tuple(f.rule.id for f in fired),
            tuple(sorted(fetched.missing_keys)),
            explanation,
            fingerprints,
        )


def _fingerprint(card: Card, record: PatientRecord) -> str:
    evidence = evidence_of(card)
    return fingerprint(str(evidence.get("rule", "")), str(evidence.get("version", "")),
                       evidence.get("resources", ()), record.version_of)  # fmt: skip
