"""Discovery endpoint (spec: Discovery)."""

import re

from cdshooks.protocol import HOOKS

HOOK_TOKENS = {
    "patient-view": {"userId", "patientId", "encounterId"},
    "order-select": {"userId", "patientId", "encounterId"},
    "order-sign": {"userId", "patientId", "encounterId"},
}
USER_TOKENS = {"userPractitionerId", "userPractitionerRoleId", "userPatientId", "userRelatedPersonId"}


def test_discovery_lists_a_service_per_hook(client):
    response = client.get("/cds-services")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    services = response.get_json()["services"]
    assert sorted(s["hook"] for s in services) == sorted(HOOKS)
    for service in services:
        assert service["id"] and service["description"] and service["title"]
        assert re.fullmatch(r"[a-z0-9-]+", service["id"])


def test_prefetch_templates_use_only_spec_tokens(client):
    for service in client.get("/cds-services").get_json()["services"]:
        assert service["prefetch"], "each service declares prefetch templates"
        for template in service["prefetch"].values():
            for token in re.findall(r"\{\{(.*?)\}\}", template):
                token = token.strip()
                if token.startswith("context."):
                    assert token.removeprefix("context.") in HOOK_TOKENS[service["hook"]]
                else:
                    assert token in USER_TOKENS
            assert not template.startswith("/") and "://" not in template.split("?")[0]


def test_discovery_has_no_null_or_empty_fields(client):
    from tests.spec_checks import assert_no_null_or_empty

    assert_no_null_or_empty(client.get("/cds-services").get_json())


def test_each_service_is_reachable_at_its_id(client):
    for service in client.get("/cds-services").get_json()["services"]:
        # an empty body is a client error, not "not found": the endpoint exists
        assert client.post(f"/cds-services/{service['id']}", json={}).status_code == 400
