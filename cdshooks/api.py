"""HTTP endpoints of the CDS Hooks protocol: discovery, service call, feedback."""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from cdshooks.errors import ApiError, parse_as
from cdshooks.feedback import FeedbackStore
from cdshooks.pipeline import call_service
from cdshooks.protocol import FeedbackRequest
from cdshooks.services import CdsService, all_services
from cdshooks.settings import Settings

log = logging.getLogger("cdshooks.calls")

bp = Blueprint("cds", __name__)

MAX_JSON_DEPTH = 100
UUID_LIKE = re.compile(r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def read_json() -> Any:
    """The request body as JSON, or a 4xx naming what is wrong with it.

    The size limit is Flask's MAX_CONTENT_LENGTH (413); NaN/Infinity are refused, and
    so is nesting deeper than MAX_JSON_DEPTH, so later steps never recurse without bound.
    """
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "send the body as application/json", field="Content-Type")
    raw = request.get_data(cache=True)
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "invalid-json", "the JSON body is nested too deeply", field="(body)") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid-json", "the body is not valid JSON", field="(body)") from None
    if json_depth_exceeds(value, MAX_JSON_DEPTH):
        raise ApiError(400, "invalid-json", f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", field="(body)")
    return value


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
        status, cards, rules, missing = 200, len(outcome.response.cards), outcome.rules, outcome.missing_keys
        return jsonify(outcome.response.to_json())
    except ApiError as exc:
        status = exc.status
        missing = tuple(exc.details.get("missingPrefetch", ()))
        raise
    except HTTPException as exc:
        status = exc.code or 500
        raise
    finally:
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


@bp.post("/cds-services/<service_id>/feedback")
def feedback(service_id: str) -> Response:
    service = service_or_404(service_id)
    parsed = parse_as(
        FeedbackRequest, read_json(), error="invalid-feedback", message="the feedback does not follow CDS Hooks 2.0"
    )
    store: FeedbackStore = current_app.config["CDSHOOKS_FEEDBACK"]
    stored, duplicates = store.add(service.id, parsed.feedback)
    log.info("feedback", extra={"service": service.id, "stored": stored, "duplicates": duplicates})
    return jsonify({"stored": stored, "duplicates": duplicates})
