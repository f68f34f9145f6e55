"""Authentication of the calling CDS Client (the JWT in the Authorization header).

Sandbox mode runs without it. Production mode needs trusted issuers
(CDSHOOKS_TRUSTED_ISSUERS); without them it refuses to start.

A token is accepted only if (spec "Trusting CDS Clients", best-practices page):
- the header says `typ` JWT, names a `kid`, and `alg` is ES384, RS384, ES256 or
  RS256 (`none` and HMAC are refused before anything else is looked at);
- `iss` is a trusted issuer; the key comes from that issuer's JWK Set URL, or from
  the `jku` header if (and only if) that URL is allow-listed for the issuer;
- the signature verifies with the key named by `kid`, of the type `alg` needs;
- `aud` (string or array) contains the URL of the endpoint invoked; `exp`, `iat`
  and `jti` are present; `exp` has not passed and `iat` is not in the future
  (both with a small clock-skew leeway);
- `tenant`, when an allowlist of tenants is configured, is on it;
- `jti` has not been seen from this issuer before (checked last, so only
  verified tokens are remembered).
The reason for a refusal goes to the log (never the token); the caller only
learns "invalid token".
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
from sqlalchemy.exc import SQLAlchemyError

from cdshooks.jwks import ALGORITHMS, JwksCache, JwksError, JwksFetcher, fetch_jwks
from cdshooks.replay import MAX_ISS_LENGTH, MAX_JTI_LENGTH, ReplayStore
from cdshooks.settings import Settings

MAX_TOKEN_LENGTH = 8 * 1024
MAX_KID_LENGTH = 200


class ConfigurationError(RuntimeError):
    pass


class Authenticator(Protocol):
    def verify(self, authorization: str | None, audience: str) -> dict[str, object]:
        """Return the verified claims, or raise Unauthorized."""
        ...


class Unauthorized(Exception):
    """The token failed verification; the reason is for the log, never for the caller."""


class AuthUnavailable(Exception):
    """The token could not be checked for replay (database down): answer 503, not 401."""


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


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class JwtAuthenticator:
    def __init__(
        self,
        *,
        issuers: dict[str, str],
        jku: dict[str, tuple[str, ...]] | None = None,
        tenants: tuple[str, ...] = (),
        leeway: float = 30.0,
        replay: ReplayStore,
        keys: JwksCache,
    ) -> None:
        self.issuers = dict(issuers)
        self.jku = {iss: frozenset(urls) for iss, urls in (jku or {}).items()}
        self.tenants = frozenset(tenants)
        self.leeway = leeway
        self.replay = replay
        self.keys = keys

    def verify(self, authorization: str | None, audience: str) -> dict[str, object]:
        token = bearer_token(authorization)
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except (jwt.PyJWTError, ValueError, TypeError):
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
        jwks_url = self.issuers[iss]
        if "jku" in header:
            jku = header["jku"]
            if not isinstance(jku, str) or (jku != jwks_url and jku not in self.jku.get(iss, ())):
                raise Unauthorized("jku not allow-listed for the issuer")
            jwks_url = jku

        try:
            key = self.keys.key_for(jwks_url, kid, alg)
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
        except (jwt.PyJWTError, ValueError, TypeError) as exc:
            raise Unauthorized(f"invalid token ({type(exc).__name__})") from None

        if not _number(claims["exp"]) or not _number(claims["iat"]):
            raise Unauthorized("exp and iat must be numbers")
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise Unauthorized("invalid jti claim")
        if self.tenants:
            tenant = claims.get("tenant")
            if not isinstance(tenant, str) or tenant not in self.tenants:
                raise Unauthorized("tenant not allow-listed")
        try:
            first = self.replay.first_use(iss, jti, float(claims["exp"]) + self.leeway)
        except SQLAlchemyError as exc:
            raise AuthUnavailable(type(exc).__name__) from None
        if not first:
            raise Unauthorized("jti replayed")
        return claims


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def _check_key_url(name: str, url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and _loopback(parts.hostname):
        return
    raise ConfigurationError(f"{name}: JWK Set URL {url!r} must be https (plain http only on loopback)")


def build_authenticator(
    settings: Settings,
    *,
    fetch: JwksFetcher = fetch_jwks,
    replay: ReplayStore | None = None,
) -> Authenticator | None:
    """The JWT verifier for production mode, or None in sandbox mode (no authentication)."""
    if settings.sandbox:
        return None
    if not settings.trusted_issuers:
        raise ConfigurationError(
            "production mode requires CDSHOOKS_TRUSTED_ISSUERS, a JSON object mapping each trusted "
            'CDS Client issuer to its JWK Set URL, e.g. {"https://ehr.example.org": '
            '"https://ehr.example.org/.well-known/jwks.json"}; run with --sandbox for local testing '
            "without authentication"
        )
    if not settings.public_url or not re.match(r"^https?://[^/\s?#]+(/[^\s?#]*)?$", settings.public_url):
        raise ConfigurationError(
            "production mode requires CDSHOOKS_PUBLIC_URL, this service's public base URL (e.g. "
            "https://cds.example.org): JWT audiences are checked against it, never against the "
            "caller-supplied Host header"
        )
    for iss, url in settings.trusted_issuers.items():
        if not iss or len(iss) > MAX_ISS_LENGTH:
            raise ConfigurationError("CDSHOOKS_TRUSTED_ISSUERS: issuer names must be 1 to 500 characters")
        _check_key_url("CDSHOOKS_TRUSTED_ISSUERS", url)
    for iss, urls in settings.trusted_jku.items():
        if iss not in settings.trusted_issuers:
            raise ConfigurationError(f"CDSHOOKS_TRUSTED_JKU: {iss!r} is not in CDSHOOKS_TRUSTED_ISSUERS")
        for url in urls:
            _check_key_url("CDSHOOKS_TRUSTED_JKU", url)
    if settings.jwt_leeway_seconds < 0 or settings.jwt_leeway_seconds > 300:
        raise ConfigurationError("CDSHOOKS_JWT_LEEWAY must be between 0 and 300 seconds")
    return JwtAuthenticator(
        issuers=settings.trusted_issuers,
        jku=settings.trusted_jku,
        tenants=settings.trusted_tenants,
        leeway=settings.jwt_leeway_seconds,
        replay=replay or ReplayStore(settings.database_url),
        keys=JwksCache(
            ttl=settings.jwks_cache_seconds,
            min_refresh=settings.jwks_min_refresh_seconds,
            fetch=fetch,
        ),
    )
