"""Whether, and how, this call may reach the EHR's FHIR server (SSRF guard).

In production the `fhirServer` must fall under an allow-listed URL prefix and use
https, unless an http prefix was allow-listed explicitly. Sandbox mode accepts
any http(s) server so integrators can point it at a local test server.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cdshooks.errors import ApiError
from cdshooks.fhir_client import FhirClient
from cdshooks.protocol import HookRequest
from cdshooks.settings import Settings


def _under(url: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    if url == prefix or url.startswith(prefix + "/"):
        a, b = urlsplit(url), urlsplit(prefix)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
    return False


def check_fhir_server(url: str, settings: Settings) -> None:
    """Raise a 4xx ApiError if this service may not call `url`."""
    parts = urlsplit(url)
    if parts.username or parts.password:
        raise ApiError(400, "invalid-fhir-server", "fhirServer must not carry credentials")
    if settings.sandbox:
        return
    allowed = next((p for p in settings.fhir_allowlist if _under(url, p)), None)
    if allowed is None:
        raise ApiError(403, "fhir-server-not-allowed", "fhirServer is not on this service's allowlist")
    if parts.scheme != "https" and not allowed.startswith("http://"):
        raise ApiError(403, "fhir-server-not-allowed", "fhirServer must use https")


def open_fhir(request: HookRequest, settings: Settings) -> FhirClient | None:
    """A client for the call's FHIR server, or None when the call gives none."""
    if not request.fhirServer:
        return None
    check_fhir_server(request.fhirServer, settings)
    token = request.fhirAuthorization.access_token if request.fhirAuthorization else None
    return FhirClient(
        request.fhirServer,
        token,
        budget_seconds=settings.fhir_budget_seconds,
        request_timeout=settings.fhir_request_timeout,
        max_pages=settings.fhir_max_pages,
    )
