"""Migrations own the schema: a fresh upgrade makes exactly the tables the code uses, a release-0.1.0
database is stamped and upgraded with its rows kept, and a schema behind the head is not ready."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from flask.testing import FlaskClient
from sqlalchemy import inspect, select, text, update

from cdshooks import readiness, schema
from cdshooks.app import create_app
from cdshooks.cli import main
from cdshooks.database import Database
from cdshooks.ledger import issued_card_table
from cdshooks.replay import ReplayStore
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, service_url
from tests.databases import migrated
from tests.live_server import free_port
from tests.security.jwt_helpers import HOOK, JwksServer, bearer, mint, production_settings

RELEASE_010 = Path(__file__).parent / "data" / "release-0.1.0.sqlite3"
CARD = "05a8bb04-3260-4335-9263-b1f748c74ff4"
ACCEPTED_SUGGESTION = "56f7d255-b39e-4d6e-b56e-59655772365d"
OTHER_SUGGESTION = "9231655b-443e-4b39-8183-7b855c6fef78"
FEEDBACK_URL = service_url("order-select") + "/feedback"


def differences(database: Database) -> list[Any]:
    """What Alembic's autogenerate would change to make the database match the service's tables."""
    with database.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection), schema.metadata_of_the_service())


def release_010_copy(tmp_path: Path) -> str:
    target = tmp_path / "release-0.1.0.sqlite3"
    shutil.copyfile(RELEASE_010, target)
    return f"sqlite:///{target}"


def accepted(suggestion: str) -> dict[str, Any]:
    return {
        "card": CARD,
        "outcome": "accepted",
        "acceptedSuggestions": [{"id": suggestion}],
        "outcomeTimestamp": "2026-11-30T10:00:00Z",
    }


def test_a_fresh_upgrade_makes_exactly_the_tables_the_service_uses(tmp_path: Path) -> None:
    database = migrated(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    assert differences(database) == []
    assert schema.state(database).at_head
    assert "alembic_version" in inspect(database.engine).get_table_names()


def round_trip(database: Database) -> None:
    """Every revision down to nothing and up again, ending with exactly the service's tables."""
    with database.begin() as connection:
        config = schema._config(connection)
        command.downgrade(config, "base")
        assert set(inspect(connection).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
    assert differences(database) == []


def test_every_revision_downgrades_and_upgrades_again(tmp_path: Path) -> None:
    round_trip(migrated(f"sqlite:///{tmp_path / 'round.sqlite3'}"))


def test_release_010_database_is_stamped_and_upgraded_with_its_rows(tmp_path: Path, capsys: Any) -> None:
    url = release_010_copy(tmp_path)
    assert main(["db", "status", "--database-url", url]) == 1
    assert "made by release 0.1.0, never migrated: run `cdshooks db upgrade`" in capsys.readouterr().out

    assert main(["db", "upgrade", "--database-url", url]) == 0
    out = capsys.readouterr().out
    assert f"was made by release 0.1.0, never migrated; now at {schema.head()} (head)" in out

    database = Database(url)
    assert differences(database) == []
    with database.connect() as connection:
        (card,) = connection.execute(select(issued_card_table)).mappings()
        assert (card["card_uuid"], card["rule_id"], card["rule_version"]) == (CARD, "T1", "2.0.0")
        assert card["suggestion_uuids"].split() == [ACCEPTED_SUGGESTION, OTHER_SUGGESTION]
        assert card["patient_ref"] == "e3d10a490222111e40ebc8642ee9ed006f65da2c7be8fe7b768b76a83df9a52c"
        feedback = connection.execute(text("SELECT card_uuid, outcome, accepted_suggestions FROM feedback")).all()
        assert feedback == [(CARD, "accepted", f'[{{"id": "{ACCEPTED_SUGGESTION}"}}]')]
        assert connection.execute(text("SELECT iss, used FROM feedback_quota")).all() == [("", 1)]
    assert ReplayStore(database).seen("https://ehr.example.org", "jti-release-010")
    database.close()

    assert main(["db", "status", "--database-url", url]) == 0
    assert f"at {schema.head()} (head)" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 0  # a second run has nothing to do
    assert f"was at {schema.head()} (head); now at {schema.head()} (head)" in capsys.readouterr().out


def test_the_upgraded_ledger_takes_feedback_on_the_release_010_card(tmp_path: Path) -> None:
    url = release_010_copy(tmp_path)
    assert main(["db", "upgrade", "--database-url", url]) == 0
    database = Database(url)
    with database.begin() as connection:  # keep the card inside the ledger's retention, whenever this runs
        connection.execute(update(issued_card_table).values(issued_at=datetime.now(UTC)))
    database.close()
    client = create_app(Settings(sandbox=True, database_url=url)).test_client()
    # release 0.1.0's stored feedback, sent again, is recognised: the duplicate digest did not change
    assert client.post(FEEDBACK_URL, json={"feedback": [accepted(ACCEPTED_SUGGESTION)]}).get_json() == {
        "stored": 0, "duplicates": 1
    }  # fmt: skip
    # the card's other suggestion, copied into the card's row, is one this service issued
    response = client.post(FEEDBACK_URL, json={"feedback": [accepted(OTHER_SUGGESTION)]})
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"stored": 1, "duplicates": 0}


