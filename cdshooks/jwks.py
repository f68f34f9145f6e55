"""The CDS Clients' public keys: JWK Sets fetched by URL (or read from a pinned local file) and cached.

Each key source (an issuer's configured URL or file, or an allow-listed `jku`) is read
with short timeouts and a size cap, cached for `ttl` seconds, and read again early
only when a token names a `kid` the cached set lacks, at most once per `min_refresh`
seconds per source. A failed read is not retried within that interval either, so
neither a stream of unknown `kid`s nor a dead JWKS endpoint can make this service
hammer anyone. While a refresh fails, the keys read before stay in use.

No lock is held while a set is fetched: a slow or hanging key server delays only the
call that needs a key the cache lacks (an unknown `kid`, as an attacker can send
without a valid signature), never calls whose key is known. A set past its `ttl`
keeps serving its known keys while one background refresh runs.

Only asymmetric signing keys (kty EC or RSA) are kept: an `oct` (HMAC) key in a
client's set is ignored, whatever its `kid`. A key whose private half is published
(`cdshooks.published_keys`) is dropped unless CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS=1.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
import requests
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from cdshooks.bounded_get import GetFailed, bounded_get
from cdshooks.published_keys import published

log = logging.getLogger("cdshooks")

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
Spawn = Callable[[Callable[[], None]], None]


class JwksError(Exception):
    """No usable key for the token (the reason is safe to log)."""


def is_file_source(source: str) -> bool:
    """A key source is a local file when given as an absolute path (a pinned copy), else a URL."""
    return source.startswith("/")


def read_jwks_file(path: str) -> Any:
    """A pinned JWK Set from a local file, at most 128 KiB."""
    try:
        with Path(path).open("rb") as handle:
            body = handle.read(MAX_JWKS_BYTES + 1)
    except OSError as exc:
        raise JwksError(f"JWKS file cannot be read ({type(exc).__name__})") from None
    if len(body) > MAX_JWKS_BYTES:
        raise JwksError("JWKS too large")
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        raise JwksError("JWKS is not JSON") from None


def fetch_jwks(url: str) -> Any:
    """GET a JWK Set (or read a pinned file): no redirects, no proxies from the environment, short timeouts,
    at most 128 KiB."""
    if is_file_source(url):
        return read_jwks_file(url)
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


@dataclass(frozen=True)
class KeySet:
    """The usable keys of a JWK Set by `kid`, and the `kid`s of published test keys that were dropped."""

    keys: dict[str, list[dict[str, Any]]]
    refused: dict[str, str] = field(default_factory=dict)


def parse_jwks(document: Any, *, allow_published: bool = False) -> KeySet:
    """The asymmetric signing keys of a JWK Set, by `kid`."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise JwksError("JWKS has no keys array")
    keys: dict[str, list[dict[str, Any]]] = {}
    refused: dict[str, str] = {}
    for jwk in document["keys"][:MAX_KEYS]:
        if not isinstance(jwk, dict) or jwk.get("kty") not in ("EC", "RSA"):
            continue
        kid = jwk.get("kid")
        if not isinstance(kid, str) or not kid or "d" in jwk:
            continue
        what = published(jwk)
        if what and not allow_published:
            refused[kid] = what
            continue
        keys.setdefault(kid, []).append(jwk)
    return KeySet(keys, refused)


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


def _background(task: Callable[[], None]) -> None:
    threading.Thread(target=task, name="jwks-refresh", daemon=True).start()


@dataclass
class _Entry:
    keys: dict[str, list[dict[str, Any]]] | None = None
    refused: dict[str, str] = field(default_factory=dict)
    fetched_at: float = 0.0
    attempted_at: float | None = None
    built: dict[tuple[str, str], jwt.PyJWK] = field(default_factory=dict)
    error: str = ""
    refreshing: threading.Event | None = None  # set when the refresh in flight has finished


class JwksCache:
    def __init__(
        self,
        *,
        ttl: float,
        min_refresh: float,
        fetch: JwksFetcher = fetch_jwks,
        clock: Callable[[], float] = time.monotonic,
        allow_published: bool = False,
        spawn: Spawn = _background,
        wait_seconds: float = CONNECT_TIMEOUT + READ_TIMEOUT + 1.0,
    ) -> None:
        self.ttl = ttl
        self.min_refresh = min_refresh
        self.allow_published = allow_published
        self.wait_seconds = wait_seconds
        self._fetch = fetch
        self._clock = clock
        self._spawn = spawn
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()  # guards the entries; never held across a fetch

    def key_for(self, url: str, kid: str, alg: str) -> jwt.PyJWK:
        """The public key `kid` of the JWK Set at `url`, usable with `alg`; raises JwksError."""
        with self._lock:
            entry = self._entries.setdefault(url, _Entry())
            now = self._clock()
            known = bool((entry.keys or {}).get(kid))
            if known:
                key = self._key(entry, kid, alg)
                done = self._claim_refresh(entry, now) if now - entry.fetched_at >= self.ttl else None
            else:
                # a kid the cache lacks (or no set yet): this call waits for one refresh, others do not
                done = self._claim_refresh(entry, now)
                waiting = entry.refreshing if done is None else None
        if known:
            if done is not None:  # past its ttl: refresh in the background, answer from the cached set now
                self._spawn(lambda: self._refresh(url, entry, now, done))
            return key
        if done is not None:
            self._refresh(url, entry, now, done)
        elif waiting is not None:
            waiting.wait(self.wait_seconds)
        with self._lock:
            return self._key(entry, kid, alg)

    def _claim_refresh(self, entry: _Entry, now: float) -> threading.Event | None:
        """Under the lock: make this call the one that refreshes, unless a refresh runs or ran too recently."""
        if entry.refreshing is not None:
            return None
        if entry.attempted_at is not None and now - entry.attempted_at < self.min_refresh:
            return None
        entry.attempted_at = now
        entry.refreshing = threading.Event()
        return entry.refreshing

    def _refresh(self, url: str, entry: _Entry, now: float, done: threading.Event) -> None:
        """Fetch the set (without the lock), then install it; on failure keep the keys we had."""
        keyset: KeySet | None = None
        error = ""
        try:
            keyset = parse_jwks(self._fetch(url), allow_published=self.allow_published)
        except JwksError as exc:
            error = str(exc)
        except Exception as exc:  # an injected fetcher's failure must not become a 500
            error = type(exc).__name__
        finally:
            with self._lock:
                if keyset is not None:
                    entry.keys, entry.refused, entry.fetched_at = keyset.keys, keyset.refused, now
                    entry.built.clear()
                entry.error = error
                entry.refreshing = None
            done.set()
        for kid, what in (keyset.refused if keyset else {}).items():
            log.error("published test key refused", extra={"kid": kid, "reason": what})

    def _key(self, entry: _Entry, kid: str, alg: str) -> jwt.PyJWK:
        """Under the lock: the built key for (kid, alg) from the cached set, or the reason there is none."""
        candidates = (entry.keys or {}).get(kid)
        if not candidates:
            if kid in entry.refused:
                raise JwksError(f"kid names a published test key ({entry.refused[kid]})")
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
