"""The CDS Clients' public keys: JWK Sets fetched by URL and cached.

Each JWK Set URL (an issuer's configured URL, or an allow-listed `jku`) is fetched
with short timeouts and a size cap, cached for `ttl` seconds, and fetched again
early only when a token names a `kid` the cached set lacks, at most once per
`min_refresh` seconds per URL. A failed fetch is not retried within that interval
either, so neither a stream of unknown `kid`s nor a dead JWKS endpoint can make
this service hammer anyone. While a refresh fails, the keys fetched before stay
in use.

Only asymmetric signing keys (kty EC or RSA) are kept: an `oct` (HMAC) key in a
client's set is ignored, whatever its `kid`.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cdshooks.bounded_get import GetFailed, bounded_get

MAX_JWKS_BYTES = 128 * 1024
MAX_KEYS = 100
CONNECT_TIMEOUT = 2.0
READ_TIMEOUT = 3.0
MIN_RSA_BITS = 2048

# alg -> (kty, curve) the key must have
ALGORITHMS: dict[str, tuple[str, str | None]] = {
    "ES384": ("EC", "P-384"),
    "RS384": ("RSA", None),
    "ES256": ("EC", "P-256"),
    "RS256": ("RSA", None),
}

JwksFetcher = Callable[[str], Any]


class JwksError(Exception):
    """No usable key for the token (the reason is safe to log)."""


def fetch_jwks(url: str) -> Any:
    """GET a JWK Set: no redirects, no proxies from the environment, short timeouts, at most 128 KiB."""
    with requests.Session() as session:
        session.trust_env = False
        try:
            body = bounded_get(
                session,
                url,
                {"Accept": "application/jwk-set+json, application/json"},
                deadline=time.monotonic() + CONNECT_TIMEOUT + READ_TIMEOUT,
                connect_timeout=CONNECT_TIMEOUT,
                read_timeout=READ_TIMEOUT,
                max_bytes=MAX_JWKS_BYTES,
                chunk_bytes=16 * 1024,
            )
        except GetFailed as exc:
            if exc.reason == "time budget exhausted":
                raise JwksError("JWKS fetch too slow") from None
            if exc.reason.startswith("HTTP "):
                raise JwksError(f"JWKS fetch answered {exc.reason}") from None
            if exc.reason == "response too large":
                raise JwksError("JWKS too large") from None
            raise JwksError(f"JWKS fetch failed ({exc.reason})") from None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise JwksError("JWKS is not JSON") from None


def parse_jwks(document: Any) -> dict[str, list[dict[str, Any]]]:
    """The asymmetric signing keys of a JWK Set, by `kid`."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("JWKS has no keys array")
    keys: dict[str, list[dict[str, Any]]] = {}
    for jwk in document["keys"][:MAX_KEYS]:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("EC", "RSA"):
            continue
        kid = jwk.get("kid")
        if isinstance(kid, str) and kid and "d" not in jwk:
            keys.setdefault(kid, []).append(jwk)
    return keys


def _fits(jwk: dict[str, Any], alg: str) -> bool:
    kty, curve = ALGORITHMS[alg]
    if jwk.get("kty") != kty:
        return False
    if jwk.get("alg") not in (None, alg):
        return False
    if jwk.get("use") not in (None, "sig"):
        return False
    return curve is None or jwk.get("crv") == curve


def _build(jwk: dict[str, Any], alg: str) -> jwt.PyJWK:
    try:
        key = jwt.PyJWK(jwk, algorithm=alg)
    except (jwt.PyJWTError, ValueError, TypeError):
        raise JwksError("JWK cannot be read") from None
    if isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size < MIN_RSA_BITS:
        raise JwksError("RSA key shorter than 2048 bits")
    if not isinstance(key.key, rsa.RSAPublicKey | ec.EllipticCurvePublicKey):
        raise JwksError("JWK is not a public key")
    return key


@dataclass
class _Entry:
    lock: threading.Lock = field(default_factory=threading.Lock)
    keys: dict[str, list[dict[str, Any]]] | None = None
    fetched_at: float = 0.0
    attempted_at: float | None = None
    built: dict[tuple[str, str], jwt.PyJWK] = field(default_factory=dict)
    error: str = ""


class JwksCache:
    def __init__(
        self,
        *,
        ttl: float,
        min_refresh: float,
        fetch: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.min_refresh = min_refresh
        self._fetch = fetch
        self._clock = clock
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _entry(self, url: str) -> _Entry:
        with self._lock:
            return self._entries.setdefault(url, _Entry())

    def key_for(self, url: str, kid: str, alg: str) -> jwt.PyJWK:
        """The public key `kid` of the JWK Set at `url`, usable with `alg`; raises JwksError."""
        entry = self._entry(url)
        with entry.lock:
            now = self._clock()
            if entry.keys is None or now - entry.fetched_at >= self.ttl:
                self._refresh(entry, url, now)
            candidates = (entry.keys or {}).get(kid)
            if not candidates:
                self._refresh(entry, url, now)
                candidates = (entry.keys or {}).get(kid)
            if not candidates:
                if entry.keys is None:
                    raise JwksError(f"JWKS unavailable ({entry.error or 'not fetched'})")
                raise JwksError("unknown kid")
            jwk = next((c for c in candidates if _fits(c, alg)), None)
            if jwk is None:
                raise JwksError("key does not fit the token's alg")
            cache_key = (kid, alg)
            if cache_key not in entry.built:
                entry.built[cache_key] = _build(jwk, alg)
            return entry.built[cache_key]

    def _refresh(self, entry: _Entry, url: str, now: float) -> None:
        """Fetch the set again unless a fetch was attempted less than `min_refresh` seconds ago."""
        if entry.attempted_at is not None and now - entry.attempted_at < self.min_refresh:
            return
        entry.attempted_at = now
        try:
            keys = parse_jwks(self._fetch(url))
        except JwksError as exc:
            entry.error = str(exc)
            return  # keep the keys we had; the caller reports what is missing
        except Exception as exc:  # an injected fetcher's failure must not become a 500
            entry.error = type(exc).__name__
            return
        entry.error = ""
        entry.keys = keys
        entry.fetched_at = now
        entry.built.clear()
