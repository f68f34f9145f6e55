"""Authenticating the calling CDS Client on every CDS endpoint, as a Flask extension.

The JWT checks themselves are in `cdshooks.auth`; this puts them in front of the
endpoints and spends each token's `jti` exactly once (`cdshooks.replay`):
- discovery and feedback calls write the replay row before the endpoint runs;
- a hook call is refused early if its `jti` was seen, and writes the replay row in
  the same transaction as the cards it issued (`commit_with_token`), committed before
  the response is sent; a hook call that ends otherwise (4xx, 5xx) writes it on its
  own after the endpoint, so every verified token is spent.
A refused token is answered 401 with nothing but "invalid token" (the reason goes to
the log), a store that cannot be reached 503. Verified `iss` and `tenant` are kept on
`g.cds_client` for the call's log line and the ledger. Sandbox mode has no
authenticator: every call goes through, and hook calls still write their ledger rows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Flask, Response, g, request
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from cdshooks import metrics, tracing
from cdshooks.auth import Authenticator, Unauthorized, VerifiedToken
from cdshooks.database import Database
from cdshooks.errors import ApiError, error_response
from cdshooks.logs import route_of
from cdshooks.replay import Replayed, ReplayStore

log = logging.getLogger("cdshooks")

CDS_PATH = "/cds-services"


class ClientAuthentication:
    def __init__(
        self,
        authenticator: Authenticator | None,
        database: Database,
        audience_base: str,
        service_ids: frozenset[str],
        *,
        deferred_endpoints: frozenset[str] = frozenset(),
    ) -> None:
        self.authenticator = authenticator
        self.database = database
        self.replay = ReplayStore(database)
        self.audience_base = audience_base.rstrip("/")
        self.service_ids = service_ids  # to log the service of a refused call, never an arbitrary path segment
        self.deferred_endpoints = deferred_endpoints  # endpoints that spend the token with what they write

    def init_app(self, app: Flask) -> None:
        app.extensions["cdshooks.auth"] = self
        app.before_request(self.authenticate)
        app.after_request(self.settle)

    def authenticate(self) -> None:
        if self.authenticator is None or request.method == "OPTIONS" or not request.path.startswith(CDS_PATH):
            return
        with tracing.span("cdshooks.auth") as current:
            try:
                self._authenticate()
            except ApiError as exc:
                current.set_attribute("cdshooks.auth.refused", exc.status == 401)
                raise

    def _authenticate(self) -> None:
        assert self.authenticator is not None
        try:
            token = self.authenticator.verify(request.headers.get("Authorization"), self.audience_base + request.path)
        except Unauthorized as exc:
            raise self._refusal(str(exc)) from None
        g.cds_client = {"iss": token.iss, "tenant": token.tenant}
        try:
            if request.endpoint in self.deferred_endpoints:
                if self.replay.seen(token.iss, token.jti):
                    raise self._refusal("jti replayed")
                g.cds_pending_token = token
            elif not self.replay.first_use(token.iss, token.jti, token.replay_until):
                raise self._refusal("jti replayed")
        except SQLAlchemyError as exc:
            raise self._unavailable(exc) from None

    def commit_with_token(self, write: Callable[[Connection], None]) -> None:
        """Run `write` in one transaction with the call's replay row (if it has a token), and commit it."""
        token: VerifiedToken | None = g.pop("cds_pending_token", None)
        try:
            if token is not None:
                self.replay.maybe_prune()
            with self.database.begin() as conn:
                if token is not None:
                    self.replay.record(conn, token.iss, token.jti, token.replay_until)
                write(conn)
        except Replayed:
            raise self._refusal("jti replayed") from None  # the same token, raced: nothing was written
        except SQLAlchemyError as exc:
            raise self._unavailable(exc, "record this call") from None

    def settle(self, response: Response) -> Response:
        """After a deferred endpoint that did not commit (an error answer): spend the token on its own."""
        token: VerifiedToken | None = g.pop("cds_pending_token", None)
        if token is None:
            return response
        try:
            first = self.replay.first_use(token.iss, token.jti, token.replay_until)
        except SQLAlchemyError as exc:
            return error_response(self._unavailable(exc))
        return response if first else error_response(self._refusal("jti replayed"))

    def _refusal(self, reason: str) -> ApiError:
        metrics.jwt_refused(reason)
        log.warning(
            "authentication failed",
            extra={"reason": reason, "method": request.method, "path": route_of(), "service": self._service()},
        )
        return ApiError(401, "unauthorized", "invalid token")

    def _unavailable(self, exc: Exception, what: str = "check tokens") -> ApiError:
        log.error("store unavailable", extra={"reason": type(exc).__name__, "path": route_of()})
        return ApiError(503, "unavailable", f"the service cannot {what} right now; retry later")

    def _service(self) -> str | None:
        service_id = (request.view_args or {}).get("service_id")
        return service_id if service_id in self.service_ids else None
