"""Signing real CDS Client JWTs for tests, and a loopback server for their JWK Sets.

Keys are generated with `cryptography` once per test session (EC P-384 for ES384,
EC P-256 for ES256, RSA 2048 for RS384/RS256, and an attacker's P-384 key).
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from cdshooks.settings import Settings
from tests.databases import migrated_url

ISSUER = "https://ehr.example.org"
PATIENT_KEY = b"test-patient-key-secret-of-32-bytes-or-more"
OTHER_ISSUER = "https://other-ehr.example.org"
PUBLIC_URL = "https://cds.example.org"
DISCOVERY = "/cds-services"
HOOK = "/cds-services/skin-oncology-order-select"
FEEDBACK = "/cds-services/skin-oncology-order-select/feedback"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    alg: str
    private: Any

    def public_jwk(self, **extra: Any) -> dict[str, Any]:
        algorithm = ECAlgorithm if self.alg.startswith("ES") else RSAAlgorithm
        jwk = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**jwk, "kid": self.kid, "use": "sig", "alg": self.alg, **extra}


@lru_cache(maxsize=1)
def keys() -> dict[str, SigningKey]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {
        "ES384": SigningKey("ec-384", "ES384", ec.generate_private_key(ec.SECP384R1())),
        "ES256": SigningKey("ec-256", "ES256", ec.generate_private_key(ec.SECP256R1())),
        "RS384": SigningKey("rsa-384", "RS384", rsa_key),
        "RS256": SigningKey("rsa-256", "RS256", rsa_key),
        "attacker": SigningKey("ec-384", "ES384", ec.generate_private_key(ec.SECP384R1())),
        "jku": SigningKey("jku-key", "ES384", ec.generate_private_key(ec.SECP384R1())),
    }


def jwks(*names: str) -> dict[str, Any]:
    return {"keys": [keys()[n].public_jwk() for n in names]}


def claims(audience: str | list[str], **overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    body: dict[str, Any] = {
        "iss": ISSUER,
        "aud": audience,
        "exp": now + 300,
        "iat": now,
        "jti": str(uuid.uuid4()),
    }
    for name, value in overrides.items():
        body[name] = value
    return {name: value for name, value in body.items() if value is not DROP}


DROP = object()


def mint(path: str, *, key: str = "ES384", header: dict[str, Any] | None = None, **overrides: Any) -> str:
    """A signed token for the endpoint at `path` (aud = PUBLIC_URL + path unless overridden)."""
    signing = keys()[key]
    payload = claims(overrides.pop("aud", PUBLIC_URL + path), **overrides)
    headers: dict[str, Any] = {"typ": "JWT", "kid": signing.kid}
    for name, value in (header or {}).items():
        if value is DROP:
            headers.pop(name, None)
        else:
            headers[name] = value
    alg = headers.pop("alg", signing.alg)
    return jwt.encode(payload, signing.private, algorithm=alg, headers=headers)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def unsigned(path: str) -> str:
    """An `alg: none` token (no signature)."""
    return f"{b64({'alg': 'none', 'typ': 'JWT', 'kid': 'ec-384'})}.{b64(claims(PUBLIC_URL + path))}."


def hmac_signed(path: str) -> str:
    """An HS256 token: the symmetric algorithms the spec forbids."""
    secret = "a-shared-secret-of-32-bytes-long!"
    return jwt.encode(claims(PUBLIC_URL + path), secret, algorithm="HS256", headers={"kid": "ec-384", "typ": "JWT"})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@dataclass
class JwksServer:
    """Serves JWK Sets on loopback: `documents[path]` is the JSON (or bytes/status) answered at `path`."""

    documents: dict[str, Any] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base_url + path

    def close(self) -> None:
        self._server.shutdown()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        document = self.documents.get(request.path)
        if document is None:
            response = Response("not found", 404)
        elif isinstance(document, Response):
            response = document
        elif isinstance(document, bytes):
            response = Response(document, 200, content_type="application/json")
        else:
            response = Response(json.dumps(document), 200, content_type="application/json")
        return response(environ, start_response)


def production_settings(tmp_path: Path, jwks_server: JwksServer, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sandbox": False,
        "database_url": migrated_url(f"sqlite:///{tmp_path / 'cdshooks.sqlite3'}"),
        "public_url": PUBLIC_URL,
        "trusted_issuers": {ISSUER: jwks_server.url("/jwks.json")},
        "trusted_jku": {ISSUER: (jwks_server.url("/rotating/jwks.json"),)},
        "jwks_min_refresh_seconds": 30.0,
        "patient_key_secret": PATIENT_KEY,
    }
    values.update(overrides)
    return Settings(**values)
