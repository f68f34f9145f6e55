"""Failing FHIR servers: the answer is 200 with what can be decided, or 412 when required data is missing,
always within the time budget; the access token never reaches another server."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, load_bundle, service_url, store_of
from tests.fhir_stub import (
    StubFhirServer,
    endless_pages,
    fail_with,
    gzip_bomb,
    hang,
    malformed_json,
    oversized,
    paginate_to,
    redirect_to,
    trickle,
)

TOKEN = "fhir-access-token-5d2c1f0e"
BUDGET = 1.5
MAX_PAGES = 4
T1_DRAFT = draft_med("tx-cscc", "42316", "tacrolimus")


@pytest.fixture
def budget_settings(tmp_path: Path) -> Settings:
    return Settings(
        sandbox=True,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        fhir_budget_seconds=BUDGET,
        fhir_request_timeout=1.0,
        fhir_max_pages=MAX_PAGES,
    )


@pytest.fixture
def client(budget_settings: Settings) -> FlaskClient:
    return create_app(budget_settings).test_client()


@pytest.fixture
def other_server() -> Iterator[StubFhirServer]:
    """Another host: it must never see a request (nor the token)."""
    server = StubFhirServer(store_of(load_bundle("transplant-cscc")))
    yield server
    server.close()


def fetch_request(server_url: str, *, keep: tuple[str, ...] = ()) -> dict[str, Any]:
    """An order-select call that prefetches only `keep` and leaves the rest to the FHIR server."""
    body = hook_request("order-select", "transplant-cscc", draft=T1_DRAFT, fhir_server=server_url)
    body["prefetch"] = {k: v for k, v in body["prefetch"].items() if k in keep}
    body["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/Condition.read user/MedicationRequest.read",
        "subject": "cdshooks",
    }
    return body


def call(client: FlaskClient, body: dict[str, Any]) -> tuple[Any, float]:
    started = time.monotonic()
    response = client.post(service_url("order-select"), json=body)
    return response, time.monotonic() - started


def rules_of(response: Any) -> list[str]:
    return [c["extension"]["org.cdshooks.evidence"]["rule"] for c in response.get_json()["cards"]]


def test_working_server_gets_the_token_and_t1_fires(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    response, _ = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 200
    assert rules_of(response) == ["T1"]
    assert fhir_server.requests
    assert {r["authorization"] for r in fhir_server.requests} == {f"Bearer {TOKEN}"}


def test_pagination_on_the_same_server_is_followed(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    fhir_server.page_size = 1
    response, _ = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 200
    assert rules_of(response) == ["T1"]
    assert any("_page=1" in r["query"] for r in fhir_server.requests)


FAILURES = {
    "401": lambda: fail_with(401),
    "403": lambda: fail_with(403),
    "404": lambda: fail_with(404),
    "500": lambda: fail_with(500),
    "503": lambda: fail_with(503),
    "slow": lambda: hang(5),
    "trickling body": lambda: trickle(0.2),
    "malformed JSON": malformed_json,
    "endless pagination": endless_pages,
}


@pytest.mark.parametrize("failure", FAILURES)
def test_required_data_unavailable_answers_412_within_budget(
    client: FlaskClient, fhir_server: StubFhirServer, failure: str
) -> None:
    fhir_server.behaviour = FAILURES[failure]()
    response, elapsed = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 412
    assert "conditions" in response.get_json()["missingPrefetch"]
    assert elapsed < BUDGET + 0.75, elapsed


@pytest.mark.parametrize("failure", FAILURES)
def test_optional_data_unavailable_still_decides(
    client: FlaskClient, fhir_server: StubFhirServer, failure: str
) -> None:
    """Conditions and medications prefetched, procedures/observations from a failing server: T1 still fires."""
    fhir_server.behaviour = FAILURES[failure]()
    body = fetch_request(fhir_server.base_url, keep=("conditions", "medicationRequests", "medicationStatements"))
    response, elapsed = call(client, body)
    assert response.status_code == 200
    assert rules_of(response) == ["T1"]
    assert elapsed < BUDGET + 0.75, elapsed


def test_rule_needing_unavailable_data_is_skipped(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    """Medications could not be had: T1 (which must rule out sirolimus) stays silent rather than guess."""
    fhir_server.behaviour = fail_with(500)
    response, _ = call(client, fetch_request(fhir_server.base_url, keep=("conditions", "procedures")))
    assert response.status_code == 200
    assert rules_of(response) == []


def test_connection_refused(client: FlaskClient) -> None:
    response, elapsed = call(client, fetch_request("http://127.0.0.1:9/fhir"))
    assert response.status_code == 412
    assert elapsed < BUDGET + 0.75
    body = fetch_request("http://127.0.0.1:9/fhir", keep=("conditions", "medicationRequests", "medicationStatements"))
    response, _ = call(client, body)
    assert response.status_code == 200
    assert rules_of(response) == ["T1"]


def test_gateway_error_is_retried_once(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    fhir_server.behaviour = fail_with(503)
    call(client, fetch_request(fhir_server.base_url, keep=("medicationRequests", "medicationStatements")))
    condition_requests = [r for r in fhir_server.requests if r["path"].endswith("/Condition")]
    assert len(condition_requests) == 2


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_other_errors_are_not_retried(client: FlaskClient, fhir_server: StubFhirServer, status: int) -> None:
    fhir_server.behaviour = fail_with(status)
    call(client, fetch_request(fhir_server.base_url, keep=("medicationRequests", "medicationStatements")))
    assert len([r for r in fhir_server.requests if r["path"].endswith("/Condition")]) == 1


def test_endless_pagination_stops_at_the_page_cap(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    fhir_server.behaviour = endless_pages()
    call(client, fetch_request(fhir_server.base_url, keep=("medicationRequests", "medicationStatements")))
    assert len([r for r in fhir_server.requests if r["path"].endswith("/Condition")]) == MAX_PAGES


def test_oversized_response_is_refused(
    client: FlaskClient, fhir_server: StubFhirServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("cdshooks.fhir_client.MAX_RESPONSE_BYTES", 100_000)
    fhir_server.behaviour = oversized(300_000)
    response, _ = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 412


# --- the token only ever goes to the fhirServer -----------------------------------


def test_redirect_to_another_host_is_not_followed(
    client: FlaskClient, fhir_server: StubFhirServer, other_server: StubFhirServer
) -> None:
    fhir_server.behaviour = redirect_to(other_server.base_url + "/Condition?patient=tx-cscc")
    response, _ = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 412
    assert other_server.requests == []


@pytest.mark.parametrize(
    "next_url",
    [
        lambda other, own: f"{other}/Condition?patient=tx-cscc&_page=1",  # another host, absolute
        lambda other, own: "//" + other.split("//", 1)[1] + "/Condition?_page=1",  # scheme-relative
        lambda other, own: own.replace("/fhir", "/fhir/../admin") + "?x=1",  # dot segments
        lambda other, own: own.replace("/fhir", "/fhir/%2e%2e/admin") + "?x=1",  # encoded dot segments
        lambda other, own: own.replace("/fhir", "/other-base") + "/Condition?_page=1",  # outside the base path
        lambda other, own: own.replace("http://", "http://user:pw@") + "/Condition?_page=1",  # credentials
    ],
)
def test_next_link_off_the_server_is_not_followed(
    client: FlaskClient, fhir_server: StubFhirServer, other_server: StubFhirServer, next_url: Any
) -> None:
    fhir_server.behaviour = paginate_to(lambda r: next_url(other_server.base_url, fhir_server.base_url))
    response, _ = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 412
    assert other_server.requests == []
    assert all(r["path"].startswith("/fhir/") and ".." not in r["path"] for r in fhir_server.requests)
    assert not any("admin" in r["path"] or "other-base" in r["path"] for r in fhir_server.requests)


def test_prefetched_bundle_next_link_is_followed_only_on_the_server(
    client: FlaskClient, fhir_server: StubFhirServer, other_server: StubFhirServer
) -> None:
    """A prefetched page whose next link points at another host: the token does not follow it."""
    body = fetch_request(fhir_server.base_url, keep=("conditions", "medicationRequests", "medicationStatements"))
    body["prefetch"]["medicationRequests"]["link"] = [
        {"relation": "next", "url": other_server.base_url + "/MedicationRequest?_page=2"}
    ]
    response, _ = call(client, body)
    assert response.status_code == 200
    assert rules_of(response) == []  # medications incomplete: T1 stays silent
    assert other_server.requests == []


def test_prefetch_only_call_contacts_no_server(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    body = hook_request("order-select", "transplant-cscc", draft=T1_DRAFT)
    response, _ = call(client, body)
    assert response.status_code == 200
    assert fhir_server.requests == []


def test_total_budget_bounds_a_long_request_timeout(tmp_path: Path, fhir_server: StubFhirServer) -> None:
    """A per-request timeout longer than the budget is cut to what is left of the budget."""
    settings = Settings(
        sandbox=True,
        database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        fhir_budget_seconds=BUDGET,
        fhir_request_timeout=30.0,
    )
    fhir_server.behaviour = hang(10)
    response, elapsed = call(create_app(settings).test_client(), fetch_request(fhir_server.base_url))
    assert response.status_code == 412
    assert elapsed < BUDGET + 0.75, elapsed


def test_default_budget_is_under_five_seconds() -> None:
    defaults = Settings()
    assert defaults.fhir_budget_seconds < 5
    assert defaults.fhir_request_timeout <= defaults.fhir_budget_seconds


def test_compressed_response_is_capped_after_inflating(client: FlaskClient, fhir_server: StubFhirServer) -> None:
    fhir_server.behaviour = gzip_bomb(64 * 1024 * 1024)  # ~64 KB on the wire, 64 MiB inflated
    response, elapsed = call(client, fetch_request(fhir_server.base_url))
    assert response.status_code == 412
    assert elapsed < BUDGET + 0.75
