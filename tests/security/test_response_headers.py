"""Every response carries `X-Content-Type-Options: nosniff`; CDS answers are not to be cached."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import service_url
from tests.security.jwt_helpers import DISCOVERY, HOOK, bearer, mint


def _crash(*args: object, **kwargs: object) -> object:
    raise RuntimeError("boom")


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status"),
    [
        ("get", "/healthz", {}, 200),
        ("get", "/", {}, 200),
        ("get", DISCOVERY, {}, 401),
        ("post", HOOK, {"data": "x", "content_type": "text/plain"}, 401),
        ("get", "/no-such-page", {}, 404),
        ("put", "/healthz", {}, 405),
        ("options", HOOK, {"headers": {"Origin": "https://evil.example.net", "Access-Control-Request-Method": "POST"}},
         403),
    ],
)  # fmt: skip
def test_production_responses_say_nosniff(
    prod_client: FlaskClient, method: str, path: str, kwargs: dict[str, object], status: int
) -> None:
    response = getattr(prod_client, method)(path, **kwargs)
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_authenticated_answers_say_nosniff_and_no_store(prod_client: FlaskClient) -> None:
    response = prod_client.get(DISCOVERY, headers=bearer(mint(DISCOVERY)))
    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Cache-Control" not in prod_client.get("/healthz").headers


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        (service_url("order-select"), b"{not json", 400),
        (service_url("order-select"), b"x" * 6_000_000, 413),
        (service_url("order-select") + "/feedback", b'{"feedback": []}', 400),
    ],
)
def test_error_answers_say_nosniff(client: FlaskClient, path: str, body: bytes, status: int) -> None:
    response = client.post(path, data=body, content_type="application/json")
    assert response.status_code == status
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_crash_answer_says_nosniff(app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("cdshooks.api.call_service", _crash)
    response = client.post(service_url("patient-view"), json={"hook": "patient-view"})
    assert response.status_code == 500
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_sandbox_pages_say_nosniff(client: FlaskClient) -> None:
    for path in ("/sandbox", "/sandbox/static/sandbox.js", "/sandbox/api/patients"):
        assert client.get(path).headers["X-Content-Type-Options"] == "nosniff"
