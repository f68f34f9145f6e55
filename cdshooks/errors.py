"""Errors answered to the caller as JSON bodies (never a stack trace)."""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from flask import Flask, Response, jsonify
from pydantic import BaseModel, ValidationError
from werkzeug.exceptions import HTTPException

from cdshooks.logs import route_of

log = logging.getLogger("cdshooks")

Model = TypeVar("Model", bound=BaseModel)


class ApiError(Exception):
    """An error the caller can act on: HTTP status, a short code and a message naming the problem."""

    def __init__(
        self, status: int, error: str, message: str, *, headers: dict[str, str] | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.headers = headers or {}
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, **self.details}


def error_response(exc: ApiError) -> Response:
    """The JSON answer for an ApiError, with its headers (a 401 always names the Bearer scheme)."""
    response = jsonify(exc.body())
    response.status_code = exc.status
    response.headers.update(exc.headers)
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return response


def validation_problems(errors: list[dict[str, Any]], prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as [{field, problem}], without echoing the submitted values."""
    problems = []
    for err in errors:
        path = ".".join(str(p) for p in err.get("loc", ()))
        field = f"{prefix}.{path}".strip(".") if prefix else path
        problems.append({"field": field or "(body)", "problem": str(err.get("msg", "invalid"))})
    return problems


def parse_as(model: type[Model], data: Any, *, error: str, message: str, prefix: str = "") -> Model:
    """Validate `data` as `model`, or raise a 400 naming every offending field."""
    if not isinstance(data, dict):
        field = prefix or "(body)"
        raise ApiError(400, error, f"{message}: {field} must be a JSON object", field=field)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, error, message, problems=validation_problems(exc.errors(), prefix)) from None


HTTP_ERROR_NAMES = {413: "payload-too-large", 404: "not-found", 405: "method-not-allowed"}


def too_large(limit: int) -> ApiError:
    return ApiError(413, "payload-too-large", f"the request body is larger than {limit} bytes", field="(body)")


def register_error_handlers(app: Flask, max_request_bytes: int) -> None:
    """Every error is a JSON body naming the problem; an unexpected one is a bare 500, logged by class only."""

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return error_response(exc)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        message = f"the request body is larger than {max_request_bytes} bytes" if code == 413 else None
        body: dict[str, object] = {
            "error": HTTP_ERROR_NAMES.get(code, exc.name.lower().replace(" ", "-")),
            "message": message or exc.description or exc.name,
        }
        if code == 413:
            body["field"] = "(body)"
        response = jsonify(body)
        allow = exc.get_response().headers.get("Allow") if code == 405 else None
        if allow:
            response.headers["Allow"] = allow
        return response, code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.error("unexpected error", extra={"error": type(exc).__name__, "path": route_of()})
        return jsonify({"error": "internal-error", "message": "the service failed to answer"}), 500
