"""Whether, and how, this call may reach the EHR's FHIR server (SSRF guard).

In production the `fhirServer` must fall under an allow-listed URL prefix and use
https, unless an http prefix was allow-listed explicitly. Sandbox mode accepts
any http(s) server so integrators can point it at a local test server.
In both modes the URL must be a plain base URL: no credentials, query, fragment,
`.`/`..` segments or backslashes. A refused server is answered with a 4xx naming
`fhirServer`, before anything is fetched.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from cdshooks.errors import ApiError
from cdshooks.fhir_client import FhirClient, has_dot_segments
from cdshooks.protocol import HookRequest
from cdshooks.settings import Settings


def _under(url: str, prefix: str) -> bool:
    prefix = prefix.rstrip("/")
    if url == prefix or url.startswith(prefix + "/"):
        a, b = urlsplit(url), urlsplit(prefix)
        return (a.scheme, a.hostname, a.port) == (b.scheme, b.hostname, b.port)
    return False


def _refuse(status: int, error: str, message: str) -> ApiError:
    return ApiError(status, error, message, field="fhirServer")


def check_fhir_server(url: str, settings: Settings) -> None:
    """Raise a 4xx ApiError if this service may not call `url`."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises ValueError on a malformed port
    except ValueError:
        raise _refuse(400, "invalid-fhir-server", "fhirServer is not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise _refuse(400, "invalid-fhir-server", "fhirServer must be an absolute http(s) URL")
    if parts.username is not None or parts.password is not None:
        raise _refuse(400, "invalid-fhir-server", "fhirServer must not carry credentials")
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise _refuse(400, "invalid-fhir-server", "fhirServer must not carry a query or fragment")
    if has_dot_segments(parts.path) or "\\" in url:
        raise _refuse(400, "invalid-fhir-server", "fhirServer must not contain '.' or '..' segments")
    if settings.sandbox:
        return
    allowed = next((p for p in settings.fhir_allowlist if _under(url, p)), None)
    if allowed is None:
        raise _refuse(403, "fhir-server-not-allowed", "fhirServer is not on this service's allowlist")
    if parts.scheme != "https" and not allowed.startswith("http://"):
        raise _refuse(403, "fhir-server-not-allowed", "fhirServer must use https")


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
