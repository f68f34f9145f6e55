"""The ledger of issued cards: one write per response with cards, in the transaction of the call's replay row,
with a keyed patient reference and no patient data; pruned after its retention period."""

from __future__ import annotations

import hashlib
import hmac
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from cdshooks.app import create_app
from cdshooks.database import metadata
from cdshooks.ledger import Issuance, IssuedCard, Ledger, PatientKey
from cdshooks.replay import ReplayStore
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, service_url
from tests.databases import migrated
from tests.security.jwt_helpers import HOOK, ISSUER, PATIENT_KEY, bearer, mint

TACROLIMUS = draft_med("tx-cscc", "42316", "tacrolimus")


def t1_call(**changes: Any) -> dict[str, Any]:
    return {**hook_request("order-select", "transplant-cscc", draft=TACROLIMUS), **changes}


def suggestions(app: Flask) -> list[dict[str, Any]]:
    """The recorded suggestions, each with its card."""
    return [
        {"suggestion_uuid": uuid, "card_uuid": row["card_uuid"]}
        for row in app.config["CDSHOOKS_LEDGER"].rows()
        for uuid in str(row["suggestion_uuids"]).split()
    ]


def everything_stored(app: Flask) -> str:
    """Every value of every row of every table, as one text to search."""
    with app.config["CDSHOOKS_DATABASE"].connect() as conn:
        return "\n".join(repr(tuple(row)) for table in metadata.sorted_tables for row in conn.execute(select(table)))


def test_a_hook_call_records_its_cards(client: FlaskClient, app: Flask) -> None:
    instance = str(uuid.uuid4())
    response = client.post(service_url("order-select"), json=t1_call(hookInstance=instance))
    (card,) = response.get_json()["cards"]
    (row,) = app.config["CDSHOOKS_LEDGER"].rows()
    evidence = card["extension"]["org.cdshooks.evidence"]
    assert row["card_uuid"] == card["uuid"]
    assert (row["service_id"], row["rule_id"], row["rule_version"]) == (
        "skin-oncology-order-select", "T1", evidence["version"]
    )  # fmt: skip
    assert row["hook_instance"] == instance
    assert (row["iss"], row["tenant"]) == (None, None)  # sandbox mode keeps the ledger, without a client
    assert row["issued_at"] is not None
    assert [s["suggestion_uuid"] for s in suggestions(app)] == [s["uuid"] for s in card["suggestions"]]
    assert {s["card_uuid"] for s in suggestions(app)} == {card["uuid"]}


def test_production_rows_carry_iss_tenant_and_a_keyed_patient_reference(prod: Flask) -> None:
    client = prod.test_client()
    token = mint(HOOK, tenant="hospital-a")
    assert client.post(HOOK, json=t1_call(), headers=bearer(token)).status_code == 200
    (row,) = prod.config["CDSHOOKS_LEDGER"].rows()
    assert (row["iss"], row["tenant"]) == (ISSUER, "hospital-a")
    expected = hmac.new(PATIENT_KEY, f"{ISSUER}|hospital-a|tx-cscc".encode(), hashlib.sha256).hexdigest()
    assert row["patient_ref"] == expected
    assert row["patient_key_id"] == PatientKey(PATIENT_KEY).key_id


def test_no_patient_data_is_stored(prod: Flask) -> None:
    client = prod.test_client()
    named = t1_call(hookInstance="Alex Moreau 1961-04-02")  # a client's text in the hookInstance
    assert client.post(HOOK, json=named, headers=bearer(mint(HOOK))).status_code == 200
    (row,) = prod.config["CDSHOOKS_LEDGER"].rows()
    assert row["hook_instance"].startswith("sha256:")
    stored = everything_stored(prod)
    for secret in ("tx-cscc", "Alex", "Moreau", "1961-04-02", "42316", "tacrolimus", "cscc-scalp"):
        assert secret not in stored, secret


def test_a_response_without_cards_writes_no_ledger_row_but_spends_its_token(prod: Flask) -> None:
    client = prod.test_client()
    token = mint(HOOK)
    no_card = t1_call()
    no_card["context"]["draftOrders"]["entry"][0]["resource"] = draft_med("tx-cscc", "5640", "ibuprofen")
    response = client.post(HOOK, json=no_card, headers=bearer(token))
    assert response.status_code == 200 and response.get_json() == {"cards": []}
    assert prod.config["CDSHOOKS_LEDGER"].rows() == []
    assert client.post(HOOK, json=no_card, headers=bearer(token)).status_code == 401


