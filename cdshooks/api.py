"""HTTP endpoints of the CDS Hooks protocol: discovery, service call, feedback."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import ValidationError

from cdshooks.errors import ApiError, validation_problems
from cdshooks.feedback import FeedbackStore
from cdshooks.pipeline import call_service
from cdshooks.protocol import FeedbackRequest
from cdshooks.services import CdsService, all_services
from cdshooks.settings import Settings

log = logging.getLogger("cdshooks.calls")

bp = Blueprint("cds", __name__)


def read_json() -> Any:
    """The request body as JSON, or a 4xx naming what is wrong with it."""
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "send the body as application/json")
    raw = request.get_data(cache=True)
    try:
        return json.loads(raw)
    except RecursionError:
        raise ApiError(400, "invalid-json", "the JSON body is nested too deeply") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid-json", "the body is not valid JSON") from None


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
    payload = read_json()
    hook_instance = payload.get("hookInstance") if isinstance(payload, dict) else None
    status, cards, rules = 500, 0, ()
    try:
        outcome = call_service(service, payload, settings)
        status, cards, rules = 200, len(outcome.response.cards), outcome.rules
        return jsonify(outcome.response.to_json())
    except ApiError as exc:
        status = exc.status
        raise
    finally:
        log.info(
            "hook call",
            extra={
                "hookInstance": hook_instance if isinstance(hook_instance, str) else None,
                "service": service.id,
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "cards": cards,
                "rules": list(rules),
            },
        )


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    service = service_or_404(service_id)
    payload = read_json()
    if not isinstance(payload, dict):
        raise ApiError(400, "invalid-feedback", "the feedback body must be a JSON object")
    try:
        parsed = FeedbackRequest.model_validate(payload)
    except ValidationError as exc:
        raise ApiError(
            400,
            "invalid-feedback",
            "the feedback does not follow CDS Hooks 2.0",
            problems=validation_problems(exc.errors()),
        ) from None
    store: FeedbackStore = current_app.config["CDSHOOKS_FEEDBACK"]
    stored, duplicates = store.add(service.id, parsed.feedback)
    log.info("feedback", extra={"service": service.id, "stored": stored, "duplicates": duplicates})
    return jsonify({"stored": stored, "duplicates": duplicates})
