"""CORS for browser CDS Clients (such as the public CDS Hooks sandbox), as a Flask extension.

Browser clients send an `Authorization` header, so every call is preceded by a
preflight. In production only the origins listed in CDSHOOKS_CORS_ORIGINS are
answered, each with its own origin echoed (never `*`, never credentials); sandbox
mode answers any origin with `*`. Only the CDS endpoints (`/cds-services…`) are
concerned.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, jsonify, request

from cdshooks.auth import ConfigurationError
from cdshooks.logs import route_of
from cdshooks.settings import Settings

log = logging.getLogger("cdshooks")

CDS_PATH = "/cds-services"
METHODS = "GET, POST, OPTIONS"
HEADERS = "Authorization, Content-Type"
MAX_AGE = "600"


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def allowed_origins(settings: Settings) -> frozenset[str]:
    """The browser origins allowed to call the CDS endpoints (production); `*` is refused there."""
    origins = set()
    for origin in settings.cors_origins:
        parts = urlsplit(origin.strip())
        if origin.strip() == "*" and not settings.sandbox:
            raise ConfigurationError(
                "CDSHOOKS_CORS_ORIGINS must list origins (https://host[:port]); '*' is only allowed in sandbox mode"
            )
        if origin.strip() != "*" and (
            parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/")
        ):
            raise ConfigurationError(f"CDSHOOKS_CORS_ORIGINS: {origin!r} is not an origin such as https://host:port")
        origins.add(_origin_key(origin))
    return frozenset(origins)


class Cors:
    """Answers preflights and labels responses of the CDS endpoints for allowed origins."""

    def __init__(self, settings: Settings) -> None:
        self.sandbox = settings.sandbox
        self.origins = allowed_origins(settings)

    def init_app(self, app: Flask) -> None:
        app.extensions["cdshooks.cors"] = self
        app.before_request(self.preflight)
        app.after_request(self.label)

    def allow(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin to answer `origin` with: `*` in sandbox, the origin if allowed."""
        if self.sandbox:
            return "*"
        return origin if _origin_key(origin) in self.origins else None

    def preflight(self) -> Response | tuple[Response, int] | None:
        """Answer CORS preflights for the CDS endpoints (they carry no Authorization header)."""
        if request.method != "OPTIONS" or not request.path.startswith(CDS_PATH):
            return None
        origin = request.headers.get("Origin")
        if not origin or "Access-Control-Request-Method" not in request.headers:
            return None
        allow = self.allow(origin)
        if allow is None:
            log.warning("CORS preflight refused", extra={"path": route_of(), "reason": "origin not allowed"})
            body = {"error": "origin-not-allowed", "message": "this origin may not call the service", "field": "Origin"}
            return jsonify(body), 403
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Allow-Methods"] = METHODS
        response.headers["Access-Control-Allow-Headers"] = HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE
        return response

    def label(self, response: Response) -> Response:
        """Echo an allowed origin on actual responses (errors included)."""
        if not request.path.startswith(CDS_PATH):
            return response
        if not self.sandbox:
            response.vary.add("Origin")
        origin = request.headers.get("Origin")
        if origin and "Access-Control-Allow-Origin" not in response.headers:
            allow = self.allow(origin)
            if allow is not None:
                response.headers["Access-Control-Allow-Origin"] = allow
                response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate, Retry-After"
        return response
