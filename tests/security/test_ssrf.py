"""The SSRF guard: which fhirServer this service may call, and where its token may go."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from cdshooks.app import create_app
from cdshooks.errors import ApiError
from cdshooks.fhir_access import check_fhir_server
from cdshooks.fhir_client import FhirClient, FhirError
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, service_url
from tests.fhir_stub import StubFhirServer
from tests.security.jwt_helpers import HOOK, bearer, mint, production_settings

PROD = Settings(sandbox=False, fhir_allowlist=("https://ehr.example.org/fhir", "http://10.1.2.3:8080/r4"))
SANDBOX = Settings(sandbox=True)


@pytest.mark.parametrize(
    "url",
    [
        "https://ehr.example.org/fhir",
        "https://ehr.example.org/fhir/",
        "https://ehr.example.org/fhir/tenant-a",
        "http://10.1.2.3:8080/r4",  # an http prefix allow-listed explicitly
    ],
)
def test_allowed_servers(url: str) -> None:
    check_fhir_server(url.rstrip("/"), PROD)


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("https://evil.example.net/fhir", 403),
        ("https://ehr.example.org.evil.net/fhir", 403),  # prefix of the host name
        ("https://ehr.example.org/fhirx", 403),  # prefix of a path segment
        ("https://ehr.example.org/other", 403),
        ("https://ehr.example.org:8443/fhir", 403),  # another port
        ("http://ehr.example.org/fhir", 403),  # http where only https is allow-listed
        ("https://10.1.2.3:8080/r4", 403),  # https where the http prefix is the one allowed
        ("http://169.254.169.254/latest/meta-data", 403),  # cloud metadata
        ("http://127.0.0.1:8080/fhir", 403),
        ("https://user:pw@ehr.example.org/fhir", 400),
        ("https://ehr.example.org@evil.net/fhir", 400),
        ("https://ehr.example.org/fhir?_format=json", 400),
        ("https://ehr.example.org/fhir#x", 400),
        ("https://ehr.example.org/fhir/../admin", 400),
        ("https://ehr.example.org/fhir/%2E%2E/admin", 400),
        ("https://ehr.example.org/fhir\\..\\admin", 400),
        ("https://ehr.example.org:99999/fhir", 400),
        ("ftp://ehr.example.org/fhir", 400),
    ],
)
def test_refused_servers(url: str, status: int) -> None:
    with pytest.raises(ApiError) as refused:
        check_fhir_server(url, PROD)
    assert refused.value.status == status
    assert refused.value.body()["field"] == "fhirServer"


def test_sandbox_allows_plain_http_but_not_credentials() -> None:
    check_fhir_server("http://127.0.0.1:8080/fhir", SANDBOX)
    with pytest.raises(ApiError):
        check_fhir_server("http://user:pw@127.0.0.1:8080/fhir", SANDBOX)


def test_production_with_empty_allowlist_refuses_every_server() -> None:
    with pytest.raises(ApiError) as refused:
        check_fhir_server("https://ehr.example.org/fhir", Settings(sandbox=False))
    assert refused.value.status == 403


@pytest.mark.parametrize(
    ("url", "on_server"),
    [
        ("https://ehr.example.org/fhir/Condition?patient=1", True),
        ("HTTPS://EHR.example.org/fhir/Condition", True),
        ("https://ehr.example.org:443/fhir/Condition", True),
        ("https://ehr.example.org/fhir", True),
        ("http://ehr.example.org/fhir/Condition", False),
        ("https://ehr.example.org:444/fhir/Condition", False),
        ("https://ehr.example.org/fhirx/Condition", False),
        ("https://ehr.example.org/fhir/../admin", False),
        ("https://ehr.example.org/fhir/%2e%2e/admin", False),
        ("https://ehr.example.org.evil.net/fhir/Condition", False),
        ("https://x@ehr.example.org/fhir/Condition", False),
        ("https://evil.net/fhir/Condition", False),
    ],
)
def test_client_keeps_to_its_server(url: str, on_server: bool) -> None:
    client = FhirClient("https://ehr.example.org/fhir", "t", budget_seconds=1, request_timeout=1, max_pages=1)
    assert client._on_server(url) is on_server
    if not on_server:
        with pytest.raises(FhirError, match="outside the FHIR server"):
            client.get(url)


def test_client_repr_hides_the_token() -> None:
    client = FhirClient("https://ehr.example.org/fhir", "secret", budget_seconds=1, request_timeout=1, max_pages=1)
    assert "secret" not in repr(client)


# --- through the endpoint, in production ---------------------------------------------


def _call(fhir_server: StubFhirServer) -> dict[str, Any]:
    body = hook_request(
        "order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"), with_prefetch=False,
        fhir_server=fhir_server.base_url,
    )  # fmt: skip
    body["fhirAuthorization"] = {"access_token": "tok-9f8e7d", "token_type": "Bearer", "expires_in": 60,
                                 "scope": "user/Condition.read", "subject": "cdshooks"}  # fmt: skip
    return body


def test_unlisted_server_is_refused_and_nothing_is_fetched(
    tmp_path: Path, jwks_server: Any, fhir_server: StubFhirServer
) -> None:
    client = create_app(production_settings(tmp_path, jwks_server)).test_client()
    response = client.post(service_url("order-select"), json=_call(fhir_server), headers=bearer(mint(HOOK)))
    assert response.status_code == 403
    assert response.get_json()["field"] == "fhirServer"
    assert fhir_server.requests == []


def test_plain_http_server_needs_an_explicit_http_prefix(
    tmp_path: Path, jwks_server: Any, fhir_server: StubFhirServer
) -> None:
    https_only = fhir_server.base_url.replace("http://", "https://")
    client = create_app(production_settings(tmp_path, jwks_server, fhir_allowlist=(https_only,))).test_client()
    response = client.post(service_url("order-select"), json=_call(fhir_server), headers=bearer(mint(HOOK)))
    assert response.status_code == 403
    assert fhir_server.requests == []

    listed = create_app(production_settings(tmp_path, jwks_server, fhir_allowlist=(fhir_server.base_url,)))
    response = listed.test_client().post(
        service_url("order-select"), json=_call(fhir_server), headers=bearer(mint(HOOK))
    )
    assert response.status_code == 200
    assert [c["extension"]["org.cdshooks.evidence"]["rule"] for c in response.get_json()["cards"]] == ["T1"]
    assert {r["authorization"] for r in fhir_server.requests} == {"Bearer tok-9f8e7d"}
