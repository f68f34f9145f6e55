"""Pinned key sets and published test keys.

The public CDS Hooks sandbox always sends `jku: https://sandbox.cds-hooks.org/.well-known/jwks.json`.
An operator who pins that issuer's key set (a mirror URL or a local copy) makes that set the only
key source: the `jku` header is neither fetched nor a reason to refuse. The sandbox's own key is
published with its private half, so production refuses to trust it unless told otherwise.

The tokens here are shaped like the sandbox's (ES384, its `iss`, `kid` and `jku`, a `sub`) but
signed with a key generated for the test: the published private key is not part of this project.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from cdshooks.app import create_app
from cdshooks.auth import ConfigurationError, build_authenticator
from cdshooks.jwks import parse_jwks
from cdshooks.published_keys import PUBLISHED_TEST_KEYS, thumbprint
from cdshooks.settings import Settings
from tests.security.jwt_helpers import DISCOVERY, PUBLIC_URL, JwksServer, bearer, keys, production_settings

SANDBOX_ISS = "https://sandbox.cds-hooks.org"
SANDBOX_KID = "44823f3d-0b01-4a6c-a80e-b9d3e8a7226f"
SANDBOX_JKU = "https://sandbox.cds-hooks.org/.well-known/jwks.json"
# the public half of the sandbox's published ES384 key, from github.com/cds-hooks/sandbox .well-known/jwks.json
SANDBOX_PUBLIC_JWK = {
    "kty": "EC",
    "use": "sig",
    "crv": "P-384",
    "kid": SANDBOX_KID,
    "x": "dw_JGR8nB2I6XveNxUOl2qk699ZPLM2nYI5STSdiEl9avAkrm3CkfYMbrrjr8laB",
    "y": "Sm3mLE-n1zYNla_aiE3cb3nZsL51RbC7ysw3q8aJLxGm-hx79RPMYpITDjp7kgzy",
    "alg": "ES384",
}


def sandbox_shaped(path: str = DISCOVERY, **claims: Any) -> str:
    """A token as the public sandbox sends it, signed with the test's own P-384 key under the sandbox's kid."""
    now = int(time.time())
    payload = {"iss": SANDBOX_ISS, "sub": "48163c5e-88b5-4cb3-92d3-23b800caa927", "aud": PUBLIC_URL + path,
               "exp": now + 300, "iat": now, "jti": str(uuid.uuid4()), **claims}  # fmt: skip
    headers = {"typ": "JWT", "kid": SANDBOX_KID, "jku": SANDBOX_JKU}
    return jwt.encode(payload, keys()["ES384"].private, algorithm="ES384", headers=headers)


def own_key_as_sandbox() -> dict[str, Any]:
    return {"keys": [keys()["ES384"].public_jwk(kid=SANDBOX_KID)]}


def pinned_settings(tmp_path: Path, jwks_server: JwksServer, source: str, **values: Any) -> Settings:
    values = {"trusted_issuers": {SANDBOX_ISS: source}, "pinned_issuers": (SANDBOX_ISS,), "trusted_jku": {}, **values}
    return production_settings(tmp_path, jwks_server, **values)


class Recording:
    """A key fetcher that serves one document and records every source it was asked for."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.sources: list[str] = []

    def __call__(self, source: str) -> Any:
        self.sources.append(source)
        return self.document


# --- a pinned set is the only key source ------------------------------------------------


def test_pinned_local_copy_accepts_sandbox_shaped_tokens(tmp_path: Path, jwks_server: JwksServer) -> None:
    copy = tmp_path / "sandbox-jwks.json"
    copy.write_text(json.dumps(own_key_as_sandbox()))
    client = create_app(pinned_settings(tmp_path, jwks_server, str(copy))).test_client()
    assert client.get(DISCOVERY, headers=bearer(sandbox_shaped())).status_code == 200


def test_pinned_mirror_url_accepts_sandbox_shaped_tokens(tmp_path: Path, jwks_server: JwksServer) -> None:
    jwks_server.documents["/mirror/sandbox.json"] = own_key_as_sandbox()
    client = create_app(pinned_settings(tmp_path, jwks_server, jwks_server.url("/mirror/sandbox.json"))).test_client()
    assert client.get(DISCOVERY, headers=bearer(sandbox_shaped())).status_code == 200
    assert jwks_server.hits == {"/mirror/sandbox.json": 1}


