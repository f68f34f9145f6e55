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


def prod(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("public_url", "https://cds.example.org")
    values.setdefault("patient_key_secret", b"k" * 32)
    return Settings(sandbox=False, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}", **values)


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
