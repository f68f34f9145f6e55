"""Prefetch is a hint: missing, null or OperationOutcome keys are fetched; 412 when data can't be had."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

from cdshooks.prefetch import render_template
from tests.conftest import draft_med, hook_request, load_bundle, service_url, store_of
from tests.fhir_stub import StubFhirServer, fail_with
from tests.spec_checks import assert_conformant_response, rule_ids

TOKEN = "opaque-access-token-for-tests"


def order(hook="order-select", **kwargs):
    return hook_request(hook, "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"), **kwargs)


def with_server(body, server):
    body["fhirServer"] = server.base_url
    body["fhirAuthorization"] = {
        "access_token": TOKEN,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "user/*.read",
        "subject": "cdshooks",
    }
    return body


def fetched_types(server):
    return sorted(r["path"].split("/")[-1] for r in server.requests)


def test_full_prefetch_needs_no_fhir_server(client):
    response = client.post(service_url("order-select"), json=order())
    assert response.status_code == 200
    assert rule_ids(response.get_json()) == ["T1"]
    assert_conformant_response(response.get_json())


def test_fetches_everything_when_prefetch_is_absent(client, fhir_server):
    body = with_server(order(with_prefetch=False), fhir_server)
    response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 200
    assert rule_ids(response.get_json()) == ["T1"]
    searches = [r for r in fhir_server.requests if r["query"]]
    assert sorted(r["path"].split("/")[-1] for r in searches) == sorted(
        ["Condition", "MedicationRequest", "MedicationStatement", "Procedure", "Observation", "ServiceRequest"]
    )
    assert [r["path"] for r in fhir_server.requests if not r["query"]] == ["/fhir/Patient/tx-cscc"]  # deceased?
    assert {r["authorization"] for r in fhir_server.requests} == {f"Bearer {TOKEN}"}
    assert all("patient=tx-cscc" in r["query"] for r in searches)


def test_partial_prefetch_fetches_only_what_is_missing(client, fhir_server):
    body = with_server(order(), fhir_server)
    del body["prefetch"]["medicationRequests"]
    body["prefetch"]["procedures"] = None
    body["prefetch"]["observations"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "timeout"}],
    }
    response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 200
    assert rule_ids(response.get_json()) == ["T1"]
    assert fetched_types(fhir_server) == ["MedicationRequest", "Observation", "Procedure"]


def test_412_when_required_data_is_missing_and_there_is_no_fhir_server(client):
    body = order()
    del body["prefetch"]["conditions"]
    response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 412
    assert response.get_json()["missingPrefetch"] == ["conditions"]


def test_412_when_nothing_was_prefetched_and_no_server(client):
    response = client.post(
        service_url("patient-view"), json=hook_request("patient-view", "transplant-cscc", with_prefetch=False)
    )
    assert response.status_code == 412
    assert response.get_json()["error"] == "precondition-failed"


def test_null_prefetch_without_server_means_no_data(client):
    body = order()
    body["prefetch"]["procedures"] = None
    body["prefetch"]["observations"] = None
    response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 200
    assert rule_ids(response.get_json()) == ["T1"]


def test_missing_optional_data_skips_rules_that_need_it(client):
    """Without the medication list T1 cannot know the patient is not on sirolimus: no card."""
    body = order()
    del body["prefetch"]["medicationRequests"]
    response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}


def test_failing_fhir_server_never_causes_a_500(client, fhir_server):
    fhir_server.behaviour = fail_with(500)
    response = client.post(service_url("order-select"), json=with_server(order(with_prefetch=False), fhir_server))
    assert response.status_code == 412
    assert "conditions" in response.get_json()["missingPrefetch"]


def test_fhir_failure_on_optional_data_degrades_the_answer(client, fhir_server, caplog):
    fhir_server.behaviour = lambda request: (
        Response("{}", 503) if request.path.endswith("MedicationStatement") else None
    )
    body = with_server(order(), fhir_server)
    del body["prefetch"]["medicationStatements"]
    with caplog.at_level("WARNING", logger="cdshooks"):
        response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 200
    assert response.get_json() == {"cards": []}
    assert any(r.message == "FHIR fetch failed" for r in caplog.records)


def test_follows_pagination(client):
    server = StubFhirServer(store_of(load_bundle("transplant-cscc-on-sirolimus")), page_size=1)
    try:
        body = hook_request(
            "order-select",
            "transplant-cscc-on-sirolimus",
            draft=draft_med("tx-cscc-sirolimus", "42316", "tacrolimus"),
            with_prefetch=False,
        )
        response = client.post(service_url("order-select"), json=with_server(body, server))
    finally:
        server.close()
    assert response.status_code == 200
    # sirolimus sits on the second page of MedicationRequests: T1 must see it and stay silent
    assert response.get_json() == {"cards": []}
    assert sum(r["path"].endswith("MedicationRequest") for r in server.requests) == 2


def test_prefetched_bundle_with_next_link_is_completed_from_the_server(client):
    bundle = load_bundle("transplant-cscc-on-sirolimus")
    server = StubFhirServer(store_of(bundle), page_size=1)
    try:
        body = hook_request(
            "order-select",
            bundle,
            draft=draft_med("tx-cscc-sirolimus", "42316", "tacrolimus"),
        )
        first_page = json.loads(
            __import__("urllib.request")
            .request.urlopen(f"{server.base_url}/MedicationRequest?patient=tx-cscc-sirolimus")
            .read()
        )
        body["prefetch"]["medicationRequests"] = first_page
        server.requests.clear()
        response = client.post(service_url("order-select"), json=with_server(body, server))
    finally:
        server.close()
    assert response.get_json() == {"cards": []}
    assert len(server.requests) == 1 and "_page=1" in server.requests[0]["query"]


def test_medication_reference_is_resolved_from_the_server(client):
    bundle = load_bundle("transplant-cscc-on-sirolimus")
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["id"] == "sirolimus-current":
            resource.pop("medicationCodeableConcept")
            resource["medicationReference"] = {"reference": "Medication/rapamune"}
    bundle["entry"].append(
        {
            "resource": {
                "resourceType": "Medication",
                "id": "rapamune",
                "code": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "35302"}]},
            }
        }
    )
    server = StubFhirServer(store_of(bundle))
    try:
        body = hook_request("order-select", bundle, draft=draft_med("tx-cscc-sirolimus", "42316", "tacrolimus"))
        body["prefetch"]["medicationRequests"]["entry"] = [
            e for e in body["prefetch"]["medicationRequests"]["entry"] if e["resource"]["resourceType"] != "Medication"
        ]
        response = client.post(service_url("order-select"), json=with_server(body, server))
    finally:
        server.close()
    assert response.get_json() == {"cards": []}
    assert [r["path"] for r in server.requests] == ["/fhir/Medication/rapamune"]


def test_unresolvable_medication_reference_makes_medications_unavailable(client):
    bundle = load_bundle("transplant-cscc-on-sirolimus")
    for entry in bundle["entry"]:
        if entry["resource"]["id"] == "sirolimus-current":
            entry["resource"].pop("medicationCodeableConcept")
            entry["resource"]["medicationReference"] = {"reference": "Medication/unknown"}
    body = hook_request("order-select", bundle, draft=draft_med("tx-cscc-sirolimus", "42316", "tacrolimus"))
    response = client.post(service_url("order-select"), json=body)
    # without knowing what that medication is, T1 cannot rule out sirolimus: it stays silent
    assert response.get_json() == {"cards": []}


def test_prefetch_token_rendering():
    context = {"patientId": "p-1", "userId": "PractitionerRole/r 9", "encounterId": "e1"}
    assert render_template("Condition?patient={{context.patientId}}", context) == "Condition?patient=p-1"
    assert render_template("PractitionerRole?_id={{userPractitionerRoleId}}", context) == "PractitionerRole?_id=r%209"
    assert render_template("Practitioner/{{userPractitionerId}}", context) is None
    assert render_template("Encounter/{{ context.encounterId }}", context) == "Encounter/e1"
    assert render_template("Encounter/{{context.missing}}", context) is None
