"""One hook call as a straight line:
request → prefetch/fetch → patient record → rules → cards → response.

(Authentication happens before, in the HTTP layer; the same pipeline serves the
offline `cdshooks call` command.)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cdshooks import prefetch
from cdshooks.engine import evaluate
from cdshooks.errors import ApiError, parse_as
from cdshooks.fhir_access import open_fhir
from cdshooks.protocol import CONTEXT_MODELS, BaseContext, HookRequest, HookResponse
from cdshooks.record import build_record
from cdshooks.render import render_cards
from cdshooks.services import CdsService
from cdshooks.settings import Settings
from cdshooks.tracing import span


@dataclass(frozen=True)
class Outcome:
    response: HookResponse
    rules: tuple[str, ...]
    missing_keys: tuple[str, ...]


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


def call_service(service: CdsService, payload: Any, settings: Settings, *, now: datetime | None = None) -> Outcome:
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
        with span("cdshooks.rules") as rules:
            fired = evaluate(record)
            rules.set_attribute("cdshooks.rules_fired", tuple(f.rule.id for f in fired))
        with span("cdshooks.render") as render:
            cards = render_cards(fired, record)
            render.set_attribute("cdshooks.cards", len(cards))
        call.set_attribute("cdshooks.cards", len(cards))
        return Outcome(
            HookResponse(cards=cards),
            tuple(f.rule.id for f in fired),
            tuple(sorted(fetched.missing_keys)),
        )
