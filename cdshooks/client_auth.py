"""Authenticating the calling CDS Client on every CDS endpoint, as a Flask extension.

The JWT checks themselves are in `cdshooks.auth`; this puts them in front of the
endpoints: a refused token is answered 401 with nothing but "invalid token" (the
reason goes to the log), a replay store that cannot be reached 503. Verified
`iss` and `tenant` are kept on `g.cds_client` for the call's log line. Sandbox
mode has no authenticator and lets every call through.
"""

from __future__ import annotations

import logging

from flask import Flask, g, request

from cdshooks.auth import Authenticator, AuthUnavailable, Unauthorized
from cdshooks.errors import ApiError
from cdshooks.logs import route_of

log = logging.getLogger("cdshooks")

CDS_PATH = "/cds-services"


class ClientAuthentication:
    def __init__(self, authenticator: Authenticator | None, audience_base: str, service_ids: frozenset[str]) -> None:
        self.authenticator = authenticator
        self.audience_base = audience_base.rstrip("/")
        self.service_ids = service_ids  # to log the service of a refused call, never an arbitrary path segment

    def init_app(self, app: Flask) -> None:
        app.extensions["cdshooks.auth"] = self
        app.before_request(self.authenticate)

    def authenticate(self) -> None:
        if self.authenticator is None or request.method == "OPTIONS" or not request.path.startswith(CDS_PATH):
            return
        try:
            claims = self.authenticator.verify(request.headers.get("Authorization"), self.audience_base + request.path)
        except Unauthorized as exc:
            log.warning(
                "authentication failed",
                extra={"reason": str(exc), "method": request.method, "path": route_of(), "service": self._service()},
            )
            raise ApiError(401, "unauthorized", "invalid token") from None
        except AuthUnavailable as exc:
            log.error("authentication unavailable", extra={"reason": str(exc), "path": route_of()})
            raise ApiError(503, "unavailable", "the service cannot check tokens right now; retry later") from None
        tenant = claims.get("tenant")
        g.cds_client = {"iss": claims.get("iss"), "tenant": tenant if isinstance(tenant, str) else None}

    def _service(self) -> str | None:
        service_id = (request.view_args or {}).get("service_id")
        return service_id if service_id in self.service_ids else None
