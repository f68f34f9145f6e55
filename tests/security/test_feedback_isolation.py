"""Feedback in production: only the client a card was issued to (same `iss` and `tenant`) can give feedback on
it; everyone else gets the answer an unknown card gets. Quotas are per issuer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdshooks.app import create_app
from tests.conftest import draft_med, hook_request
from tests.security.jwt_helpers import (
    FEEDBACK,
    HOOK,
    ISSUER,
    OTHER_ISSUER,
    JwksServer,
    bearer,
    mint,
    production_settings,
)


@pytest.fixture
def two_clients(tmp_path: Path, jwks_server: JwksServer) -> Flask:
    settings = production_settings(
        tmp_path,
        jwks_server,
        trusted_issuers={ISSUER: jwks_server.url("/jwks.json"), OTHER_ISSUER: jwks_server.url("/jwks.json")},
        trusted_jku={},
        feedback_quota=5,
        feedback_quota_window_seconds=10**9,  # no test run crosses from one such window into the next
    )
    return create_app(settings)


def issue_card(client: FlaskClient, **who: Any) -> str:
    body = hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
    response = client.post(HOOK, json=body, headers=bearer(mint(HOOK, **who)))
    assert response.status_code == 200
    return response.get_json()["cards"][0]["uuid"]  # type: ignore[no-any-return]


def feedback(client: FlaskClient, card: str, when: str = "2024-05-01T10:00:00Z", **who: Any) -> Any:
    body = {"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": when}]}
    return client.post(FEEDBACK, json=body, headers=bearer(mint(FEEDBACK, **who)))


def test_only_the_client_a_card_was_issued_to_gives_feedback_on_it(two_clients: Flask) -> None:
    client = two_clients.test_client()
    card = issue_card(client, tenant="hospital-a")
    unknown = feedback(client, "7f000000-0000-4000-8000-000000000000", tenant="hospital-a")
    other_tenant = feedback(client, card, tenant="hospital-b")
    no_tenant = feedback(client, card)
    other_issuer = feedback(client, card, iss=OTHER_ISSUER, tenant="hospital-a")
    for refused in (unknown, other_tenant, no_tenant, other_issuer):
        assert refused.status_code == 422
        assert refused.get_json() == unknown.get_json()  # nothing tells another tenant's card from no card
    assert feedback(client, card, tenant="hospital-a").get_json() == {"stored": 1, "duplicates": 0}
    (row,) = two_clients.config["CDSHOOKS_FEEDBACK"].all()
    assert (row["iss"], row["tenant"], row["card_uuid"]) == (ISSUER, "hospital-a", card)


def test_quota_is_per_issuer(two_clients: Flask) -> None:
    client = two_clients.test_client()
    mine, theirs = issue_card(client), issue_card(client, iss=OTHER_ISSUER)
    times = [f"2024-05-01T10:00:0{i}Z" for i in range(7)]
    assert [feedback(client, mine, t).status_code for t in times[:6]] == [200] * 5 + [429]
    assert feedback(client, theirs, times[0], iss=OTHER_ISSUER).status_code == 200
    issue_card(client)  # hook calls of the throttled issuer are still answered
