"""PostgreSQL as the production store: the migrations make the same schema there, a release-0.1.0
database keeps its rows, and two `cdshooks serve` replicas on one database share replay protection,
the ledger and feedback (Debian's PostgreSQL on loopback; see tests/postgres.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import requests
from alembic import command
from sqlalchemy import inspect, select, text

from cdshooks import schema
from cdshooks.database import Database
from cdshooks.ledger import issued_card_table
from tests.conftest import draft_med, hook_request
from tests.live_server import running_server
from tests.postgres import PostgresServer
from tests.security.jwt_helpers import HOOK, ISSUER, PATIENT_KEY, PUBLIC_URL, bearer, jwks, mint
from tests.test_migrations import differences, round_trip

FEEDBACK = HOOK + "/feedback"
READY_WITHIN = 15.0  # seconds: a replica re-checks its schema every few seconds


@pytest.fixture
def database_url(postgres: PostgresServer) -> str:
    return postgres.new_database()


def test_the_migrations_make_the_service_tables_on_postgres(database_url: str) -> None:
    database = Database(database_url)
    before, after = schema.upgrade(database)
    assert (before.current, after.at_head) == (None, True)
    assert differences(database) == []
    round_trip(database)
    database.close()


def test_a_release_010_database_on_postgres_keeps_its_rows(database_url: str) -> None:
    database = Database(database_url)
    with database.begin() as connection:  # what release 0.1.0 created: revision 0001's tables, unstamped
        command.upgrade(schema._config(connection), schema.BASELINE)
        connection.execute(text("DROP TABLE alembic_version"))
        connection.execute(
            text(
                "INSERT INTO issued_card (card_uuid, service_id, rule_id, rule_version, hook_instance, issued_at,"
                " patient_ref, patient_key_id) VALUES ('c-1', 'skin-oncology-order-select', 'T1', '2.0.0', 'h-1',"
                " now(), 'ref', 'kid')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO issued_suggestion (suggestion_uuid, card_uuid, issued_at) VALUES"
                " ('s-1', 'c-1', now()), ('s-2', 'c-1', now())"
            )
        )
        connection.execute(text("INSERT INTO seen_jwt (iss, jti, expires) VALUES ('i', 'j', 4000000000)"))
    assert schema.state(database).legacy
    done = subprocess.run(
        [sys.executable, "-m", "cdshooks.cli", "db", "upgrade", "--database-url", database_url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "was made by release 0.1.0, never migrated; now at" in done.stdout
    with database.connect() as connection:
        (card,) = connection.execute(select(issued_card_table)).mappings()
        assert (card["card_uuid"], card["suggestion_uuids"]) == ("c-1", "s-1 s-2")
        assert connection.execute(text("SELECT iss, jti FROM seen_jwt")).all() == [("i", "j")]
        assert "issued_suggestion" not in inspect(connection).get_table_names()
    assert differences(database) == []
    database.close()


def production_env(tmp_path: Path, database_url: str) -> dict[str, str]:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks("ES384")))
    return {
        "CDSHOOKS_DATABASE_URL": database_url,
        "CDSHOOKS_PUBLIC_URL": PUBLIC_URL,
        "CDSHOOKS_TRUSTED_ISSUERS": json.dumps({ISSUER: {"pinned": str(keys)}}),
        "CDSHOOKS_PATIENT_KEY_SECRET": PATIENT_KEY.decode(),
    }


def wait_ready(base: str) -> None:
    deadline = time.monotonic() + READY_WITHIN
    while requests.get(base + "/readyz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline, requests.get(base + "/readyz", timeout=5).json()
        time.sleep(0.25)


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory, postgres: PostgresServer) -> Iterator[tuple[str, str]]:
    """Two `cdshooks serve` processes in production mode on one PostgreSQL database, once it is upgraded
    (shared by the tests below: each sends tokens and cards of its own)."""
    tmp_path = tmp_path_factory.mktemp("replicas")
    database_url = postgres.new_database()
    env = production_env(tmp_path, database_url)
    with ExitStack() as stack:
        bases = [stack.enter_context(running_server(tmp_path / name, env=env))[0] for name in ("a", "b")]
        for base in bases:  # replicas never migrate: an empty database is not ready
            not_ready = requests.get(base + "/readyz", timeout=5)
            assert not_ready.status_code == 503
            assert "run `cdshooks db upgrade`" in not_ready.json()["reason"]
        done = subprocess.run(
            [sys.executable, "-m", "cdshooks.cli", "db", "upgrade"],
            env={**os.environ, "CDSHOOKS_DATABASE_URL": database_url},
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        for base in bases:
            wait_ready(base)
        yield bases[0], bases[1]


def t1_call() -> dict[str, Any]:
    return hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))


def test_a_token_used_at_one_replica_is_refused_at_the_other(replicas: tuple[str, str]) -> None:
    a, b = replicas
    headers = bearer(mint(HOOK))
    assert requests.post(a + HOOK, json=t1_call(), headers=headers, timeout=10).status_code == 200
    replayed = requests.post(b + HOOK, json=t1_call(), headers=headers, timeout=10)
    assert replayed.status_code == 401
    assert replayed.json()["error"] == "unauthorized"


def test_one_token_sent_to_both_replicas_at_once_is_accepted_once(replicas: tuple[str, str]) -> None:
    headers = bearer(mint(HOOK))
    body = t1_call()
    with ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(
                lambda base: requests.post(base + HOOK, json=body, headers=headers, timeout=15).status_code,
                [replicas[i % 2] for i in range(16)],
            )
        )
    assert sorted(statuses) == [200] + [401] * 15


def test_a_card_issued_by_one_replica_takes_feedback_at_the_other(replicas: tuple[str, str]) -> None:
    a, b = replicas
    (card,) = requests.post(a + HOOK, json=t1_call(), headers=bearer(mint(HOOK)), timeout=10).json()["cards"]
    item = {
        "card": card["uuid"],
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}],
        "outcomeTimestamp": "2026-12-01T10:00:00Z",
    }
    stored = requests.post(b + FEEDBACK, json={"feedback": [item]}, headers=bearer(mint(FEEDBACK)), timeout=10)
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"stored": 1, "duplicates": 0}
    again = requests.post(a + FEEDBACK, json={"feedback": [item]}, headers=bearer(mint(FEEDBACK)), timeout=10)
    assert again.json() == {"stored": 0, "duplicates": 1}
    unknown = {**item, "card": "5d4a3b1c-0000-4000-8000-000000000000"}
    refused = requests.post(b + FEEDBACK, json={"feedback": [unknown]}, headers=bearer(mint(FEEDBACK)), timeout=10)
    assert refused.status_code == 422
