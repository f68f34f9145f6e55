"""The Flask application factory: configuration and registration only.

What each call goes through is registered here in order — response headers, CORS,
readiness (the database and its schema), then authentication of the CDS Client, then the CDS endpoints (and, in sandbox
mode, the demo page) — but lives in its own module, as do the stores on the one
database (seen JWTs, the card ledger, feedback and its quota). Logging is configured
by the entry points (`cdshooks serve`, `cdshooks call`), not here.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, current_app, jsonify, redirect
from sqlalchemy.exc import SQLAlchemyError

from cdshooks import openapi
from cdshooks.api import bp as cds_blueprint
from cdshooks.auth import build_authenticator
from cdshooks.catalogue import catalogue
from cdshooks.client_auth import ClientAuthentication
from cdshooks.cors import Cors
from cdshooks.database import Database, shown
from cdshooks.errors import register_error_handlers
from cdshooks.feedback import FeedbackStore
from cdshooks.json_provider import OrjsonProvider
from cdshooks.ledger import Ledger, PatientKey
from cdshooks.metrics import Metrics
from cdshooks.quota import FeedbackQuota
from cdshooks.readiness import Readiness
from cdshooks.response_headers import ResponseHeaders
from cdshooks.rules import RULES
from cdshooks.schema import state, upgrade
from cdshooks.services import all_services
from cdshooks.settings import ConfigurationError, Settings
from cdshooks.suppression import SnoozePolicy, Suppressions
from cdshooks.tracing import RequestSpans

log = logging.getLogger("cdshooks")


def create_app(settings: Settings | None = None, *, announce: bool = True) -> Flask:
    """The app. `announce`: log its mode and configuration (once per server: gunicorn's master does,
    its workers do not)."""
    settings = settings or Settings.from_env()
    catalogue()  # every rule against its card: a disagreement stops start-up here
    _check_rule_modes(settings)
    cors = Cors(settings)
    authenticator = build_authenticator(settings)
    database = Database(settings.database_url)
    _prepare_schema(database, settings)
    authentication = ClientAuthentication(
        authenticator,
        database,
        settings.public_url or "",
        frozenset(all_services()),
        deferred_endpoints=frozenset({"cds.call"}),  # a hook call spends its token with its ledger rows
    )
    if announce:
        _announce(settings)

    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.config["CDSHOOKS_SETTINGS"] = settings
    app.config["CDSHOOKS_DATABASE"] = database
    patient_key = PatientKey(settings.patient_key_secret)
    app.config["CDSHOOKS_LEDGER"] = Ledger(
        database, patient_key=patient_key, retention_days=settings.ledger_retention_days
    )
    app.config["CDSHOOKS_SUPPRESSIONS"] = Suppressions(database, patient_key, snooze_policies(settings))
    app.config["CDSHOOKS_FEEDBACK"] = FeedbackStore(database)
    app.config["CDSHOOKS_FEEDBACK_QUOTA"] = FeedbackQuota(
        database, limit=settings.feedback_quota, window_seconds=settings.feedback_quota_window_seconds
    )
    app.json = OrjsonProvider(app)

    ResponseHeaders().init_app(app)
    RequestSpans().init_app(app)
    cors.init_app(app)
    Readiness(database).init_app(app)  # before authentication: a call it would refuse reads no token
    Metrics(settings.metrics_token).init_app(app)
    authentication.init_app(app)
    app.register_blueprint(cds_blueprint)
    if settings.sandbox:
        from cdshooks.sandbox.routes import bp as sandbox_blueprint

        app.register_blueprint(sandbox_blueprint)
    app.add_url_rule("/", "index", _index)
    app.add_url_rule("/healthz", "health", lambda: jsonify({"status": "ok"}))
    app.add_url_rule("/openapi.json", "openapi", lambda: jsonify(openapi.document()))
    register_error_handlers(app, settings.max_request_bytes)
    return app


def snooze_policies(settings: Settings) -> Callable[[str], SnoozePolicy]:
    """Each rule's snooze: its card file's `snooze`, the days defaulting to CDSHOOKS_SNOOZE_DAYS."""
    entries = catalogue()
    policies = {
        rule_id: SnoozePolicy(
            days=entry.card.snooze.days if entry.card.snooze.days is not None else settings.snooze_days,
            patient_wide=frozenset(entry.card.snooze.patientWide),
        )
        for rule_id, entry in entries.items()
    }
    default = SnoozePolicy(days=settings.snooze_days)
    return lambda rule_id: policies.get(rule_id, default)


def _check_rule_modes(settings: Settings) -> None:
    unknown = sorted(set(settings.rule_modes) - set(RULES))
    if unknown:
        raise ConfigurationError(f"CDSHOOKS_RULE_MODES names rules that do not exist: {', '.join(unknown)}")


def _prepare_schema(database: Database, settings: Settings) -> None:
    """Sandbox mode migrates its own database; production only says where the schema stands (replicas
    never migrate at start-up: `cdshooks db upgrade` does, once per deployment)."""
    if settings.sandbox:
        upgrade(database)
        return
    try:
        found = state(database)
    except SQLAlchemyError as exc:  # it may come up later: the replica starts, and is not ready until then
        log.error("database unavailable: not ready", extra={"reason": type(exc).__name__})
        return
    if found.newer:
        log.warning("database schema is newer than this release (a rolling update?)", extra={"reason": found.advice()})
    elif not found.at_head:
        log.error("database schema not at head: not ready", extra={"reason": found.advice()})


def _announce(settings: Settings) -> None:
    """What an operator checks at start-up: the mode, whom it trusts, where it may fetch, where it stores
    (never a credential: the database URL without its password, issuers by name)."""
    database = shown(settings.database_url)
    if settings.sandbox:
        log.warning(
            "SANDBOX MODE: authentication is OFF and plain-http FHIR servers are allowed. "
            "Never expose this instance to real patient data.",
            extra={"mode": "sandbox", "database": database},
        )
        return
    log.info(
        "production mode",
        extra={
            "mode": "production",
            "public_url": settings.public_url,
            "trusted_issuers": sorted(settings.trusted_issuers),
            "pinned_issuers": sorted(settings.pinned_issuers),
            "trusted_tenants": list(settings.trusted_tenants) or "any",
            "fhir_allowlist": list(settings.fhir_allowlist),
            "cors_origins": list(settings.cors_origins),
            "database": database,
            "metrics_token": settings.metrics_token is not None,
        },
    )
    if not settings.fhir_allowlist:
        log.warning("CDSHOOKS_FHIR_ALLOWLIST is empty: calls that name a fhirServer will be refused")


def _index() -> Response:
    if current_app.config["CDSHOOKS_SETTINGS"].sandbox:
        return redirect("/sandbox")  # type: ignore[return-value]
    return jsonify({"service": "cdshooks", "discovery": "/cds-services"})
