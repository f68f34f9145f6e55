"""Production mode refuses to start without trusted issuers, or with unsafe settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cdshooks.app import create_app
from cdshooks.auth import ConfigurationError, build_authenticator
from cdshooks.settings import Settings
from tests.databases import migrated_url


def prod(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("public_url", "https://cds.example.org")
    values.setdefault("patient_key_secret", b"k" * 32)
    return Settings(sandbox=False, database_url=migrated_url(f"sqlite:///{tmp_path / 'db.sqlite3'}"), **values)


def test_production_without_trusted_issuers_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="CDSHOOKS_TRUSTED_ISSUERS"):
        build_authenticator(prod(tmp_path))
    with pytest.raises(ConfigurationError, match="--sandbox"):
        create_app(prod(tmp_path))


def test_sandbox_runs_without_authentication(tmp_path: Path) -> None:
    assert build_authenticator(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}")) is None


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"trusted_issuers": {"https://ehr": "http://keys.example.org/jwks"}}, "must be https"),
        ({"trusted_issuers": {"https://ehr": "ftp://keys.example.org/jwks"}}, "must be https"),
        (
            {"trusted_issuers": {"https://ehr": "https://ehr/jwks"}, "trusted_jku": {"https://other": ("https://x",)}},
            "not in CDSHOOKS_TRUSTED_ISSUERS",
        ),
        (
            {"trusted_issuers": {"https://ehr": "https://ehr/jwks"}, "trusted_jku": {"https://ehr": ("http://x/j",)}},
            "must be https",
        ),
        ({"trusted_issuers": {"https://ehr": "https://ehr/jwks"}, "jwt_leeway_seconds": 3600}, "LEEWAY"),
    ],
)
def test_unsafe_key_configuration_refuses_to_start(tmp_path: Path, values: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        build_authenticator(prod(tmp_path, **values))


def test_loopback_http_jwks_is_allowed(tmp_path: Path) -> None:
    assert build_authenticator(prod(tmp_path, trusted_issuers={"https://ehr": "http://127.0.0.1:8081/jwks"}))


def test_wildcard_cors_origin_refused_in_production(tmp_path: Path) -> None:
    settings = prod(tmp_path, trusted_issuers={"https://ehr": "https://ehr/jwks"}, cors_origins=("*",))
    with pytest.raises(ConfigurationError, match="only allowed in sandbox"):
        create_app(settings)
    bad = prod(tmp_path, trusted_issuers={"https://ehr": "https://ehr/jwks"}, cors_origins=("https://a.org/path",))
    with pytest.raises(ConfigurationError, match="is not an origin"):
        create_app(bad)


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CDSHOOKS_")}
    clean.update({"CDSHOOKS_DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}", **env})
    command = [sys.executable, "-m", "cdshooks.cli", "serve", "--host", "127.0.0.1", "--port", "0", *args]
    return subprocess.run(command, env=clean, capture_output=True, text=True, timeout=60, check=False)


def test_serve_without_trusted_issuers_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    result = _serve(tmp_path, {})
    assert result.returncode == 2
    assert "cdshooks: cannot start: production mode requires CDSHOOKS_TRUSTED_ISSUERS" in result.stderr
    assert "--sandbox" in result.stderr


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CDSHOOKS_TRUSTED_ISSUERS": "{not json"}, "CDSHOOKS_TRUSTED_ISSUERS is not valid JSON"),
        ({"CDSHOOKS_TRUSTED_ISSUERS": '["https://ehr"]'}, "must be a JSON object"),
        (
            {
                "CDSHOOKS_TRUSTED_ISSUERS": '{"https://ehr": "https://ehr/jwks"}',
                "CDSHOOKS_PUBLIC_URL": "https://cds.example.org",
                "CDSHOOKS_CORS_ORIGINS": "*",
            },
            "only allowed in sandbox",
        ),
        ({"CDSHOOKS_TRUSTED_ISSUERS": '{"https://ehr": "https://ehr/jwks"}'}, "requires CDSHOOKS_PUBLIC_URL"),
        ({"CDSHOOKS_SANDBOX": "1"}, "production mode requires CDSHOOKS_TRUSTED_ISSUERS"),
    ],
)
def test_serve_with_bad_configuration_exits_2(tmp_path: Path, env: dict[str, str], message: str) -> None:
    result = _serve(tmp_path, env)
    assert result.returncode == 2
    assert message in result.stderr


# --- the store every worker must share ------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///file::memory:?uri=true", "sqlite:///x.db?mode=memory&uri=true"],
)
def test_production_refuses_an_in_memory_store(tmp_path: Path, url: str) -> None:
    """Each gunicorn worker would have its own in-memory database: a token could be replayed once per worker."""
    settings = Settings(
        sandbox=False,
        database_url=url,
        public_url="https://cds.example.org",
        trusted_issuers={"https://ehr": "https://ehr/jwks"},
        patient_key_secret=b"k" * 32,
    )
    with pytest.raises(ConfigurationError, match="in-memory SQLite"):
        create_app(settings)


def test_sandbox_may_use_an_in_memory_store() -> None:
    client = create_app(Settings(sandbox=True, database_url="sqlite://")).test_client()
    assert client.get("/cds-services").status_code == 200


def test_serve_on_an_in_memory_store_exits_2(tmp_path: Path) -> None:
    env = {
        "CDSHOOKS_TRUSTED_ISSUERS": '{"https://ehr": "https://ehr/jwks"}',
        "CDSHOOKS_PUBLIC_URL": "https://cds.example.org",
        "CDSHOOKS_PATIENT_KEY_SECRET": "k" * 32,
        "CDSHOOKS_DATABASE_URL": "sqlite://",
    }
    result = _serve(tmp_path, env)
    assert result.returncode == 2
    assert "in-memory SQLite" in result.stderr


# --- the patient-reference key ------------------------------------------------------


@pytest.mark.parametrize("secret", [None, b"", b"short"])
def test_production_requires_a_patient_key_secret(tmp_path: Path, secret: bytes | None) -> None:
    settings = prod(tmp_path, trusted_issuers={"https://ehr": "https://ehr/jwks"}, patient_key_secret=secret)
    with pytest.raises(ConfigurationError, match="CDSHOOKS_PATIENT_KEY_SECRET"):
        create_app(settings)


def test_patient_key_secret_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = tmp_path / "patient-key"
    secret.write_text("s" * 40 + "\n")
    monkeypatch.setenv("CDSHOOKS_PATIENT_KEY_SECRET_FILE", str(secret))
    assert Settings.from_env().patient_key_secret == b"s" * 40
    monkeypatch.setenv("CDSHOOKS_PATIENT_KEY_SECRET", "t" * 40)
    with pytest.raises(ValueError, match="not both"):
        Settings.from_env()


def test_sandbox_without_a_secret_gets_a_random_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CDSHOOKS_PATIENT_KEY_SECRET", raising=False)
    monkeypatch.delenv("CDSHOOKS_PATIENT_KEY_SECRET_FILE", raising=False)
    first, second = Settings.from_env(sandbox=True), Settings.from_env(sandbox=True)
    assert first.patient_key_secret and second.patient_key_secret
    assert len(first.patient_key_secret) >= 32 and first.patient_key_secret != second.patient_key_secret
    assert Settings.from_env().patient_key_secret is None  # production: none unless configured
    assert "patient_key_secret" not in repr(first)


def test_serve_without_a_patient_key_exits_2(tmp_path: Path) -> None:
    env = {
        "CDSHOOKS_TRUSTED_ISSUERS": '{"https://ehr": "https://ehr/jwks"}',
        "CDSHOOKS_PUBLIC_URL": "https://cds.example.org",
    }
    result = _serve(tmp_path, env)
    assert result.returncode == 2
    assert "requires CDSHOOKS_PATIENT_KEY_SECRET" in result.stderr


def test_database_of_an_older_version_refuses_to_start(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as conn:  # the feedback table as an earlier version made it
        conn.execute("CREATE TABLE feedback (id INTEGER PRIMARY KEY, digest VARCHAR(64), service_id VARCHAR(200))")
    with pytest.raises(ConfigurationError, match=r"no migration knows it"):
        create_app(Settings(sandbox=True, database_url=f"sqlite:///{path}"))
