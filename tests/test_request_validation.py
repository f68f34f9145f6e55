"""Bad input gets a clear 4xx with a JSON body naming the problem."""

import pytest

from tests.conftest import draft_med, hook_request, service_url


def good(hook="order-select"):
    return hook_request(hook, "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))


def post(client, body, hook="order-select", **kwargs):
    return client.post(service_url(hook), json=body, **kwargs)


def fields(response):
    return [p["field"] for p in response.get_json().get("problems", [])]


def test_not_json(client):
    response = client.post(service_url("patient-view"), data="{nope", content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid-json"


def test_wrong_content_type(client):
    response = client.post(service_url("patient-view"), data="{}", content_type="text/plain")
    assert response.status_code == 415
    assert "application/json" in response.get_json()["message"]


def test_body_not_an_object(client):
    response = post(client, [1, 2])
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid-request"


@pytest.mark.parametrize("missing", ["hook", "hookInstance", "context"])
def test_missing_required_field_is_named(client, missing):
    body = good()
    del body[missing]
    response = post(client, body)
    assert response.status_code == 400
    assert missing in fields(response)


@pytest.mark.parametrize("missing", ["patientId", "userId", "draftOrders", "selections"])
def test_missing_context_field_is_named(client, missing):
    body = good()
    del body["context"][missing]
    response = post(client, body)
    assert response.status_code == 400
    assert f"context.{missing}" in fields(response)


@pytest.mark.parametrize("patient_id", ["../Patient/x", "a b", "x" * 65, "", "id?x=1"])
def test_patient_id_must_be_a_fhir_id(client, patient_id):
    body = good("patient-view")
    body["context"]["patientId"] = patient_id
    response = post(client, body, hook="patient-view")
    assert response.status_code == 400
    assert "context.patientId" in fields(response)


def test_hook_must_match_the_service(client):
    body = good()
    body["hook"] = "patient-view"
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["error"] == "wrong-hook"


def test_unknown_service_is_404_json(client):
    response = client.post("/cds-services/nope", json=good())
    assert response.status_code == 404
    assert response.get_json()["error"] == "unknown-service"


def test_fhir_authorization_requires_fhir_server(client):
    body = good()
    body["fhirAuthorization"] = {
        "access_token": "secret",
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/*.read",
        "subject": "cds",
    }
    response = post(client, body)
    assert response.status_code == 400


def test_token_type_must_be_bearer(client):
    body = good()
    body["fhirServer"] = "https://ehr.example.org/fhir"
    body["fhirAuthorization"] = {"access_token": "secret", "token_type": "MAC"}
    response = post(client, body)
    assert response.status_code == 400
    assert "fhirAuthorization.token_type" in fields(response)


def test_prefetch_value_must_be_a_resource(client):
    body = good()
    body["prefetch"]["conditions"] = "Condition?patient=tx-cscc"
    response = post(client, body)
    assert response.status_code == 400
    assert response.get_json()["key"] == "conditions"


def test_draft_orders_must_be_a_bundle(client):
    body = good()
    body["context"]["draftOrders"] = {"resourceType": "MedicationRequest"}
    response = post(client, body)
    assert response.status_code == 400
    assert any(f.startswith("context.draftOrders") for f in fields(response))


def test_error_bodies_do_not_echo_input(client):
    body = good("patient-view")
    body["context"]["patientId"] = "Jane Doe 1970"
    response = post(client, body, hook="patient-view")
    assert "Jane Doe" not in response.get_data(as_text=True)


def test_method_not_allowed_is_json(client):
    response = client.delete("/cds-services")
    assert response.status_code == 405
    assert response.get_json()["error"] == "method-not-allowed"


def test_lenient_reading_of_real_payloads(client):
    """The public sandbox sends draftOrders without `type`; categories as objects."""
    body = good()
    body["context"]["draftOrders"].pop("type", None)
    body["extension"] = {"com.example.ehr": {"x": 1}}
    for entry in body["prefetch"]["conditions"]["entry"]:
        entry["resource"]["category"] = entry["resource"]["category"][0]
    response = post(client, body)
    assert response.status_code == 200
    assert len(response.get_json()["cards"]) == 1
