"""The service against a real FHIR server: Medplum's FHIR engine holding every demo patient.

Fetching must give the cards prefetch gives. Status codes alone would not show it: Medplum
answers an empty Bundle (200) to a search parameter it does not know, so the cards are
compared, and the server's log is checked for parameters it ignored. The server pages every
search by 2, so multi-page results are read through the service's `next`-link handling.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.sandbox.ehr import ORDERABLE, draft_medication_order
from cdshooks.services import all_services
from cdshooks.settings import Settings
from tests.conftest import FIXTURES, draft_med, hook_request, load_bundle, patient_id_of
from tests.medplum import MedplumServer, medplum_server

ORDER_HOOKS = {"order-select", "order-sign"}
UNRELATED = "amoxicillin"  # RxNorm 723: no rule is about it
PATIENTS = sorted(path.stem for path in FIXTURES.glob("*.json"))


def drugs_named_in_readme() -> dict[str, list[str]]:
    """Per demo patient, the orderable drugs its line of fixtures/fhir/README.md mentions."""
    named = {}
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    for name, text in re.findall(r"^- `([^`]+)\.json` — (.+)$", readme, flags=re.MULTILINE):
        named[name] = [d for d in ORDERABLE if re.search(rf"\b{d.replace('_', ' ')}\b", text, flags=re.IGNORECASE)]
    return named


NAMED_DRUGS = drugs_named_in_readme()


def cases() -> Iterator[Any]:
    """Every service with every demo patient; order hooks once per named drug and once with an unrelated one."""
    for service in all_services().values():
        for patient in PATIENTS:
            if service.hook not in ORDER_HOOKS:
                yield pytest.param(service.id, patient, None, id=f"{service.hook}-{patient}")
                continue
            for drug in [*NAMED_DRUGS.get(patient, []), UNRELATED]:
                yield pytest.param(service.id, patient, drug, id=f"{service.hook}-{patient}-{drug}")


@pytest.fixture(scope="session")
def medplum(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MedplumServer]:
    """One server for the whole run (Medplum indexes the FHIR definitions at start-up)."""
    bundles = sorted(FIXTURES.glob("*.json"))
    with medplum_server(bundles, tmp_path_factory.mktemp("medplum"), page_size=2) as server:
        yield server


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> FlaskClient:
    """Sandbox mode: it accepts a plain-http fhirServer on loopback without an allowlist."""
    database = tmp_path_factory.mktemp("service") / "feedback.sqlite3"
    return create_app(Settings(sandbox=True, database_url=f"sqlite:///{database}")).test_client()


def draft_for(drug: str | None, patient: str) -> dict[str, Any] | None:
    if drug is None:
        return None
    if drug == UNRELATED:
        return draft_med(patient, "723", UNRELATED, order_id="draft-unrelated")
    return draft_medication_order(drug, patient)


def authorised(body: dict[str, Any], server: MedplumServer, token: str | None = None) -> dict[str, Any]:
    body["fhirServer"] = server.base_url
    body["fhirAuthorization"] = {
        "access_token": token or server.token,
        "token_type": "Bearer",
        "expires_in": 300,
        "scope": "patient/*.read",
        "subject": "cdshooks",
    }
    return body


def without_uuids(value: Any) -> Any:
    """Cards as compared: everything (rule, variant, indicator, summary, detail, actions, …) but the fresh uuids."""
    if isinstance(value, dict):
        return {k: without_uuids(v) for k, v in value.items() if k != "uuid"}
    if isinstance(value, list):
        return [without_uuids(v) for v in value]
    return value


def service_for(hook: str) -> str:
    return next(s.id for s in all_services().values() if s.hook == hook)


def rules(body: dict[str, Any]) -> list[str]:
    return [card["extension"]["org.cdshooks.evidence"]["rule"] for card in body["cards"]]


def prefetched_types(service_id: str) -> set[str]:
    """The resource types the service's prefetch templates read or search."""
    return {key.template.split("?")[0].split("/")[0] for key in all_services()[service_id].prefetch().values()}


def test_every_demo_patient_has_a_readme_line() -> None:
    assert set(NAMED_DRUGS) == set(PATIENTS)


