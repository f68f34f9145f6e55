"""The Flask application factory."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Flask, Response, g, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from cdshooks.api import bp as cds_blueprint
from cdshooks.auth import AuthUnavailable, ConfigurationError, Unauthorized, build_authenticator
from cdshooks.cards import card_catalogue
from cdshooks.errors import ApiError
from cdshooks.feedback import FeedbackStore
from cdshooks.logs import configure_logging
from cdshooks.rules import RULES
from cdshooks.services import all_services
from cdshooks.settings import Settings

log = logging.getLogger("cdshooks")

CORS_METHODS = "GET, POST, OPTIONS"
CORS_HEADERS = "Authorization, Content-Type"
CORS_MAX_AGE = "600"


def _origin_key(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def cors_origins(settings: Settings) -> frozenset[str]:
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


def route_of() -> str:
    """The matched route (e.g. /cds-services/<service_id>), never the raw path, which may carry ids."""
    return request.url_rule.rule if request.url_rule is not None else "(no route)"


def known_service() -> str | None:
    service_id = (request.view_args or {}).get("service_id")
    return service_id if service_id in all_services() else None


def check_catalogue() -> None:
    """Every rule has its card file and every card file its rule; fails start-up otherwise."""
    cards = card_catalogue()
    no_card = sorted(set(RULES) - set(cards))
    no_rule = sorted(set(cards) - set(RULES))
    if no_card or no_rule:
        raise RuntimeError(f"rules without card files: {no_card}; card files without rules: {no_rule}")


def create_app(settings: Settings | None = None, *, feedback_store: FeedbackStore | None = None) -> Flask:
    settings = settings or Settings.from_env()
    configure_logging()
    check_catalogue()
    authenticator = build_authenticator(settings)
    allowed_origins = cors_origins(settings)
    # production (the only mode with an authenticator) refuses to start without CDSHOOKS_PUBLIC_URL
    audience_base = (settings.public_url or "").rstrip("/")
    if settings.sandbox:
        log.warning(
            "SANDBOX MODE: authentication is OFF and plain-http FHIR servers are allowed. "
            "Never expose this instance to real patient data."
        )
    else:
        if not settings.fhir_allowlist:
            log.warning("CDSHOOKS_FHIR_ALLOWLIST is empty: calls that name a fhirServer will be refused")

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["CDSHOOKS_SETTINGS"] = settings
    app.config["CDSHOOKS_FEEDBACK"] = feedback_store or FeedbackStore(settings.database_url)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(cds_blueprint)

    if settings.sandbox:
        from cdshooks.sandbox.routes import bp as sandbox_blueprint

        app.register_blueprint(sandbox_blueprint)

    def cors_value(origin: str) -> str | None:
        """The Access-Control-Allow-Origin to answer `origin` with: `*` in sandbox, the origin if allowed."""
        if settings.sandbox:
            return "*"
        return origin if _origin_key(origin) in allowed_origins else None

    @app.before_request
    def preflight() -> Response | tuple[Response, int] | None:
        """Answer CORS preflights for the CDS endpoints (they carry no Authorization header)."""
        if request.method != "OPTIONS" or not request.path.startswith("/cds-services"):
            return None
        origin = request.headers.get("Origin")
        if not origin or "Access-Control-Request-Method" not in request.headers:
            return None
        allow = cors_value(origin)
        if allow is None:
            log.warning("CORS preflight refused", extra={"path": route_of(), "reason": "origin not allowed"})
            body = {"error": "origin-not-allowed", "message": "this origin may not call the service", "field": "Origin"}
            return jsonify(body), 403
        response = Response(status=204)
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Allow-Methods"] = CORS_METHODS
        response.headers["Access-Control-Allow-Headers"] = CORS_HEADERS
        response.headers["Access-Control-Max-Age"] = CORS_MAX_AGE
        return response

    @app.before_request
    def authenticate() -> None:
        if authenticator is None or request.method == "OPTIONS":
            return
        if not request.path.startswith("/cds-services"):
            return
        try:
            claims = authenticator.verify(request.headers.get("Authorization"), audience_base + request.path)
        except Unauthorized as exc:
            log.warning(
                "authentication failed",
                extra={"reason": str(exc), "method": request.method, "path": route_of(), "service": known_service()},
            )
            raise ApiError(401, "unauthorized", "invalid token") from None
        except AuthUnavailable as exc:
            log.error("authentication unavailable", extra={"reason": str(exc), "path": route_of()})
            raise ApiError(503, "unavailable", "the service cannot check tokens right now; retry later") from None
        tenant = claims.get("tenant")
        g.cds_client = {"iss": claims.get("iss"), "tenant": tenant if isinstance(tenant, str) else None}

    @app.after_request
    def cors_headers(response: Response) -> Response:
        origin = request.headers.get("Origin")
        if not request.path.startswith("/cds-services"):
            return response
        if not settings.sandbox:
            response.vary.add("Origin")
        if origin and "Access-Control-Allow-Origin" not in response.headers:
            allow = cors_value(origin)
            if allow is not None:
                response.headers["Access-Control-Allow-Origin"] = allow
                response.headers["Access-Control-Expose-Headers"] = "WWW-Authenticate"
        return response

    @app.get("/")
    def index() -> Response:
        if settings.sandbox:
            return redirect("/sandbox")  # type: ignore[return-value]
        return jsonify({"service": "cdshooks", "discovery": "/cds-services"})

    @app.get("/healthz")
    def health() -> Response:
        return jsonify({"status": "ok"})

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> tuple[Response, int]:
        response = jsonify(exc.body())
        if exc.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
        return response, exc.status

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[Response, int]:
        code = exc.code or 500
        names = {413: "payload-too-large", 404: "not-found", 405: "method-not-allowed"}
        message = {
            413: f"the request body is larger than {settings.max_request_bytes} bytes",
        }.get(code, exc.description or exc.name)
        body: dict[str, object] = {"error": names.get(code, exc.name.lower().replace(" ", "-")), "message": message}
        if code == 413:
            body["field"] = "(body)"
        response = jsonify(body)
        if code == 405 and exc.get_response().headers.get("Allow"):
            response.headers["Allow"] = exc.get_response().headers["Allow"]
        return response, code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.error("unexpected error", extra={"error": type(exc).__name__, "path": route_of()})
        return jsonify({"error": "internal-error", "message": "the service failed to answer"}), 500

    return app
