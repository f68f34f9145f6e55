"""Start-up says once what an operator must check: the mode, whom the service trusts, where it may
fetch and where it stores — never a credential."""

from __future__ import annotations

import json
from pathlib import Path

from tests.live_server import running_server
from tests.security.jwt_helpers import ISSUER, PATIENT_KEY, PUBLIC_URL, jwks


def lines(stderr: bytes) -> list[dict[str, object]]:
    return [json.loads(line) for line in stderr.decode().splitlines() if line.strip()]


def test_sandbox_mode_warns_once_however_many_workers(tmp_path: Path) -> None:
    with running_server(tmp_path, "--sandbox", "--workers", "2") as (_, stderr):
        pass
    warnings = [line for line in lines(stderr[0]) if str(line["message"]).startswith("SANDBOX MODE")]
    assert len(warnings) == 1
    assert warnings[0]["mode"] == "sandbox" and str(warnings[0]["database"]).startswith("sqlite:///")


def test_production_mode_names_its_configuration_without_credentials(tmp_path: Path) -> None:
    keys = tmp_path / "jwks.json"
    keys.write_text(json.dumps(jwks("ES384")))
    env = {
        "CDSHOOKS_DATABASE_URL": "postgresql://cdshooks:s3cret-pw@127.0.0.1:1/cdshooks",
        "CDSHOOKS_PUBLIC_URL": PUBLIC_URL,
        "CDSHOOKS_TRUSTED_ISSUERS": json.dumps(
            {ISSUER: "https://ehr.example.org/jwks.json", "https://other.example.org": {"pinned": str(keys)}}
        ),
        "CDSHOOKS_FHIR_ALLOWLIST": "https://ehr.example.org/fhir/",
        "CDSHOOKS_PATIENT_KEY_SECRET": PATIENT_KEY.decode(),
    }
    with running_server(tmp_path, "--workers", "2", env=env) as (_, stderr):
        pass
    written = stderr[0].decode()
    assert "s3cret-pw" not in written and PATIENT_KEY.decode() not in written
    (announced,) = [line for line in lines(stderr[0]) if line["message"] == "production mode"]
    assert announced["trusted_issuers"] == sorted([ISSUER, "https://other.example.org"])
    assert announced["pinned_issuers"] == ["https://other.example.org"]
    assert announced["fhir_allowlist"] == ["https://ehr.example.org/fhir/"]
    assert announced["database"] == "postgresql://cdshooks:***@127.0.0.1:1/cdshooks"
    assert announced["public_url"] == PUBLIC_URL
    assert not [line for line in lines(stderr[0]) if str(line["message"]).startswith("SANDBOX")]
