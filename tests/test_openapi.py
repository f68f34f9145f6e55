"""The OpenAPI 3.1 contract at /openapi.json matches the service: generated from the models it validates
with, and held to by schemathesis — generated requests to every operation get no 5xx, only documented
status codes and content types, and bodies that fit the documented schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from cdshooks.app import create_app
from cdshooks.services import all_services
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request
from tests.security.jwt_helpers import JwksServer, jwks, production_settings

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


APP = create_app(Settings(sandbox=True, database_url="sqlite://"))  # in memory: this process only
schema = schemathesis.openapi.from_wsgi("/openapi.json", APP)


@pytest.fixture(scope="module")
def contract_app() -> Flask:
    return APP


@pytest.fixture(scope="module")
def api_schema() -> Any:
    return schema


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_generated_requests_keep_the_contract(case: Any) -> None:
    case.call_and_validate(checks=CHECKS)


def test_the_document_is_openapi_3_1_with_every_service(client: Any) -> None:
    document = client.get("/openapi.json").get_json()
    assert document["openapi"] == "3.1.0"
    for service_id in all_services():
        assert f"/cds-services/{service_id}" in document["paths"]
        assert f"/cds-services/{service_id}/feedback" in document["paths"]
    assert {"HookResponse", "ErrorBody", "FeedbackRequest", "Discovery"} <= document["components"]["schemas"].keys()


def test_real_answers_fit_the_documented_schemas(contract_app: Flask, api_schema: Any) -> None:
    """The service's own answers to realistic calls (cards with suggestions, feedback, errors) validate."""
    client = contract_app.test_client()
    body = hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
    path = "/cds-services/skin-oncology-order-select"
    answer = client.post(path, json=body)
    assert answer.status_code == 200 and answer.get_json()["cards"]
    _validate(api_schema, "POST", path, answer)
    card = answer.get_json()["cards"][0]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": "2026-12-01T10:00:00Z",
                              "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]}]}  # fmt: skip
    stored = client.post(path + "/feedback", json=feedback)
    _validate(api_schema, "POST", path + "/feedback", stored)
    for bad in ({}, {"hook": "order-select"}, {**body, "hook": "patient-view"}):
        _validate(api_schema, "POST", path, client.post(path, json=bad))
    _validate(api_schema, "GET", "/cds-services", client.get("/cds-services"))


def test_production_errors_fit_the_documented_schemas(tmp_path: Path) -> None:
    keys = JwksServer({"/jwks.json": jwks("ES384")})
    app = create_app(production_settings(tmp_path, keys))
    keys.close()
    schema_of = schemathesis.openapi.from_wsgi("/openapi.json", app)
    refused = app.test_client().post("/cds-services/skin-oncology-order-select", json={})
    assert refused.status_code == 401
    _validate(schema_of, "POST", "/cds-services/skin-oncology-order-select", refused)


def _validate(api_schema: Any, method: str, path: str, response: Any) -> None:
    operation = api_schema[path][method].definition
    responses = operation.get("responses", {}) if isinstance(operation, dict) else {}
    assert str(response.status_code) in responses or not responses, (path, response.status_code)
    api_schema[path][method].validate_response(response)