@pytest.mark.parametrize(("service_id", "patient", "drug"), list(cases()))
def test_fetching_gives_the_cards_of_prefetch(
    medplum: MedplumServer, service: FlaskClient, service_id: str, patient: str, drug: str | None
) -> None:
    bundle = load_bundle(patient)
    hook = all_services()[service_id].hook
    draft = draft_for(drug, patient_id_of(bundle))
    url = f"/cds-services/{service_id}"

    prefetched = service.post(url, json=hook_request(hook, bundle, draft=draft))
    mark = medplum.mark()
    fetched = service.post(url, json=authorised(hook_request(hook, bundle, draft=draft, with_prefetch=False), medplum))
    sent = medplum.requests_since(mark)

    assert prefetched.status_code == 200, prefetched.get_json()
    assert fetched.status_code == 200, fetched.get_json()
    assert without_uuids(fetched.get_json()["cards"]) == without_uuids(prefetched.get_json()["cards"])
    assert {s["path"].split("/")[0] for s in sent} >= prefetched_types(service_id)  # reference reads may add some
    assert [s for s in sent if s["status"] != 200 or s.get("unknownParameters")] == []


def test_next_links_are_followed(medplum: MedplumServer, service: FlaskClient) -> None:
    """transplant-merkel has three Conditions: two on the first page, the third behind `next`."""
    mark = medplum.mark()
    body = authorised(hook_request("patient-view", "transplant-merkel", with_prefetch=False), medplum)
    response = service.post(f"/cds-services/{service_for('patient-view')}", json=body)
    conditions = [s for s in medplum.requests_since(mark) if s["path"] == "Condition"]

    assert response.status_code == 200
    assert [(s["entries"], s["next"] is not None) for s in conditions] == [(2, True), (1, False)]
    assert f"{medplum.base_url}/{conditions[1]['path']}{conditions[1]['query']}" == conditions[0]["next"]
    cards = response.get_json()["cards"]
    evidence = {ref for card in cards for ref in card["extension"]["org.cdshooks.evidence"]["resources"]}
    page_two = requests.get(
        f"{medplum.base_url}/Condition?patient=tx-merkel&_offset=2",
        headers={"Authorization": f"Bearer {medplum.token}"},
        timeout=10,
    ).json()
    assert {f"Condition/{e['resource']['id']}" for e in page_two["entry"]} & evidence


def test_the_server_requires_its_bearer_token(medplum: MedplumServer) -> None:
    url = f"{medplum.base_url}/Condition/kidney-tx-status"
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": medplum.token}):
        refused = requests.get(url, headers=headers, timeout=10)
        assert refused.status_code == 401
        assert refused.json()["resourceType"] == "OperationOutcome"
    read = requests.get(url, headers={"Authorization": f"Bearer {medplum.token}"}, timeout=10)
    assert read.status_code == 200
    assert read.json()["id"] == "kidney-tx-status"  # the demo ids are kept


def test_the_log_names_search_parameters_medplum_ignores(medplum: MedplumServer) -> None:
    """What the no-unknown-parameters check above relies on."""
    mark = medplum.mark()
    found = requests.get(
        f"{medplum.base_url}/Condition?patient=tx-merkel&no-such-parameter=1",
        headers={"Authorization": f"Bearer {medplum.token}"},
        timeout=10,
    )
    assert found.status_code == 200
    assert found.json().get("entry") is None  # an empty Bundle, not an error
    assert medplum.requests_since(mark)[0]["unknownParameters"] == ["no-such-parameter"]


def test_a_wrong_token_degrades_the_answer(medplum: MedplumServer, service: FlaskClient) -> None:
    """401 from the FHIR server marks the data missing: 412 without the required conditions, else fewer cards."""
    draft = draft_medication_order("tacrolimus", "tx-cscc")
    url = f"/cds-services/{service_for('order-select')}"
    full = service.post(url, json=hook_request("order-select", "transplant-cscc", draft=draft))

    mark = medplum.mark()
    nothing_body = hook_request("order-select", "transplant-cscc", draft=draft, with_prefetch=False)
    nothing = service.post(url, json=authorised(nothing_body, medplum, "wrong-token"))
    partial_body = authorised(hook_request("order-select", "transplant-cscc", draft=draft), medplum, "wrong-token")
    del partial_body["prefetch"]["medicationRequests"]
    partial = service.post(url, json=partial_body)
    refused = medplum.requests_since(mark)

    assert rules(full.get_json()) == ["T1"]
    assert nothing.status_code == 412
    assert "conditions" in nothing.get_json()["missingPrefetch"]
    assert partial.status_code == 200
    assert partial.get_json() == {"cards": []}  # T1 cannot tell whether the patient is already on sirolimus
    assert refused and {r["status"] for r in refused} == {401}
    assert {r["path"] for r in refused} >= {"Condition", "MedicationRequest"}