def test_a_replayed_release_010_token_is_still_refused(tmp_path: Path) -> None:
    url = release_010_copy(tmp_path)
    assert main(["db", "upgrade", "--database-url", url]) == 0
    database = Database(url)
    replay = ReplayStore(database)
    assert not replay.first_use("https://ehr.example.org", "jti-release-010", 2_000_000_000)
    assert replay.first_use("https://ehr.example.org", "jti-new", 2_000_000_000)
    database.close()


def test_a_database_no_migration_knows_is_refused(tmp_path: Path, capsys: Any) -> None:
    database = migrated(f"sqlite:///{tmp_path / 'newer.sqlite3'}")
    with database.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    url = str(database.engine.url)
    database.close()
    assert main(["db", "status", "--database-url", url]) == 1
    assert "a revision this version does not know" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", url]) == 2
    assert "upgrade cdshooks instead" in capsys.readouterr().err


def test_tables_that_are_not_release_010s_are_refused(tmp_path: Path, capsys: Any) -> None:
    url = f"sqlite:///{tmp_path / 'odd.sqlite3'}"
    database = Database(url)
    with database.begin() as connection:
        connection.execute(text("CREATE TABLE seen_jwt (id INTEGER PRIMARY KEY, iss TEXT)"))
    database.close()
    assert main(["db", "upgrade", "--database-url", url]) == 2
    assert "not made by release 0.1.0" in capsys.readouterr().err
    assert inspect(Database(url).engine).get_table_names() == ["seen_jwt"]  # left as it was


def test_an_unreachable_database_is_reported_without_its_password(capsys: Any) -> None:
    pytest.importorskip("psycopg", reason="the postgres extra is not installed")
    url = f"postgresql://cdshooks:s3cret-word@127.0.0.1:{free_port()}/cdshooks"  # nothing listens there
    assert main(["db", "status", "--database-url", url]) == 2
    err = capsys.readouterr().err
    assert "cannot reach postgresql://cdshooks:***@127.0.0.1" in err
    assert "s3cret-word" not in err


def t1_call(client: FlaskClient) -> Any:
    """A signed order-select call that draws the T1 card (the ledger and the replay store are written)."""
    body = hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
    return client.post(HOOK, json=body, headers=bearer(mint(HOOK)))


def test_production_on_a_database_behind_the_head_is_not_ready_until_it_is_upgraded(
    tmp_path: Path, keyserver: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readiness, "CHECK_EVERY_SECONDS", 0.0)
    url = release_010_copy(tmp_path)
    client = create_app(production_settings(tmp_path, keyserver, database_url=url)).test_client()
    assert schema.state(Database(url)).legacy  # production never migrates by itself

    assert client.get("/livez").status_code == 200
    not_ready = client.get("/readyz")
    assert not_ready.status_code == 503
    assert "run `cdshooks db upgrade`" in not_ready.get_json()["reason"]
    refused = t1_call(client)
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.get_json()["error"] == "unavailable"
    assert "not ready" in refused.get_json()["message"]
    feedback = client.post(
        FEEDBACK_URL, json={"feedback": [accepted(OTHER_SUGGESTION)]}, headers=bearer(mint(FEEDBACK_URL))
    )
    assert feedback.status_code == 503
    discovery = client.get("/cds-services", headers=bearer(mint("/cds-services")))
    assert discovery.status_code == 200  # discovery needs no database

    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert client.get("/readyz").get_json() == {"status": "ready"}
    answered = t1_call(client)
    assert answered.status_code == 200
    assert [card["summary"][:30] for card in answered.get_json()["cards"]]


def test_an_empty_production_database_is_not_ready(
    tmp_path: Path, keyserver: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(readiness, "CHECK_EVERY_SECONDS", 0.0)
    url = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    client = create_app(production_settings(tmp_path, keyserver, database_url=url)).test_client()
    reason = client.get("/readyz").get_json()["reason"]
    assert reason == f"database schema empty: run `cdshooks db upgrade` (head is {schema.head()})"
    assert inspect(Database(url).engine).get_table_names() == []  # nothing was created behind the operator's back


def test_a_replica_of_the_previous_release_stays_ready_on_a_newer_schema(
    tmp_path: Path, keyserver: JwksServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rolling update migrates first; the replicas still running the release before keep answering."""
    monkeypatch.setattr(readiness, "CHECK_EVERY_SECONDS", 0.0)
    database = migrated(f"sqlite:///{tmp_path / 'ahead.sqlite3'}")
    with database.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    url = str(database.engine.url)
    database.close()
    client = create_app(production_settings(tmp_path, keyserver, database_url=url)).test_client()
    assert client.get("/readyz").get_json() == {"status": "ready"}
    assert t1_call(client).status_code == 200