def test_a_refused_hook_call_still_spends_its_token(prod: Flask) -> None:
    client = prod.test_client()
    token = mint(HOOK)
    assert client.post(HOOK, json={"hook": "order-select"}, headers=bearer(token)).status_code == 400
    assert client.post(HOOK, json=t1_call(), headers=bearer(token)).status_code == 401
    assert prod.config["CDSHOOKS_LEDGER"].rows() == []


def test_a_replay_that_races_past_the_early_check_writes_no_ledger_row(
    prod: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another worker spends the same token between this call's early check and its commit: nothing is written."""
    token = mint(HOOK)
    claims = mint_claims(token)
    ReplayStore(prod.config["CDSHOOKS_DATABASE"]).first_use(ISSUER, claims["jti"], claims["exp"])
    monkeypatch.setattr(ReplayStore, "seen", lambda self, iss, jti: False)  # the early check misses it
    response = prod.test_client().post(HOOK, json=t1_call(), headers=bearer(token))
    assert response.status_code == 401
    assert prod.config["CDSHOOKS_LEDGER"].rows() == [] and suggestions(prod) == []


def test_a_failed_ledger_write_writes_no_replay_row(prod: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """No response without its ledger row: the call answers 503, and the token was not spent."""
    token = mint(HOOK)

    def broken(self: Ledger, conn: Any, issuance: Issuance) -> None:
        conn.execute(text("SELECT 1"))
        raise OperationalError("INSERT INTO issued_card", {}, Exception("disk I/O error"))

    with monkeypatch.context() as patch:
        patch.setattr(Ledger, "record", broken)
        response = prod.test_client().post(HOOK, json=t1_call(), headers=bearer(token))
    assert response.status_code == 503
    assert ReplayStore(prod.config["CDSHOOKS_DATABASE"]).count() == 0
    assert prod.test_client().post(HOOK, json=t1_call(), headers=bearer(token)).status_code == 200
    assert len(prod.config["CDSHOOKS_LEDGER"].rows()) == 1


def test_feedback_may_follow_at_once(prod: Flask) -> None:
    client = prod.test_client()
    card = client.post(HOOK, json=t1_call(), headers=bearer(mint(HOOK))).get_json()["cards"][0]
    item = {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2024-05-01T10:00:00Z"}
    feedback = {"feedback": [item]}
    response = client.post(HOOK + "/feedback", json=feedback, headers=bearer(mint(HOOK + "/feedback")))
    assert response.get_json() == {"stored": 1, "duplicates": 0}


# --- the store itself -----------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def issuance_of(card_uuid: str, *suggestion_uuids: str) -> Issuance:
    return Issuance("svc", None, "https://ehr", None, "p1", (IssuedCard(card_uuid, "T1", "1.0.0", suggestion_uuids),))


def test_rows_are_pruned_after_the_retention_period(tmp_path: Path) -> None:
    clock = Clock()
    ledger = Ledger(migrated(f"sqlite:///{tmp_path / 'l.db'}"), patient_key=PatientKey(b"k" * 32),
                    retention_days=90, clock=clock)  # fmt: skip
    with ledger.database.begin() as conn:
        ledger.record(conn, issuance_of("old", "old-s"))
    clock.now += timedelta(days=60).total_seconds()
    with ledger.database.begin() as conn:
        ledger.record(conn, issuance_of("new", "new-s"))
    clock.now += timedelta(days=31).total_seconds()
    assert ledger.prune() == 1
    assert set(ledger.cards(["old", "new"])) == {"new"}
    assert ledger.cards(["new"])["new"].suggestion_uuids == frozenset({"new-s"})


def test_retention_is_configurable(tmp_path: Path) -> None:
    app = create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db'}", ledger_retention_days=7))
    assert app.config["CDSHOOKS_LEDGER"].retention == timedelta(days=7)
    with pytest.raises(ValueError, match="CDSHOOKS_LEDGER_RETENTION_DAYS"):
        create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db'}", ledger_retention_days=0))


def test_patient_references_depend_on_the_key_and_the_client() -> None:
    key = PatientKey(b"a" * 32)
    reference = key.reference("https://ehr", "t1", "p1")
    assert reference == key.reference("https://ehr", "t1", "p1")
    assert len({reference, key.reference("https://ehr", "t2", "p1"), key.reference("https://other", "t1", "p1"),
                PatientKey(b"b" * 32).reference("https://ehr", "t1", "p1")}) == 4  # fmt: skip
    assert "aaaa" not in repr(key) and key.key_id in repr(key)


def mint_claims(token: str) -> dict[str, Any]:
    import jwt

    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]
