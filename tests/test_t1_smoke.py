from tests.conftest import draft_med, hook_request, service_url


def test_t1_fires_from_prefetch(client):
    draft = draft_med("tx-cscc", "42316", "tacrolimus")
    response = client.post(
        service_url("order-select"), json=hook_request("order-select", "transplant-cscc", draft=draft)
    )
    assert response.status_code == 200
    cards = response.get_json()["cards"]
    assert [c["extension"]["org.cdshooks.evidence"]["rule"] for c in cards] == ["T1"]
