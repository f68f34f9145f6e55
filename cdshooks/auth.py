"""Authentication of the calling CDS Client (the JWT in the Authorization header).

Sandbox mode runs without it. Production mode needs trusted issuers; without an
authenticator it refuses to start.
"""

from __future__ import annotations

from typing import Protocol

from cdshooks.settings import Settings


class ConfigurationError(RuntimeError):
    pass


class Authenticator(Protocol):
    def verify(self, authorization: str | None, audience: str) -> dict[str, object]:
        """Return the verified claims, or raise Unauthorized."""
        ...


class Unauthorized(Exception):
    """The token failed verification; the reason is for the log, never for the caller."""


def build_authenticator(settings: Settings) -> Authenticator | None:
    if settings.sandbox:
        return None
    raise ConfigurationError(
        "production mode requires JWT authentication of CDS Clients, which is not available yet; "
        "run with --sandbox for local testing"
    )
