"""Sandbox mode: demo patients, request builder, FHIR endpoint; absent in production."""

from cdshooks.app import create_app
from cdshooks.settings import Settings
from tests.conftest import service_url
from tests.databases import migrated_url
from tests.spec_checks import rule_ids


def test_page_and_patients(client):
    assert b"cdshooks sandbox" in client.get("/sandbox").data
    assert client.get("/").status_code == 302
    listing = client.get("/sandbox/api/patients").get_json()
    ids = {p["id"] for p in listing["patients"]}
    assert {"tx-cscc", "tx-cscc-met", "tx-cscc-sirolimus", "cornea-cscc"} <= ids
    assert all(p["about"] for p in listing["patients"]), "each fixture has a README line"
    assert "tacrolimus" in {o["id"] for o in listing["orderable"]}


def test_request_builder_then_call(client):
    request = client.post(
        "/sandbox/api/request",
        json={"service": "skin-oncology-order-select", "patient": "tx-cscc", "drug": "tacrolimus"},
    ).get_json()
    assert request["hook"] == "order-select" and request["context"]["selections"]
    answer = client.post(service_url("order-select"), json=request)
    assert rule_ids(answer.get_json()) == ["T1"]


def test_request_builder_errors_are_4xx(client):
    assert client.post("/sandbox/api/request", json={"service": "nope"}).status_code == 400
    response = client.post("/sandbox/api/request", json={"service": "skin-oncology-patient-view", "patient": "nobody"})
    assert response.status_code == 404


def test_sandbox_fhir_endpoint(client):
    bundle = client.get("/sandbox/fhir/Condition?patient=tx-cscc").get_json()
    assert bundle["type"] == "searchset" and bundle["total"] == 2
    assert client.get("/sandbox/fhir/Patient/tx-cscc").get_json()["id"] == "tx-cscc"
    assert client.get("/sandbox/fhir/Patient/nobody").status_code == 404
    assert client.get("/sandbox/fhir/not-a-type").status_code == 400


def test_no_sandbox_routes_in_production(tmp_path, monkeypatch):
    import cdshooks.app as app_module

    monkeypatch.setattr(app_module, "build_authenticator", lambda settings: None)
    app = create_app(Settings(sandbox=False, database_url=migrated_url(f"sqlite:///{tmp_path / 'f.db'}")))
    client = app.test_client()
    assert client.get("/sandbox").status_code == 404
    assert client.get("/sandbox/fhir/Patient/tx-cscc").status_code == 404
