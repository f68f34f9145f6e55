"""The Flask application factory."""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify, redirect, request
from werkzeug.exceptions import HTTPException

from cdshooks.api import bp as cds_blueprint
from cdshooks.auth import Unauthorized, build_authenticator
from cdshooks.cards import card_catalogue
from cdshooks.errors import ApiError
from cdshooks.feedback import FeedbackStore
from cdshooks.logs import configure_logging
from cdshooks.rules import RULES
from cdshooks.settings import Settings

log = logging.getLogger("cdshooks")


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
    if settings.sandbox:
        log.warning(
            "SANDBOX MODE: authentication is OFF and plain-http FHIR servers are allowed. "
            "Never expose this instance to real patient data."
        )

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["CDSHOOKS_SETTINGS"] = settings
    app.config["CDSHOOKS_FEEDBACK"] = feedback_store or FeedbackStore(settings.database_url)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.register_blueprint(cds_blueprint)

    if settings.sandbox:
        from cdshooks.sandbox.routes import bp as sandbox_blueprint

        app.register_blueprint(sandbox_blueprint)

    @app.before_request
    def authenticate() -> None:
        if authenticator is None or request.method == "OPTIONS":
            return
        if not request.path.startswith("/cds-services"):
            return
        base = (settings.public_url or request.host_url).rstrip("/")
        try:
            authenticator.verify(request.headers.get("Authorization"), base + request.path)
        except Unauthorized as exc:
            log.warning("authentication failed", extra={"reason": str(exc), "path": request.path})
            raise ApiError(401, "unauthorized", "invalid token") from None

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
        return jsonify({"error": names.get(code, exc.name.lower().replace(" ", "-")), "message": message}), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[Response, int]:
        log.error("unexpected error", extra={"error": type(exc).__name__, "path": request.path})
        return jsonify({"error": "internal-error", "message": "the service failed to answer"}), 500

    return app
