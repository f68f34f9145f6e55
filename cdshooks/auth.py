"""Authentication of the calling CDS Client (the JWT in the Authorization header).

Sandbox mode runs without it. Production mode needs trusted issuers
(CDSHOOKS_TRUSTED_ISSUERS); without them it refuses to start.

A token is accepted only if (spec "Trusting CDS Clients", best-practices page):
- the header says `typ` JWT, names a `kid`, and `alg` is ES384, RS384, ES256 or
  RS256 (`none` and HMAC are refused before anything else is looked at);
- `iss` is a trusted issuer; the key comes from that issuer's key set. For a pinned
  issuer that set is the only key source and a `jku` header is ignored (the public
  CDS Hooks sandbox always sends its own); otherwise a `jku` header must be the
  issuer's URL or allow-listed for it;
- `exp`, `iat` (and `nbf`) are integers in range, `exp − iat` is at most
  CDSHOOKS_JWT_MAX_LIFETIME and `iat` no older than that (the best-practices page:
  no more than an hour), so replay rows never live longer;
- the signature verifies with the key named by `kid`, of the type `alg` needs;
- `aud` (string or array) contains the URL of the endpoint invoked; `exp`, `iat`
  and `jti` are present; `exp` has not passed and `iat` is not in the future
  (both with a small clock-skew leeway);
- `tenant`, when an allowlist of tenants is configured, is on it.
Whether the `jti` was seen before is checked by the HTTP layer
(`cdshooks.client_auth`), which writes the replay row — for a hook call in the same
transaction as the cards it issued. The reason for a refusal goes to the log (never
the token); the caller only learns "invalid token".
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt

from cdshooks.database import in_memory
from cdshooks.jwks import ALGORITHMS, JwksCache, JwksError, JwksFetcher, fetch_jwks, is_file_source, parse_jwks
from cdshooks.published_keys import published
from cdshooks.replay import MAX_EXPIRES, MAX_ISS_LENGTH, MAX_JTI_LENGTH
from cdshooks.settings import MIN_PATIENT_KEY_BYTES, ConfigurationError, Settings

__all__ = ["Authenticator", "ConfigurationError", "JwtAuthenticator", "Unauthorized", "VerifiedToken"]

log = logging.getLogger("cdshooks")

MAX_TOKEN_LENGTH = 8 * 1024
MAX_KID_LENGTH = 200
MAX_TENANT_LENGTH = 255
TIME_CLAIMS = ("exp", "iat", "nbf")
# key sets that only ever hold keys whose private half is published (cdshooks.published_keys)
PUBLISHED_KEY_SETS = {"https://sandbox.cds-hooks.org/.well-known/jwks.json": "the public CDS Hooks sandbox's"}


@dataclass(frozen=True)
class VerifiedToken:
    """What a verified token tells: who called, and until when its `jti` must be remembered."""

    iss: str
    tenant: str | None
    jti: str
    replay_until: int  # epoch seconds: exp plus the leeway


class Authenticator(Protocol):
    def verify(self, authorization: str | None, audience: str) -> VerifiedToken:
        """Return the verified token, or raise Unauthorized (replay is checked by the caller)."""
        ...


class Unauthorized(Exception):
    """The token failed verification; the reason is for the log, never for the caller."""


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise Unauthorized("missing Authorization header")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Authorization header is not a Bearer token")
    token = token.strip()
    if len(token) > MAX_TOKEN_LENGTH:
        raise Unauthorized("token too long")
    return token


def _time_claim(name: str, value: Any) -> int:
    """An epoch-seconds claim as an int: an integral JSON number, 0 to 2^53 (no bool, string, NaN or 1e19)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"{name} claim is not an integer")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise Unauthorized(f"{name} claim is not an integer")
    if not 0 <= value < MAX_EXPIRES:
        raise Unauthorized(f"{name} claim out of range")
    return int(value)


