"""Token lifetime: `exp − iat` at most CDSHOOKS_JWT_MAX_LIFETIME, `iat` no older than that, time claims
integers in range — anything else is a 401 (never a 500), and replay rows never outlive the bound."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from cdshooks.app import create_app
from cdshooks.auth import ConfigurationError
from cdshooks.replay import seen_jwt_table
from tests.security.jwt_helpers import (
    DISCOVERY,
    ISSUER,
    PUBLIC_URL,
    JwksServer,
    bearer,
    keys,
    mint,
    production_settings,
)

YEAR = 365 * 24 * 3600


def refused_for(client: FlaskClient, auth_log: pytest.LogCaptureFixture, token: str) -> str:
    """Send the token to discovery; it must be a plain 401; return the logged reason."""
    response = client.get(DISCOVERY, headers=bearer(token))
    assert response.status_code == 401, response.get_json()
    assert response.get_json() == {"error": "unauthorized", "message": "invalid token"}
    reasons = [r.__dict__["reason"] for r in auth_log.records if r.getMessage() == "authentication failed"]
    assert len(reasons) == 1
    return reasons[0]


def raw_token(payload: bytes) -> str:
    """A token signed over an exact payload text (for values json.dumps would not write, such as Infinity)."""
    signing = keys()["ES384"]
    return jwt.api_jws.encode(payload, signing.private, algorithm="ES384", headers={"typ": "JWT", "kid": signing.kid})


def test_ten_year_token_is_refused(prod_client: FlaskClient, auth_log: pytest.LogCaptureFixture) -> None:
    now = int(time.time())
    reason = refused_for(prod_client, auth_log, mint(DISCOVERY, iat=now, exp=now + 10 * YEAR))
    assert "lifetime" in reason and "CDSHOOKS_JWT_MAX_LIFETIME" in reason


def test_month_old_token_is_refused(prod_client: FlaskClient, auth_log: pytest.LogCaptureFixture) -> None:
    now = int(time.time())
    reason = refused_for(prod_client, auth_log, mint(DISCOVERY, iat=now - 30 * 24 * 3600, exp=now + 300))
    assert "lifetime" in reason


def test_lifetime_at_the_bound_is_accepted(prod_client: FlaskClient, auth_log: pytest.LogCaptureFixture) -> None:
    now = int(time.time())
    assert prod_client.get(DISCOVERY, headers=bearer(mint(DISCOVERY, iat=now, exp=now + 3600))).status_code == 200
    assert prod_client.get(DISCOVERY, headers=bearer(mint(DISCOVERY, iat=now - 3500, exp=now + 60))).status_code == 200
    assert "lifetime" in refused_for(prod_client, auth_log, mint(DISCOVERY, iat=now, exp=now + 3601))


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        ({"exp": 1e19}, "exp claim out of range"),
        ({"exp": 2**70}, "exp claim out of range"),
        ({"exp": -5, "iat": -300}, "out of range"),
        ({"iat": -1}, "iat claim out of range"),
        ({"exp": 1_700_000_000.5}, "exp claim is not an integer"),
        ({"exp": True}, "exp claim is not an integer"),
        ({"iat": "1700000000"}, "iat claim is not an integer"),
        ({"exp": [1]}, "exp claim is not an integer"),
        ({"nbf": 1e300}, "nbf claim out of range"),
        ({"nbf": {"t": 1}}, "nbf claim is not an integer"),
    ],
)
def test_time_claims_out_of_range_are_401(
    prod_client: FlaskClient, auth_log: pytest.LogCaptureFixture, claims: dict[str, Any], reason: str
) -> None:
    assert reason in refused_for(prod_client, auth_log, mint(DISCOVERY, **claims))


@pytest.mark.parametrize("value", ["Infinity", "-Infinity", "NaN", "1e400", "17e8.5"])
def test_non_numbers_in_the_payload_are_401(
    prod_client: FlaskClient, auth_log: pytest.LogCaptureFixture, value: str
) -> None:
    now = int(time.time())
    body = (f'{{"iss": {json.dumps(ISSUER)}, "aud": {json.dumps(PUBLIC_URL + DISCOVERY)}, "iat": {now}, '
            f'"exp": {value}, "jti": "{uuid.uuid4()}"}}')  # fmt: skip
    assert refused_for(prod_client, auth_log, raw_token(body.encode()))


def test_integral_float_time_claims_are_accepted(prod_client: FlaskClient) -> None:
    now = float(int(time.time()))
    assert prod_client.get(DISCOVERY, headers=bearer(mint(DISCOVERY, iat=now, exp=now + 300))).status_code == 200


def test_replay_rows_live_no_longer_than_the_bound(prod_client: FlaskClient, prod_settings: Any) -> None:
    from cdshooks.database import Database

    before = time.time()
    assert prod_client.get(DISCOVERY, headers=bearer(mint(DISCOVERY))).status_code == 200
    with Database(prod_settings.database_url).connect() as conn:
        (expires,) = conn.execute(select(seen_jwt_table.c.expires)).scalars().all()
    bound = before + prod_settings.jwt_max_lifetime_seconds + prod_settings.jwt_leeway_seconds + 2
    assert expires <= bound


def test_the_bound_is_configurable(tmp_path: Path, jwks_server: JwksServer, auth_log: pytest.LogCaptureFixture) -> None:
    client = create_app(production_settings(tmp_path, jwks_server, jwt_max_lifetime_seconds=600)).test_client()
    now = int(time.time())
    assert client.get(DISCOVERY, headers=bearer(mint(DISCOVERY, iat=now, exp=now + 600))).status_code == 200
    assert "lifetime" in refused_for(client, auth_log, mint(DISCOVERY, iat=now, exp=now + 900))


@pytest.mark.parametrize("seconds", [0, 59, 86401])
def test_unreasonable_bounds_refuse_to_start(tmp_path: Path, jwks_server: JwksServer, seconds: int) -> None:
    with pytest.raises(ConfigurationError, match="CDSHOOKS_JWT_MAX_LIFETIME"):
        create_app(production_settings(tmp_path, jwks_server, jwt_max_lifetime_seconds=seconds))
