"""Feedback endpoint: taken only for cards the service issued (the ledger), at their service, stored once,
bounded in size, within a per-issuer quota; malformed input is a 400."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, service_url

URL = service_url("order-select") + "/feedback"
TACROLIMUS = draft_med("tx-cscc", "42316", "tacrolimus")


def issue_t1(client: FlaskClient, hook: str = "order-select") -> dict[str, Any]:
    """Call the service as an EHR would; return the T1 card it issued (with a suggestion)."""
    response = client.post(service_url(hook), json=hook_request(hook, "transplant-cscc", draft=TACROLIMUS))
    assert response.status_code == 200
    (card,) = response.get_json()["cards"]
    assert card["suggestions"][0]["uuid"]
    return card  # type: ignore[no-any-return]


def accepted(issued: dict[str, Any], **changes: Any) -> dict[str, Any]:
    item = {
        "card": issued["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": issued["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2021-12-11T10:05:31Z",
    }
    return {**item, **changes}


def overridden(issued: dict[str, Any], **changes: Any) -> dict[str, Any]:
    item = {
        "card": issued["uuid"],
        "outcome": "overridden",
        "overrideReason": {
            "reason": {"code": "surgery-planned", "system": "urn:cdshooks:override-reason"},
            "userComment": "Excision next week.",
        },
        "outcomeTimestamp": "2020-12-11T00:00:00.52Z",
    }
    return {**item, **changes}


def rows(app: Flask) -> list[dict[str, Any]]:
    return app.config["CDSHOOKS_FEEDBACK"].all()  # type: ignore[no-any-return]


def test_feedback_is_stored(client: FlaskClient, app: Flask) -> None:
    card = issue_t1(client)
    response = client.post(URL, json={"feedback": [accepted(card), overridden(card)]})
    assert response.status_code == 200
    assert response.get_json() == {"stored": 2, "duplicates": 0}
    stored = rows(app)
    assert [r["outcome"] for r in stored] == ["accepted", "overridden"]
    assert stored[0]["accepted_suggestions"] == [{"id": card["suggestions"][0]["uuid"]}]
    assert stored[1]["override_reason"] == {
        "reason": {"code": "surgery-planned", "system": "urn:cdshooks:override-reason"},
        "userComment": "Excision next week.",
    }
    assert {r["service_id"] for r in stored} == {"skin-oncology-order-select"}
    assert {r["card_uuid"] for r in stored} == {card["uuid"]}


def test_overridden_without_reason(client: FlaskClient) -> None:
    card = issue_t1(client)
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2020-12-11T00:00:00Z"}
    assert client.post(URL, json={"feedback": [item]}).get_json() == {"stored": 1, "duplicates": 0}


def test_repeated_identical_feedback_is_stored_once(client: FlaskClient, app: Flask) -> None:
    card = issue_t1(client)
    client.post(URL, json={"feedback": [accepted(card)]})
    response = client.post(URL, json={"feedback": [accepted(card), accepted(card)]})
    assert response.status_code == 200
    assert response.get_json() == {"stored": 0, "duplicates": 2}
    assert len(rows(app)) == 1


def test_unknown_fields_do_not_make_a_repeat_new(client: FlaskClient, app: Flask) -> None:
    """The duplicate digest covers the stored fields only; fields a client adds are not stored."""
    card = issue_t1(client)
    assert client.post(URL, json={"feedback": [overridden(card)]}).get_json() == {"stored": 1, "duplicates": 0}
    padded = overridden(card, extension={"x": 1}, note="resent")
    padded["overrideReason"] = {**padded["overrideReason"], "extra": "y" * 100}
    padded["overrideReason"]["reason"] = {**padded["overrideReason"]["reason"], "userSelected": True}
    response = client.post(URL, json={"feedback": [padded], "extension": {"z": 2}})
    assert response.get_json() == {"stored": 0, "duplicates": 1}
    (row,) = rows(app)
    assert "extra" not in row["override_reason"] and "userSelected" not in row["override_reason"]["reason"]


def test_a_different_outcome_time_is_new_feedback(client: FlaskClient, app: Flask) -> None:
    card = issue_t1(client)
    client.post(URL, json={"feedback": [overridden(card)]})
    later = overridden(card, outcomeTimestamp="2020-12-12T09:00:00Z")
    assert client.post(URL, json={"feedback": [later]}).get_json() == {"stored": 1, "duplicates": 0}


def test_feedback_survives_a_restart(settings: Settings) -> None:
    first = create_app(settings)
    card = issue_t1(first.test_client())
    first.test_client().post(URL, json={"feedback": [accepted(card)]})
    first.config["CDSHOOKS_DATABASE"].close()
    second = create_app(settings)
    assert [r["card_uuid"] for r in rows(second)] == [card["uuid"]]
    # the ledger survives too: feedback on that card is still taken
    later = accepted(card, outcomeTimestamp="2021-12-11T11:00:00Z")
    assert second.test_client().post(URL, json={"feedback": [later]}).get_json() == {"stored": 1, "duplicates": 0}


# --- against the ledger ------------------------------------------------------------


def test_feedback_for_a_card_never_issued_is_422(client: FlaskClient, app: Flask) -> None:
    item = {"card": "4e0a3a1e-3283-4575-ab82-028d55fe2719", "outcome": "overridden",
            "outcomeTimestamp": "2021-12-11T10:05:31Z"}  # fmt: skip
    response = client.post(URL, json={"feedback": [item]})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "unknown-card"
    assert body["problems"] == [
        {"field": "feedback.0.card", "problem": "not a card this service issued to this client at this endpoint"}
    ]
    assert rows(app) == []


def test_feedback_at_another_services_endpoint_is_422(client: FlaskClient, app: Flask) -> None:
    card = issue_t1(client, "order-sign")  # issued by skin-oncology-order-sign
    never = {"card": "00000000-0000-4000-8000-000000000000", "outcome": "overridden",
             "outcomeTimestamp": "2021-12-11T10:05:31Z"}  # fmt: skip
    at_select = client.post(URL, json={"feedback": [overridden(card)]})
    unknown = client.post(URL, json={"feedback": [never]})
    assert at_select.status_code == unknown.status_code == 422
    assert at_select.get_json() == unknown.get_json()  # the same answer: nothing said about where it was issued
    at_sign = client.post(service_url("order-sign") + "/feedback", json={"feedback": [overridden(card)]})
    assert at_sign.get_json() == {"stored": 1, "duplicates": 0}
    assert [r["service_id"] for r in rows(app)] == ["skin-oncology-order-sign"]


def test_accepting_a_suggestion_the_card_did_not_offer_is_422(client: FlaskClient, app: Flask) -> None:
    card, other = issue_t1(client), issue_t1(client)
    item = accepted(card, acceptedSuggestions=[{"id": other["suggestions"][0]["uuid"]}])
    response = client.post(URL, json={"feedback": [item]})
    assert response.status_code == 422
    assert [p["field"] for p in response.get_json()["problems"]] == ["feedback.0.acceptedSuggestions.0.id"]
    assert rows(app) == []


def test_a_batch_with_one_unknown_card_stores_nothing(client: FlaskClient, app: Flask) -> None:
    card = issue_t1(client)
    never = overridden(card, card="not-issued")
    response = client.post(URL, json={"feedback": [accepted(card), never, overridden(card)]})
    assert response.status_code == 422
    assert [p["field"] for p in response.get_json()["problems"]] == ["feedback.1.card"]
    assert rows(app) == []


# --- size caps ----------------------------------------------------------------------


def test_overlong_user_comment_is_400(client: FlaskClient, app: Flask) -> None:
    card = issue_t1(client)
    item = overridden(card)
    item["overrideReason"]["userComment"] = "x" * 2001
    response = client.post(URL, json={"feedback": [item]})
    assert response.status_code == 400
    assert [p["field"] for p in response.get_json()["problems"]] == ["feedback.0.overrideReason.userComment"]
    item["overrideReason"]["userComment"] = "x" * 2000
    assert client.post(URL, json={"feedback": [item]}).status_code == 200


def test_too_many_items_is_400(client: FlaskClient) -> None:
    card = issue_t1(client)
    items = [overridden(card, outcomeTimestamp=f"2020-12-11T00:{i // 60:02d}:{i % 60:02d}Z") for i in range(101)]
    response = client.post(URL, json={"feedback": items})
    assert response.status_code == 400
    assert [p["field"] for p in response.get_json()["problems"]] == ["feedback"]
    assert client.post(URL, json={"feedback": items[:100]}).get_json() == {"stored": 100, "duplicates": 0}


def test_feedback_body_beyond_its_cap_is_413(tmp_path: Path) -> None:
    app = create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db'}", max_feedback_bytes=2048))
    client = app.test_client()
    card = issue_t1(client)  # hook calls keep the larger CDSHOOKS_MAX_REQUEST_BYTES
    body = {"feedback": [overridden(card)], "padding": "x" * 2048}
    response = client.post(URL, json=body)
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "payload-too-large",
        "message": "the request body is larger than 2048 bytes",
        "field": "(body)",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"card": "c" * 101}, "feedback.0.card"),
        ({"acceptedSuggestions": [{"id": "s" * 101}]}, "feedback.0.acceptedSuggestions.0.id"),
        ({"acceptedSuggestions": [{"id": f"s{i}"} for i in range(21)]}, "feedback.0.acceptedSuggestions"),
        ({"outcomeTimestamp": "2021-12-11T10:05:31." + "5" * 40 + "Z"}, "feedback.0.outcomeTimestamp"),
    ],
)
def test_overlong_fields_are_400(client: FlaskClient, change: dict[str, Any], field: str) -> None:
    card = issue_t1(client)
    response = client.post(URL, json={"feedback": [accepted(card, **change)]})
    assert response.status_code == 400
    assert field in [p["field"] for p in response.get_json()["problems"]]


# --- quota --------------------------------------------------------------------------


QUOTA_WINDOW = 10**9  # windows this long start in 2001 and 2033: no test run crosses from one into the next


@pytest.fixture
def small_quota(tmp_path: Path) -> Settings:
    return Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db'}", feedback_quota=3,
                    feedback_quota_window_seconds=QUOTA_WINDOW)  # fmt: skip


def test_quota_answers_429_with_retry_after(small_quota: Settings) -> None:
    app = create_app(small_quota)
    client = app.test_client()
    card = issue_t1(client)
    times = [f"2020-12-11T00:00:0{i}Z" for i in range(5)]
    assert client.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=t) for t in times[:2]]}).status_code \
        == 200  # fmt: skip
    assert client.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=times[2])]}).status_code == 200
    refused = client.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=times[3])]})
    assert refused.status_code == 429
    assert refused.get_json()["error"] == "too-many-requests"
    assert 1 <= int(refused.headers["Retry-After"]) <= QUOTA_WINDOW
    assert len(rows(app)) == 3
    # hook calls are never throttled (the overridden card itself is snoozed now: cdshooks.suppression)
    for _ in range(5):
        body = hook_request("order-select", "transplant-cscc", draft=TACROLIMUS)
        assert client.post(service_url("order-select"), json=body).status_code == 200


def test_quota_is_shared_by_workers(small_quota: Settings) -> None:
    """Two app instances on one database (two gunicorn workers) count against the same window."""
    first, second = create_app(small_quota).test_client(), create_app(small_quota).test_client()
    card = issue_t1(first)
    times = [f"2020-12-11T00:00:0{i}Z" for i in range(4)]
    assert first.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=t) for t in times[:2]]}).status_code \
        == 200  # fmt: skip
    assert second.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=times[2])]}).status_code == 200
    assert second.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=times[3])]}).status_code == 429
    assert first.post(URL, json={"feedback": [overridden(card, outcomeTimestamp=times[3])]}).status_code == 429


def test_quota_counts_refused_items_too(small_quota: Settings) -> None:
    """Unknown-card spam costs quota as well, or it would be a free way to load the database."""
    client = create_app(small_quota).test_client()
    never = {"card": "never-issued", "outcome": "overridden", "outcomeTimestamp": "2021-12-11T10:05:31Z"}
    statuses = [client.post(URL, json={"feedback": [never]}).status_code for _ in range(4)]
    assert statuses == [422, 422, 422, 429]


# --- malformed input ----------------------------------------------------------------

SAMPLE = {
    "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2021-12-11T10:05:31Z",
}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "feedback"),
        ({"feedback": []}, "feedback"),
        ({"feedback": [{**SAMPLE, "outcome": "ignored"}]}, "feedback.0.outcome"),
        ({"feedback": [{k: v for k, v in SAMPLE.items() if k != "card"}]}, "feedback.0.card"),
        ({"feedback": [{k: v for k, v in SAMPLE.items() if k != "acceptedSuggestions"}]}, "feedback.0"),
        ({"feedback": [{**SAMPLE, "outcomeTimestamp": "yesterday"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**SAMPLE, "outcomeTimestamp": "2021-12-11T10:05:31"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**SAMPLE, "outcomeTimestamp": "2021-13-41T10:05:31Z"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**SAMPLE, "acceptedSuggestions": [{}]}]}, "feedback.0.acceptedSuggestions.0.id"),
        ({"feedback": "accepted"}, "feedback"),
    ],
)
def test_malformed_feedback_is_400_naming_the_field(client: FlaskClient, app: Flask, body: Any, field: str) -> None:
    response = client.post(URL, json=body)
    assert response.status_code == 400
    assert field in [p["field"] for p in response.get_json()["problems"]]
    assert rows(app) == []


def test_feedback_for_unknown_service_is_404(client: FlaskClient) -> None:
    assert client.post("/cds-services/nope/feedback", json={"feedback": [SAMPLE]}).status_code == 404


def test_feedback_body_must_be_an_object(client: FlaskClient) -> None:
    response = client.post(URL, json=[SAMPLE])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid-feedback"


def test_a_batch_larger_than_the_quota_is_400_not_an_endless_429(small_quota: Settings) -> None:
    client = create_app(small_quota).test_client()
    card = issue_t1(client)
    items = [overridden(card, outcomeTimestamp=f"2020-12-11T00:00:0{i}Z") for i in range(4)]
    response = client.post(URL, json={"feedback": items})
    assert response.status_code == 400
    assert response.get_json()["field"] == "feedback"


def test_feedback_with_the_store_down_is_503(client: FlaskClient, app: Flask) -> None:
    from sqlalchemy import text

    card = issue_t1(client)
    with app.config["CDSHOOKS_DATABASE"].begin() as conn:
        conn.execute(text("DROP TABLE feedback_quota"))
    response = client.post(URL, json={"feedback": [overridden(card)]})
    assert response.status_code == 503
    assert response.get_json()["error"] == "unavailable"
