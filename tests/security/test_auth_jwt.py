"""JWT authentication of CDS Clients, with real ES384/RS384/ES256/RS256 tokens, on all three endpoints."""

from __future__ import annotations

import base64
import json
import logging
import time
from typing import Any

import jwt
import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.auth import ConfigurationError
from tests.conftest import draft_med, hook_request
from tests.security.jwt_helpers import (
    DISCOVERY,
    DROP,
    FEEDBACK,
    HOOK,
    ISSUER,
    OTHER_ISSUER,
    PUBLIC_URL,
    bearer,
    hmac_signed,
    mint,
    production_settings,
    unsigned,
)

ENDPOINTS = {"discovery": DISCOVERY, "hook": HOOK, "feedback": FEEDBACK}
INVALID = {"error": "unauthorized", "message": "invalid token"}


def feedback_body(card: str) -> dict[str, Any]:
    return {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2024-05-01T10:00:00Z"}]}


def send(client: FlaskClient, path: str, headers: dict[str, str] | None = None) -> Any:
    headers = headers or {}
    if path == DISCOVERY:
        return client.get(path, headers=headers)
    if path == HOOK:
        draft = draft_med("tx-cscc", "42316", "tacrolimus")
        return client.post(path, json=hook_request("order-select", "transplant-cscc", draft=draft), headers=headers)
    return client.post(path, json=feedback_body(issue_card(client, headers)), headers=headers)


def issue_card(client: FlaskClient, headers: dict[str, str]) -> str:
    """A card issued to the client the feedback token names (same iss and tenant), or a made-up uuid."""
    try:
        claimed = jwt.decode(headers.get("Authorization", "").split(" ", 1)[1], options={"verify_signature": False})
    except (IndexError, jwt.PyJWTError):
        return "c0ffee00-0000-4000-8000-000000000001"  # the token is refused before the card is looked at
    if claimed.get("iss", ISSUER) != ISSUER:
        return "c0ffee00-0000-4000-8000-000000000001"  # no card can have been issued to an untrusted issuer
    same_client = {name: claimed[name] for name in ("iss", "tenant") if isinstance(claimed.get(name), str)}
    response = send(client, HOOK, bearer(mint(HOOK, **same_client)))
    if response.status_code != 200:
        return "c0ffee00-0000-4000-8000-000000000001"
    return response.get_json()["cards"][0]["uuid"]  # type: ignore[no-any-return]


def assert_refused(response: Any) -> None:
    assert response.status_code == 401
    assert response.get_json() == INVALID
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def tamper(token: str, **changes: Any) -> str:
    """Change payload claims of a signed token, keeping its signature."""
    head, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    data.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{encoded}.{signature}"


def retitle(token: str, **changes: Any) -> str:
    """Change header fields of a signed token, keeping its payload and signature."""
    head, payload, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    data.update(changes)
    encoded = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{encoded}.{payload}.{signature}"


# --- acceptance -------------------------------------------------------------


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("key", ["ES384", "RS384", "ES256", "RS256"])
def test_valid_token_is_accepted(prod_client: FlaskClient, endpoint: str, key: str) -> None:
    path = ENDPOINTS[endpoint]
    response = send(prod_client, path, bearer(mint(path, key=key)))
    assert response.status_code == 200, response.get_json()
    if endpoint == "hook":
        assert [c["extension"]["org.cdshooks.evidence"]["rule"] for c in response.get_json()["cards"]] == ["T1"]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_aud_as_array_is_accepted(prod_client: FlaskClient, endpoint: str) -> None:
    path = ENDPOINTS[endpoint]
    token = mint(path, aud=["https://elsewhere.example.org/cds-services", PUBLIC_URL + path])
    assert send(prod_client, path, bearer(token)).status_code == 200


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_allow_listed_jku_is_accepted(prod_client: FlaskClient, jwks_server: Any, endpoint: str) -> None:
    path = ENDPOINTS[endpoint]
    token = mint(path, key="jku", header={"jku": jwks_server.url("/rotating/jwks.json")})
    assert send(prod_client, path, bearer(token)).status_code == 200


def test_jku_equal_to_the_issuers_jwks_url_is_accepted(prod_client: FlaskClient, jwks_server: Any) -> None:
    token = mint(DISCOVERY, header={"jku": jwks_server.url("/jwks.json")})
    assert send(prod_client, DISCOVERY, bearer(token)).status_code == 200


def test_lowercase_bearer_scheme_is_accepted(prod_client: FlaskClient) -> None:
    response = prod_client.get(DISCOVERY, headers={"Authorization": f"bearer {mint(DISCOVERY)}"})
    assert response.status_code == 200


# --- rejections, each on every endpoint ---------------------------------------


def _cases(path: str, jwks_url: str) -> dict[str, dict[str, str] | None]:
    now = int(time.time())
    return {
        "missing header": None,
        "not a bearer token": {"Authorization": f"Basic {mint(path)}"},
        "empty bearer": {"Authorization": "Bearer "},
        "garbage": bearer("not.a.jwt"),
        "alg none": bearer(unsigned(path)),
        "HS256": bearer(hmac_signed(path)),
        "expired": bearer(mint(path, exp=now - 120, iat=now - 420)),
        "future iat": bearer(mint(path, iat=now + 600, exp=now + 900)),
        "wrong aud": bearer(mint(path, aud=PUBLIC_URL + "/cds-services/another-service")),
        "aud of another host": bearer(mint(path, aud="https://evil.example.net" + path)),
        "aud array without endpoint": bearer(mint(path, aud=["https://a.example.org", "https://b.example.org"])),
        "unknown iss": bearer(mint(path, iss=OTHER_ISSUER)),
        "un-allow-listed jku": bearer(mint(path, header={"jku": "https://evil.example.net/jwks.json"})),
        "un-allow-listed jku on loopback": bearer(mint(path, header={"jku": jwks_url + "/evil.json"})),
        "unknown kid": bearer(mint(path, header={"kid": "no-such-key"})),
        "bad signature": bearer(mint(path, key="attacker")),
        "tampered payload": bearer(tamper(mint(path), aud=PUBLIC_URL + "/cds-services/other")),
        "missing exp": bearer(mint(path, exp=DROP)),
        "missing iat": bearer(mint(path, iat=DROP)),
        "missing jti": bearer(mint(path, jti=DROP)),
        "missing iss": bearer(mint(path, iss=DROP)),
        "missing aud": bearer(mint(path, aud=DROP)),
        "string exp": bearer(mint(path, exp=str(now + 300))),
        "typ not JWT": bearer(mint(path, header={"typ": "at+jwt"})),
        "missing typ": bearer(mint(path, header={"typ": None})),
        "missing kid": bearer(mint(path, header={"kid": DROP})),
        "RS384 header on an EC key": bearer(mint(path, key="RS384", header={"kid": "ec-384"})),
        "ES256 header on a P-384 key": bearer(mint(path, key="ES256", header={"kid": "ec-384"})),
        "ES512 not allowed": bearer(retitle(mint(path), alg="ES512")),
        "PS384 not allowed": bearer(retitle(mint(path), alg="PS384")),
        "HS384 under an EC kid": bearer(retitle(mint(path), alg="HS384")),
    }


# the reason each case must be refused for (as logged; the caller only sees "invalid token")
REASONS = {
    "missing header": "missing Authorization header",
    "not a bearer token": "not a Bearer token",
    "empty bearer": "not a Bearer token",
    "garbage": "malformed token",
    "alg none": "algorithm none not allowed",
    "HS256": "algorithm HS256 not allowed",
    "expired": "token expired",
    "future iat": "token issued in the future",
    "wrong aud": "aud does not name this endpoint",
    "aud of another host": "aud does not name this endpoint",
    "aud array without endpoint": "aud does not name this endpoint",
    "unknown iss": "untrusted issuer",
    "un-allow-listed jku": "jku not allow-listed",
    "un-allow-listed jku on loopback": "jku not allow-listed",
    "unknown kid": "unknown kid",
    "bad signature": "bad signature",
    "tampered payload": "bad signature",
    "missing exp": "missing exp claim",
    "missing iat": "missing iat claim",
    "missing jti": "missing jti claim",
    "missing iss": "untrusted issuer",
    "missing aud": "missing aud claim",
    "string exp": "exp claim is not an integer",
    "typ not JWT": "typ header is not JWT",
    "missing typ": "typ header is not JWT",
    "missing kid": "missing or invalid kid header",
    "RS384 header on an EC key": "key does not fit",
    "ES256 header on a P-384 key": "key does not fit",
    "ES512 not allowed": "algorithm ES512 not allowed",
    "PS384 not allowed": "algorithm PS384 not allowed",
    "HS384 under an EC kid": "algorithm HS384 not allowed",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("case", REASONS)
def test_invalid_token_is_refused(
    prod_client: FlaskClient, jwks_server: Any, auth_log: pytest.LogCaptureFixture, endpoint: str, case: str
) -> None:
    path = ENDPOINTS[endpoint]
    cases = _cases(path, jwks_server.base_url)
    assert set(cases) == set(REASONS)
    assert_refused(send(prod_client, path, cases[case]))
    reasons = [r.__dict__["reason"] for r in auth_log.records if r.getMessage() == "authentication failed"]
    assert len(reasons) == 1 and REASONS[case] in reasons[0], reasons


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_replayed_jti_is_refused(prod_client: FlaskClient, endpoint: str) -> None:
    path = ENDPOINTS[endpoint]
    token = mint(path)
    assert send(prod_client, path, bearer(token)).status_code == 200
    assert_refused(send(prod_client, path, bearer(token)))


def test_replay_is_refused_by_another_worker(prod_settings: Any) -> None:
    """Two app instances on the same database (two gunicorn workers) share the seen jtis."""
    first, second = create_app(prod_settings).test_client(), create_app(prod_settings).test_client()
    token = mint(HOOK)
    assert send(first, HOOK, bearer(token)).status_code == 200
    assert_refused(send(second, HOOK, bearer(token)))


def test_same_jti_from_another_issuer_is_not_a_replay(tmp_path: Any, jwks_server: Any) -> None:
    settings = production_settings(
        tmp_path,
        jwks_server,
        trusted_issuers={ISSUER: jwks_server.url("/jwks.json"), OTHER_ISSUER: jwks_server.url("/jwks.json")},
    )
    client = create_app(settings).test_client()
    assert send(client, DISCOVERY, bearer(mint(DISCOVERY, jti="shared-jti"))).status_code == 200
    assert send(client, DISCOVERY, bearer(mint(DISCOVERY, jti="shared-jti", iss=OTHER_ISSUER))).status_code == 200
    assert_refused(send(client, DISCOVERY, bearer(mint(DISCOVERY, jti="shared-jti", iss=OTHER_ISSUER))))


def test_token_for_one_endpoint_is_refused_on_another(prod_client: FlaskClient) -> None:
    assert_refused(send(prod_client, HOOK, bearer(mint(DISCOVERY))))
    assert_refused(send(prod_client, FEEDBACK, bearer(mint(HOOK))))


def test_refused_token_is_not_remembered(prod_client: FlaskClient) -> None:
    """A token refused for its aud does not burn its jti: only verified tokens are stored."""
    token_jti = "only-once"
    assert_refused(send(prod_client, HOOK, bearer(mint(HOOK, jti=token_jti, aud=PUBLIC_URL + "/x"))))
    assert send(prod_client, HOOK, bearer(mint(HOOK, jti=token_jti))).status_code == 200


def test_expiry_within_leeway_is_accepted(prod_client: FlaskClient) -> None:
    now = int(time.time())
    assert send(prod_client, DISCOVERY, bearer(mint(DISCOVERY, exp=now - 5, iat=now - 60))).status_code == 200
    assert send(prod_client, DISCOVERY, bearer(mint(DISCOVERY, iat=now + 10))).status_code == 200


# --- tenants ------------------------------------------------------------------


@pytest.fixture
def tenant_client(tmp_path: Any, jwks_server: Any) -> FlaskClient:
    return create_app(production_settings(tmp_path, jwks_server, trusted_tenants=("hospital-a",))).test_client()


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_tenant_allowlist(tenant_client: FlaskClient, endpoint: str) -> None:
    path = ENDPOINTS[endpoint]
    assert send(tenant_client, path, bearer(mint(path, tenant="hospital-a"))).status_code == 200
    assert_refused(send(tenant_client, path, bearer(mint(path, tenant="hospital-b"))))
    assert_refused(send(tenant_client, path, bearer(mint(path))))


# --- audience and the public URL ----------------------------------------------


@pytest.mark.parametrize("public_url", [None, "", "cds.example.org", "https://cds.example.org/?x=1"])
def test_production_refuses_to_start_without_a_public_url(tmp_path: Any, jwks_server: Any, public_url: Any) -> None:
    """The audience is never derived from the caller-controlled Host header."""
    with pytest.raises(ConfigurationError, match="CDSHOOKS_PUBLIC_URL"):
        create_app(production_settings(tmp_path, jwks_server, public_url=public_url))


def test_audience_ignores_the_host_header(tmp_path: Any, jwks_server: Any) -> None:
    client = create_app(production_settings(tmp_path, jwks_server)).test_client()
    forged = mint(DISCOVERY, aud="http://evil.example.org/cds-services")
    assert_refused(client.get(DISCOVERY, headers={**bearer(forged), "Host": "evil.example.org"}))
    assert client.get(DISCOVERY, headers={**bearer(mint(DISCOVERY)), "Host": "evil.example.org"}).status_code == 200


def test_public_url_with_trailing_slash(tmp_path: Any, jwks_server: Any) -> None:
    client = create_app(production_settings(tmp_path, jwks_server, public_url=PUBLIC_URL + "/")).test_client()
    assert client.get(DISCOVERY, headers=bearer(mint(DISCOVERY))).status_code == 200


# --- what is not authenticated, and what the log says ---------------------------


def test_health_and_unknown_paths(prod_client: FlaskClient) -> None:
    assert prod_client.get("/healthz").status_code == 200
    assert prod_client.get("/sandbox").status_code == 404  # no sandbox in production
    assert_refused(prod_client.get("/cds-services/no-such-service"))  # auth before routing details


def test_refusal_reason_is_logged_without_the_token(prod_app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    token = mint(HOOK, exp=int(time.time()) - 600, iat=int(time.time()) - 900)
    logging.getLogger("cdshooks").addHandler(caplog.handler)
    try:
        assert_refused(send(prod_app.test_client(), HOOK, bearer(token)))
    finally:
        logging.getLogger("cdshooks").removeHandler(caplog.handler)
    records = [r for r in caplog.records if r.getMessage() == "authentication failed"]
    assert [r.__dict__["reason"] for r in records] == ["token expired"]
    assert records[0].__dict__["service"] == "skin-oncology-order-select"
    assert token not in caplog.text and token.split(".")[2] not in str([r.__dict__ for r in caplog.records])


def test_database_failure_answers_503(prod_app: Flask, prod_settings: Any) -> None:
    from sqlalchemy import text

    from cdshooks.replay import ReplayStore

    store = ReplayStore(prod_settings.database_url)
    with store.database.begin() as conn:
        conn.execute(text("DROP TABLE seen_jwt"))
    response = prod_app.test_client().get(DISCOVERY, headers=bearer(mint(DISCOVERY)))
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"


# --- the JWK Set behind the endpoint ------------------------------------------------


def test_unknown_kids_do_not_hammer_the_jwks_server(prod_client: FlaskClient, jwks_server: Any) -> None:
    assert send(prod_client, DISCOVERY, bearer(mint(DISCOVERY))).status_code == 200
    for index in range(20):
        assert_refused(send(prod_client, DISCOVERY, bearer(mint(DISCOVERY, header={"kid": f"kid-{index}"}))))
    # one fetch: a refresh for an unknown kid waits until CDSHOOKS_JWKS_MIN_REFRESH_SECONDS have passed
    assert jwks_server.hits["/jwks.json"] == 1


def test_rotated_key_is_picked_up(tmp_path: Any, jwks_server: Any) -> None:
    client = create_app(production_settings(tmp_path, jwks_server, jwks_min_refresh_seconds=0)).test_client()
    assert send(client, DISCOVERY, bearer(mint(DISCOVERY))).status_code == 200
    rotated = mint(DISCOVERY, key="jku", header={"kid": "jku-key"})
    assert_refused(send(client, DISCOVERY, bearer(rotated)))
    jwks_server.documents["/jwks.json"] = {"keys": [*jwks_server.documents["/jwks.json"]["keys"],
                                                    *jwks_server.documents["/rotating/jwks.json"]["keys"]]}  # fmt: skip
    assert send(client, DISCOVERY, bearer(mint(DISCOVERY, key="jku", header={"kid": "jku-key"}))).status_code == 200


def test_unreachable_jwks_is_401_not_500(tmp_path: Any, jwks_server: Any, caplog: pytest.LogCaptureFixture) -> None:
    settings = production_settings(tmp_path, jwks_server, trusted_issuers={ISSUER: "http://127.0.0.1:9/jwks.json"})
    client = create_app(settings).test_client()
    logging.getLogger("cdshooks").addHandler(caplog.handler)  # after create_app, which resets the handlers
    try:
        assert_refused(send(client, HOOK, bearer(mint(HOOK))))
    finally:
        logging.getLogger("cdshooks").removeHandler(caplog.handler)
    reasons = [r.__dict__["reason"] for r in caplog.records if r.getMessage() == "authentication failed"]
    assert reasons == ["JWKS unavailable (JWKS fetch failed (ConnectionError))"]
