"""CORS for browser CDS Clients: allow-listed origins echoed in production, `*` only in sandbox."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cdshooks.app import create_app
from tests.security.jwt_helpers import DISCOVERY, FEEDBACK, HOOK, bearer, mint, production_settings

ALLOWED = "https://sandbox.cds-hooks.org"
OTHER = "https://evil.example.net"


@pytest.fixture
def client(tmp_path: Path, jwks_server: Any) -> FlaskClient:
    settings = production_settings(tmp_path, jwks_server, cors_origins=(ALLOWED, "http://localhost:3000/"))
    return create_app(settings).test_client()


def preflight(client: FlaskClient, path: str, origin: str, method: str = "POST") -> Any:
    return client.options(
        path,
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": method,
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )


@pytest.mark.parametrize("path", [DISCOVERY, HOOK, FEEDBACK])
def test_preflight_from_allowed_origin(client: FlaskClient, path: str) -> None:
    response = preflight(client, path, ALLOWED, "GET" if path == DISCOVERY else "POST")
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    assert "Content-Type" in response.headers["Access-Control-Allow-Headers"]
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "Origin" in response.headers.get("Vary", "")
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_configured_origin_with_trailing_slash_matches(client: FlaskClient) -> None:
    response = preflight(client, HOOK, "http://localhost:3000")
    assert response.headers["Access-Control-Allow-Origin"] == "http://localhost:3000"


@pytest.mark.parametrize("origin", [OTHER, "null", ALLOWED + ".evil.net", "http://sandbox.cds-hooks.org"])
def test_preflight_from_other_origin_is_refused(client: FlaskClient, origin: str) -> None:
    response = preflight(client, HOOK, origin)
    assert response.status_code == 403
    assert response.get_json()["field"] == "Origin"
    assert "Access-Control-Allow-Origin" not in response.headers


def test_actual_request_from_allowed_origin(client: FlaskClient) -> None:
    response = client.get(DISCOVERY, headers={"Origin": ALLOWED, **bearer(mint(DISCOVERY))})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "Origin" in response.headers["Vary"]


def test_refusal_is_readable_by_the_allowed_origin(client: FlaskClient) -> None:
    response = client.get(DISCOVERY, headers={"Origin": ALLOWED})
    assert response.status_code == 401
    assert response.headers["Access-Control-Allow-Origin"] == ALLOWED
    assert "WWW-Authenticate" in response.headers["Access-Control-Expose-Headers"]
    assert "Retry-After" in response.headers["Access-Control-Expose-Headers"]  # a browser client reads a 429's wait


def test_no_cors_headers_for_other_origins_or_without_origin(client: FlaskClient) -> None:
    response = client.get(DISCOVERY, headers={"Origin": OTHER, **bearer(mint(DISCOVERY))})
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    response = client.get(DISCOVERY, headers=bearer(mint(DISCOVERY)))
    assert "Access-Control-Allow-Origin" not in response.headers


def test_never_a_wildcard_in_production(client: FlaskClient) -> None:
    for origin in (ALLOWED, OTHER, "null"):
        for response in (preflight(client, HOOK, origin), client.get(DISCOVERY, headers={"Origin": origin})):
            assert response.headers.get("Access-Control-Allow-Origin") != "*"


def test_production_without_cors_origins_allows_none(tmp_path: Path, jwks_server: Any) -> None:
    client = create_app(production_settings(tmp_path, jwks_server)).test_client()
    assert preflight(client, HOOK, ALLOWED).status_code == 403


def test_sandbox_answers_any_origin_with_a_wildcard(settings: Any) -> None:
    sandbox = create_app(settings).test_client()
    response = preflight(sandbox, HOOK, OTHER)
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"]
    response = sandbox.get(DISCOVERY, headers={"Origin": OTHER})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