def test_the_jku_of_a_pinned_issuer_is_never_fetched(tmp_path: Path, jwks_server: JwksServer) -> None:
    mirror = jwks_server.url("/mirror/sandbox.json")
    fetch = Recording(own_key_as_sandbox())
    authenticator = build_authenticator(pinned_settings(tmp_path, jwks_server, mirror), fetch=fetch)
    assert authenticator is not None
    for jku in (SANDBOX_JKU, "https://evil.example.net/jwks.json", 42):
        token = jwt.encode(
            jwt.decode(sandbox_shaped(), options={"verify_signature": False}) | {"jti": str(uuid.uuid4())},
            keys()["ES384"].private,
            algorithm="ES384",
            headers={"typ": "JWT", "kid": SANDBOX_KID, "jku": jku},
        )
        verified = authenticator.verify(f"Bearer {token}", PUBLIC_URL + DISCOVERY)
        assert verified.iss == SANDBOX_ISS
    assert set(fetch.sources) == {mirror}


def test_a_token_not_signed_by_the_pinned_key_is_still_refused(tmp_path: Path, jwks_server: JwksServer) -> None:
    jwks_server.documents["/mirror/sandbox.json"] = own_key_as_sandbox()
    client = create_app(pinned_settings(tmp_path, jwks_server, jwks_server.url("/mirror/sandbox.json"))).test_client()
    forged = jwt.encode(
        jwt.decode(sandbox_shaped(), options={"verify_signature": False}),
        keys()["attacker"].private,
        algorithm="ES384",
        headers={"typ": "JWT", "kid": SANDBOX_KID, "jku": SANDBOX_JKU},
    )
    assert client.get(DISCOVERY, headers=bearer(forged)).status_code == 401


def test_an_unpinned_issuer_still_refuses_an_unlisted_jku(tmp_path: Path, jwks_server: JwksServer) -> None:
    jwks_server.documents["/mirror/sandbox.json"] = own_key_as_sandbox()
    settings = production_settings(
        tmp_path, jwks_server, trusted_issuers={SANDBOX_ISS: jwks_server.url("/mirror/sandbox.json")}, trusted_jku={}
    )
    client = create_app(settings).test_client()
    assert client.get(DISCOVERY, headers=bearer(sandbox_shaped())).status_code == 401


