"""Liveness and readiness, as an orchestrator probes them.

`/livez`: the process answers. `/readyz`: it can do its work — its database answers and its
schema is at the migrations' head (or ahead of it: a newer release, being rolled out, migrated it,
and migrations stay usable by the release before them); otherwise 503 with the reason (no credentials, no data), and
hook calls and feedback are answered 503 too rather than run against a schema they were not
written for. The check is cached for a few seconds, so probes and calls cost no query each; a
replica turns ready by itself once `cdshooks db upgrade` has run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask, Response, jsonify, request
from sqlalchemy.exc import SQLAlchemyError

from cdshooks.database import Database
from cdshooks.errors import ApiError
from cdshooks.schema import state

log = logging.getLogger("cdshooks")

CHECK_EVERY_SECONDS = 5.0
GUARDED_ENDPOINTS = frozenset({"cds.call", "cds.feedback"})  # the ones that write to the database


class Readiness:
    def __init__(self, database: Database, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.database = database
        self._clock = clock
        self._lock = threading.Lock()
        self._checked_at = float("-inf")
        self._reason: str | None = None

    def problem(self) -> str | None:
        """Why the instance is not ready (None when it is), at most CHECK_EVERY_SECONDS old."""
        now = self._clock()
        with self._lock:
            if now - self._checked_at < CHECK_EVERY_SECONDS:
                return self._reason
            self._checked_at = now
        reason = self._check()
        if reason != self._reason:
            if reason:
                log.error("not ready", extra={"reason": reason})
            else:
                log.info("ready")
        self._reason = reason
        return reason

    def _check(self) -> str | None:
        try:
            found = state(self.database)
        except SQLAlchemyError as exc:
            return f"database unavailable ({type(exc).__name__})"
        if found.at_head or found.newer:
            # newer: a rolling update has migrated the database for the next release, whose migrations
            # keep the schema usable by the release before them; this replica goes on until replaced
            return None
        return f"database schema {found.advice()}"

    def init_app(self, app: Flask) -> None:
        app.extensions["cdshooks.readiness"] = self
        app.add_url_rule("/livez", "livez", lambda: jsonify({"status": "alive"}))
        app.add_url_rule("/readyz", "readyz", self._readyz)
        app.before_request(self._guard)

    def _readyz(self) -> Response | tuple[Response, int]:
        reason = self.problem()
        if reason:
            return jsonify({"status": "not ready", "reason": reason}), 503
        return jsonify({"status": "ready"})

    def _guard(self) -> None:
        if request.endpoint in GUARDED_ENDPOINTS:
            reason = self.problem()
            if reason:
                raise ApiError(503, "unavailable", f"the service is not ready: {reason}", headers={"Retry-After": "5"})
