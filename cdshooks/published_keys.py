"""Signing keys whose private half is public, known by their JWK thumbprint (RFC 7638).

The public CDS Hooks sandbox (https://sandbox.cds-hooks.org) is a browser application;
the private key it signs its tokens with is committed to its public repository
(github.com/cds-hooks/sandbox, `keys/jwk-keypair.json` and `keys/ecprivkey.pem`), so
anyone can mint a token that verifies with it. Its public keys are taken from that
repository's `.well-known/jwks.json` (ES384, kid 44823f3d-0b01-4a6c-a80e-b9d3e8a7226f,
the current one) and `src/.well-known/jwks.json` (ES256, kid
d9cd3c4f-eb08-4304-b973-44f352fd2ca2, used by earlier releases).

Production mode does not trust these keys unless CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS=1:
a key set that holds one is refused at start-up (a local file) or has that key dropped
when fetched (a URL). Thumbprints rather than `kid`s, because a `kid` is any string a
key set chooses.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

PUBLISHED_TEST_KEYS: dict[str, str] = {
    "s9fOe-KDYD1myZ8YCzleUqJQgrYZL49kVijBxhnZvZc": "public CDS Hooks sandbox, ES384 (kid 44823f3d-…)",
    "WUEVfFenRfMtdDhwPUzCCfmqEN45h61hdHclwVoqfes": "public CDS Hooks sandbox, ES256 (kid d9cd3c4f-…)",
}

# the members RFC 7638 hashes, per key type
_REQUIRED = {"EC": ("crv", "kty", "x", "y"), "RSA": ("e", "kty", "n"), "OKP": ("crv", "kty", "x")}


def thumbprint(jwk: dict[str, Any]) -> str | None:
    """The RFC 7638 SHA-256 thumbprint of a public JWK (base64url), or None if its members are incomplete."""
    members = _REQUIRED.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(name), str) for name in members):
        return None
    canonical = json.dumps({name: jwk[name] for name in members}, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode("utf-8")).digest()).rstrip(b"=").decode()


def published(jwk: dict[str, Any]) -> str | None:
    """What the key is, if its private half is public; None otherwise."""
    print_ = thumbprint(jwk)
    return PUBLISHED_TEST_KEYS.get(print_) if print_ else None