def test_settings_read_pinned_issuers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "CDSHOOKS_TRUSTED_ISSUERS",
        json.dumps({SANDBOX_ISS: {"pinned": "/etc/cdshooks/sandbox.json"}, "https://ehr": "https://ehr/jwks"}),
    )
    settings = Settings.from_env()
    assert settings.trusted_issuers == {SANDBOX_ISS: "/etc/cdshooks/sandbox.json", "https://ehr": "https://ehr/jwks"}
    assert settings.pinned_issuers == (SANDBOX_ISS,)
    for bad in ({SANDBOX_ISS: {"pin": "x"}}, {SANDBOX_ISS: {"pinned": 3}}, {SANDBOX_ISS: ["x"]}, {SANDBOX_ISS: ""}):
        monkeypatch.setenv("CDSHOOKS_TRUSTED_ISSUERS", json.dumps(bad))
        with pytest.raises(ValueError, match="CDSHOOKS_TRUSTED_ISSUERS"):
            Settings.from_env()


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"trusted_issuers": {SANDBOX_ISS: "/no/such/file.json"}, "pinned_issuers": (SANDBOX_ISS,)}, "cannot be read"),
        ({"trusted_issuers": {SANDBOX_ISS: "/etc/x.json"}}, "must be given as"),
        ({"trusted_issuers": {"https://a|b": "https://a/jwks"}}, "without '|'"),
    ],
)
def test_bad_pinned_configuration_refuses_to_start(
    tmp_path: Path, jwks_server: JwksServer, values: dict[str, Any], message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        create_app(production_settings(tmp_path, jwks_server, trusted_jku={}, **values))


def test_a_pinned_issuer_takes_no_jku_list(tmp_path: Path, jwks_server: JwksServer) -> None:
    settings = pinned_settings(
        tmp_path, jwks_server, jwks_server.url("/jwks.json"), trusted_jku={SANDBOX_ISS: ("https://x/j",)}
    )
    with pytest.raises(ConfigurationError, match="pinned"):
        create_app(settings)


def test_a_pinned_file_without_keys_refuses_to_start(tmp_path: Path, jwks_server: JwksServer) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text('{"keys": [{"kty": "oct", "kid": "k", "k": "c2VjcmV0"}]}')
    with pytest.raises(ConfigurationError, match="holds no EC or RSA public key"):
        create_app(pinned_settings(tmp_path, jwks_server, str(empty)))


# --- published test keys --------------------------------------------------------------


def test_thumbprints_follow_rfc_7638() -> None:
    rfc_example = {  # RFC 7638, section 3.1
        "kty": "RSA",
        "e": "AQAB",
        "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRX"
        "jBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZ"
        "gnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0"
        "Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
        "alg": "RS256",
        "kid": "2011-04-29",
    }
    assert thumbprint(rfc_example) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
    assert thumbprint(SANDBOX_PUBLIC_JWK) in PUBLISHED_TEST_KEYS
    assert thumbprint({"kty": "EC", "crv": "P-384"}) is None


def test_a_pinned_copy_of_the_sandbox_key_refuses_to_start(tmp_path: Path, jwks_server: JwksServer) -> None:
    copy = tmp_path / "sandbox-jwks.json"
    copy.write_text(json.dumps({"keys": [SANDBOX_PUBLIC_JWK]}))
    with pytest.raises(ConfigurationError, match=r"published test key .*CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS"):
        create_app(pinned_settings(tmp_path, jwks_server, str(copy)))


def test_the_sandbox_key_set_url_refuses_to_start(tmp_path: Path, jwks_server: JwksServer) -> None:
    settings = production_settings(tmp_path, jwks_server, trusted_issuers={SANDBOX_ISS: SANDBOX_JKU}, trusted_jku={})
    with pytest.raises(ConfigurationError, match="published"):
        create_app(settings)


def test_allowing_published_keys_starts_with_a_loud_warning(
    tmp_path: Path, jwks_server: JwksServer, caplog: pytest.LogCaptureFixture
) -> None:
    copy = tmp_path / "sandbox-jwks.json"
    copy.write_text(json.dumps({"keys": [SANDBOX_PUBLIC_JWK]}))
    logging.getLogger("cdshooks").addHandler(caplog.handler)
    try:
        create_app(pinned_settings(tmp_path, jwks_server, str(copy), allow_published_test_keys=True))
    finally:
        logging.getLogger("cdshooks").removeHandler(caplog.handler)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING and "PUBLISHED" in r.getMessage().upper()]
    assert warnings and "Never use this with real patient data" in warnings[0].getMessage()


def test_a_published_key_fetched_at_run_time_is_dropped(
    tmp_path: Path, jwks_server: JwksServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A key set URL that serves the sandbox's key (say, a mirror of it): that key is never used."""
    jwks_server.documents["/mirror/sandbox.json"] = {"keys": [SANDBOX_PUBLIC_JWK, keys()["ES256"].public_jwk()]}
    client = create_app(pinned_settings(tmp_path, jwks_server, jwks_server.url("/mirror/sandbox.json"))).test_client()
    logging.getLogger("cdshooks").addHandler(caplog.handler)
    try:
        response = client.get(DISCOVERY, headers=bearer(sandbox_shaped()))
    finally:
        logging.getLogger("cdshooks").removeHandler(caplog.handler)
    assert response.status_code == 401
    reasons = [r.__dict__.get("reason", "") for r in caplog.records]
    assert any("published test key" in reason for reason in reasons), reasons
    assert any(r.getMessage() == "published test key refused" for r in caplog.records)
    other = jwt.encode(
        jwt.decode(sandbox_shaped(), options={"verify_signature": False}),
        keys()["ES256"].private,
        algorithm="ES256",
        headers={"typ": "JWT", "kid": keys()["ES256"].kid, "jku": SANDBOX_JKU},
    )
    assert client.get(DISCOVERY, headers=bearer(other)).status_code == 200  # the set's other keys still serve


def test_allowed_published_keys_are_kept() -> None:
    document = {"keys": [SANDBOX_PUBLIC_JWK]}
    assert parse_jwks(document).keys == {} and SANDBOX_KID in parse_jwks(document).refused
    assert SANDBOX_KID in parse_jwks(document, allow_published=True).keys