class JwtAuthenticator:
    def __init__(
        self,
        *,
        issuers: dict[str, str],
        pinned: frozenset[str] = frozenset(),
        jku: dict[str, tuple[str, ...]] | None = None,
        tenants: tuple[str, ...] = (),
        leeway: float = 30.0,
        max_lifetime: int = 3600,
        keys: JwksCache,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.issuers = dict(issuers)
        self.pinned = frozenset(pinned)
        self.jku = {iss: frozenset(urls) for iss, urls in (jku or {}).items()}
        self.tenants = frozenset(tenants)
        self.leeway = leeway
        self.max_lifetime = max_lifetime
        self.keys = keys
        self._clock = clock

    def verify(self, authorization: str | None, audience: str) -> VerifiedToken:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError, ArithmeticError, RecursionError):
            raise Unauthorized("malformed token") from None

        alg = header.get("alg")
        if alg not in ALGORITHMS:
            shown = alg if isinstance(alg, str) and len(alg) <= 16 else "?"
            raise Unauthorized(f"algorithm {shown} not allowed")
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.upper() != "JWT":
            raise Unauthorized("typ header is not JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid or len(kid) > MAX_KID_LENGTH:
            raise Unauthorized("missing or invalid kid header")

        iss = unverified.get("iss")
        if not isinstance(iss, str) or iss not in self.issuers:
            raise Unauthorized("untrusted issuer")
        times = {name: _time_claim(name, unverified[name]) for name in TIME_CLAIMS if name in unverified}
        self._check_lifetime(times)
        key_source = self._key_source(iss, header)

        try:
            key = self.keys.key_for(key_source, kid, alg)
        except JwksError as exc:
            raise Unauthorized(str(exc)) from None

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[alg],
                audience=audience,
                issuer=iss,
                leeway=self.leeway,
                options={
                    "require": ["iss", "aud", "exp", "iat", "jti"],
                    "verify_signature": True,
                    "verify_aud": True,
                    "verify_iss": True,
                    "verify_exp": True,
                    "verify_iat": True,
                    "verify_nbf": True,
                    "strict_aud": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise Unauthorized("bad signature") from None
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.ImmatureSignatureError:
            raise Unauthorized("token issued in the future (iat or nbf)") from None
        except jwt.InvalidAudienceError:
            raise Unauthorized("aud does not name this endpoint") from None
        except jwt.MissingRequiredClaimError as exc:
            raise Unauthorized(f"missing {exc.claim} claim") from None
        except (jwt.PyJWTError, ValueError, TypeError, ArithmeticError) as exc:
            raise Unauthorized(f"invalid token ({type(exc).__name__})") from None

        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise Unauthorized("invalid jti claim")
        tenant = claims.get("tenant")
        if tenant is not None and (not isinstance(tenant, str) or not tenant or len(tenant) > MAX_TENANT_LENGTH):
            raise Unauthorized("invalid tenant claim")
        if self.tenants and tenant not in self.tenants:
            raise Unauthorized("tenant not allow-listed")
        return VerifiedToken(iss=iss, tenant=tenant, jti=jti, replay_until=times["exp"] + math.ceil(self.leeway))

    def _check_lifetime(self, times: dict[str, int]) -> None:
        """Tokens live at most max_lifetime: `exp − iat` within it, and `iat` no older than it."""
        if "exp" not in times or "iat" not in times:
            return  # PyJWT reports the missing claim after the signature check
        if times["exp"] - times["iat"] > self.max_lifetime:
            raise Unauthorized("token lifetime (exp - iat) longer than CDSHOOKS_JWT_MAX_LIFETIME")
        if self._clock() - times["iat"] > self.max_lifetime + self.leeway:
            raise Unauthorized("token issued longer ago than CDSHOOKS_JWT_MAX_LIFETIME")

    def _key_source(self, iss: str, header: dict[str, Any]) -> str:
        """Where this token's key comes from: a pinned set always; otherwise the issuer's URL or an allowed jku."""
        source = self.issuers[iss]
        if iss in self.pinned or "jku" not in header:
            return source  # a pinned set is the only key source: its jku is neither fetched nor judged
        jku = header["jku"]
        if not isinstance(jku, str) or (jku != source and jku not in self.jku.get(iss, ())):
            raise Unauthorized("jku not allow-listed for the issuer")
        return jku


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_key_url(name: str, url: str, allow_published: bool) -> None:
    parts = urlsplit(url)
    if not (parts.scheme == "https" and parts.hostname) and not (parts.scheme == "http" and _loopback(parts.hostname)):
        raise ConfigurationError(f"{name}: JWK Set URL {url!r} must be https (plain http only on loopback)")
    whose = PUBLISHED_KEY_SETS.get(url)
    if whose and not allow_published:
        raise ConfigurationError(
            f"{name}: {url} is {whose} key set, whose private key is published: anyone can sign tokens with it. "
            "Set CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS=1 only on a test system that holds no real patient data"
        )


def _check_pinned_file(iss: str, path: str, allow_published: bool) -> None:
    """A pinned local key set must be readable now, hold a usable key, and no published one (unless allowed)."""
    try:
        keyset = parse_jwks(fetch_jwks(path), allow_published=True)
    except JwksError as exc:
        raise ConfigurationError(f"CDSHOOKS_TRUSTED_ISSUERS: pinned key set of {iss!r}: {exc}") from None
    if not keyset.keys:
        raise ConfigurationError(f"CDSHOOKS_TRUSTED_ISSUERS: pinned key set of {iss!r} holds no EC or RSA public key")
    published_kids = sorted(kid for kid, jwks in keyset.keys.items() if any(published(j) for j in jwks))
    if published_kids and not allow_published:
        raise ConfigurationError(
            f"CDSHOOKS_TRUSTED_ISSUERS: pinned key set of {iss!r} holds a published test key (kid "
            f"{', '.join(published_kids)}): its private key is public, so anyone can sign tokens with it. "
            "Set CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS=1 only on a test system that holds no real patient data"
        )


def _check_public_url(url: str | None) -> None:
    parts = urlsplit(url or "")
    if not url or len(url) > 2048 or parts.scheme not in ("http", "https") or not parts.hostname:
        ok = False
    else:
        ok = not (parts.query or parts.fragment or "?" in url or "#" in url or any(c.isspace() for c in url))
    if not ok:
        raise ConfigurationError(
            "production mode requires CDSHOOKS_PUBLIC_URL, this service's public base URL (e.g. "
            "https://cds.example.org): JWT audiences are checked against it, never against the "
            "caller-supplied Host header"
        )


def check_production(settings: Settings) -> None:
    """What production mode needs beyond keys: a shared store, a patient-reference key, sane token bounds."""
    if in_memory(settings.database_url):
        raise ConfigurationError(
            "CDSHOOKS_DATABASE_URL names an in-memory SQLite database, which each gunicorn worker would have "
            "to itself: a token could then be replayed once per worker and quotas would not add up. Use a "
            "file (sqlite:////var/lib/cdshooks/cdshooks.sqlite3) or a database server"
        )
    if not settings.patient_key_secret or len(settings.patient_key_secret) < MIN_PATIENT_KEY_BYTES:
        raise ConfigurationError(
            "production mode requires CDSHOOKS_PATIENT_KEY_SECRET (or CDSHOOKS_PATIENT_KEY_SECRET_FILE) of at "
            f"least {MIN_PATIENT_KEY_BYTES} characters, the same on every host (e.g. `openssl rand -hex 32`): "
            "the card ledger keeps HMAC(secret, iss|tenant|patientId) instead of patient ids"
        )
    if settings.jwt_leeway_seconds < 0 or settings.jwt_leeway_seconds > 300:
        raise ConfigurationError("CDSHOOKS_JWT_LEEWAY must be between 0 and 300 seconds")
    if not 60 <= settings.jwt_max_lifetime_seconds <= 86400:
        raise ConfigurationError("CDSHOOKS_JWT_MAX_LIFETIME must be between 60 and 86400 seconds")


def build_authenticator(settings: Settings, *, fetch: JwksFetcher = fetch_jwks) -> Authenticator | None:
    """The JWT verifier for production mode, or None in sandbox mode (no authentication).

    This is where production mode's configuration is checked: without trusted issuers,
    a public URL, a shared store and a patient-reference key the service does not start.
    """
    if settings.sandbox:
        return None
    if not settings.trusted_issuers:
        raise ConfigurationError(
            "production mode requires CDSHOOKS_TRUSTED_ISSUERS, a JSON object mapping each trusted "
            'CDS Client issuer to its JWK Set URL, e.g. {"https://ehr.example.org": '
            '"https://ehr.example.org/.well-known/jwks.json"}; run with --sandbox for local testing '
            "without authentication"
        )
    _check_public_url(settings.public_url)
    allow = settings.allow_published_test_keys
    for iss, source in settings.trusted_issuers.items():
        if not iss or len(iss) > MAX_ISS_LENGTH or "|" in iss:
            raise ConfigurationError("CDSHOOKS_TRUSTED_ISSUERS: issuer names must be 1 to 500 characters, without '|'")
        if is_file_source(source):
            if iss not in settings.pinned_issuers:
                raise ConfigurationError(
                    f"CDSHOOKS_TRUSTED_ISSUERS: the local key set file of {iss!r} must be given as "
                    f'{{"pinned": "{source}"}}'
                )
            _check_pinned_file(iss, source, allow)
        else:
            _check_key_url("CDSHOOKS_TRUSTED_ISSUERS", source, allow)
    for iss, urls in settings.trusted_jku.items():
        if iss not in settings.trusted_issuers:
            raise ConfigurationError(f"CDSHOOKS_TRUSTED_JKU: {iss!r} is not in CDSHOOKS_TRUSTED_ISSUERS")
        if iss in settings.pinned_issuers:
            raise ConfigurationError(f"CDSHOOKS_TRUSTED_JKU: {iss!r} is pinned, so its jku headers are never used")
        for url in urls:
            _check_key_url("CDSHOOKS_TRUSTED_JKU", url, allow)
    check_production(settings)
    if allow:
        log.warning(
            "CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS=1: tokens signed with published test keys (such as the public "
            "CDS Hooks sandbox's) are ACCEPTED, and anyone can sign those. Never use this with real patient data."
        )
    return JwtAuthenticator(
        issuers=settings.trusted_issuers,
        pinned=frozenset(settings.pinned_issuers),
        jku=settings.trusted_jku,
        tenants=settings.trusted_tenants,
        leeway=settings.jwt_leeway_seconds,
        max_lifetime=settings.jwt_max_lifetime_seconds,
        keys=JwksCache(
            ttl=settings.jwks_cache_seconds,
            min_refresh=settings.jwks_min_refresh_seconds,
            fetch=fetch,
            allow_published=allow,
        ),
    )
