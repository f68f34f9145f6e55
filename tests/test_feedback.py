"""Feedback endpoint: stored, deduplicated, survives a restart, malformed input is a 400."""

import pytest

from cdshooks.app import create_app
from tests.conftest import service_url

URL = service_url("order-select") + "/feedback"
ACCEPTED = {
    "card": "4e0a3a1e-3283-4575-ab82-028d55fe2719",
    "outcome": "accepted",
    "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
    "outcomeTimestamp": "2021-12-11T10:05:31Z",
}
OVERRIDDEN = {
    "card": "9368d37b-283f-44a0-93ea-547cebab93ed",
    "outcome": "overridden",
    "overrideReason": {
        "reason": {"code": "surgery-planned", "system": "urn:cdshooks:override-reason"},
        "userComment": "Excision next week.",
    },
    "outcomeTimestamp": "2020-12-11T00:00:00.52Z",
}


def test_feedback_is_stored(client, app):
    response = client.post(URL, json={"feedback": [ACCEPTED, OVERRIDDEN]})
    assert response.status_code == 200
    assert response.get_json() == {"stored": 2, "duplicates": 0}
    rows = app.config["CDSHOOKS_FEEDBACK"].all()
    assert [r["outcome"] for r in rows] == ["accepted", "overridden"]
    assert rows[0]["accepted_suggestions"] == [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}]
    assert rows[1]["override_reason"]["reason"]["code"] == "surgery-planned"
    assert {r["service_id"] for r in rows} == {"skin-oncology-order-select"}


def test_overridden_without_reason(client):
    item = {"card": "f6b95768", "outcome": "overridden", "outcomeTimestamp": "2020-12-11T00:00:00Z"}
    assert client.post(URL, json={"feedback": [item]}).get_json() == {"stored": 1, "duplicates": 0}


def test_repeated_identical_feedback_is_stored_once(client, app):
    client.post(URL, json={"feedback": [ACCEPTED]})
    response = client.post(URL, json={"feedback": [ACCEPTED, ACCEPTED]})
    assert response.get_json() == {"stored": 0, "duplicates": 2}
    assert len(app.config["CDSHOOKS_FEEDBACK"].all()) == 1


def test_feedback_survives_a_restart(settings):
    first = create_app(settings)
    first.test_client().post(URL, json={"feedback": [ACCEPTED]})
    first.config["CDSHOOKS_FEEDBACK"].close()
    second = create_app(settings)
    assert [r["card_uuid"] for r in second.config["CDSHOOKS_FEEDBACK"].all()] == [ACCEPTED["card"]]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "feedback"),
        ({"feedback": []}, "feedback"),
        ({"feedback": [{**ACCEPTED, "outcome": "ignored"}]}, "feedback.0.outcome"),
        ({"feedback": [{k: v for k, v in ACCEPTED.items() if k != "card"}]}, "feedback.0.card"),
        ({"feedback": [{k: v for k, v in ACCEPTED.items() if k != "acceptedSuggestions"}]}, "feedback.0"),
        ({"feedback": [{**ACCEPTED, "outcomeTimestamp": "yesterday"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**ACCEPTED, "outcomeTimestamp": "2021-12-11T10:05:31"}]}, "feedback.0.outcomeTimestamp"),
        ({"feedback": [{**ACCEPTED, "acceptedSuggestions": [{}]}]}, "feedback.0.acceptedSuggestions.0.id"),
        ({"feedback": "accepted"}, "feedback"),
    ],
)
def test_malformed_feedback_is_400_naming_the_field(client, app, body, field):
    response = client.post(URL, json=body)
    assert response.status_code == 400
    assert field in [p["field"] for p in response.get_json()["problems"]]
    assert app.config["CDSHOOKS_FEEDBACK"].all() == []


def test_feedback_for_unknown_service_is_404(client):
    assert client.post("/cds-services/nope/feedback", json={"feedback": [ACCEPTED]}).status_code == 404


def test_feedback_body_must_be_an_object(client):
    response = client.post(URL, json=[ACCEPTED])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid-feedback"
