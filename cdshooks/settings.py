"""Configuration from the environment, read once at start-up (in gunicorn's master, so every worker shares it)."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cdshooks.paths import default_database_url

MIN_PATIENT_KEY_BYTES = 32


class ConfigurationError(RuntimeError):
    """The configuration is unsafe or incomplete: the service refuses to start and says why."""


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _json(name: str) -> object:
    try:
        return json.loads(os.environ.get(name, "") or "{}")
    except ValueError:
        raise ValueError(f"{name} is not valid JSON") from None


def _number(name: str, default: str, kind: type[int] | type[float] = float) -> int | float:
    raw = os.environ.get(name, "").strip() or default
    try:
        return kind(raw)
    except ValueError:
        raise ValueError(f"{name} must be {'an integer' if kind is int else 'a number'}, not {raw!r}") from None


def _issuers() -> tuple[dict[str, str], tuple[str, ...]]:
    """CDSHOOKS_TRUSTED_ISSUERS: issuer -> JWK Set URL, or issuer -> {"pinned": URL or local file}."""
    raw = _json("CDSHOOKS_TRUSTED_ISSUERS")
    shape = (
        'CDSHOOKS_TRUSTED_ISSUERS must be a JSON object {"issuer": "jwks-url"} or '
        '{"issuer": {"pinned": "jwks-url-or-file"}}'
    )
    if not isinstance(raw, dict):
        raise ValueError(shape)
    sources: dict[str, str] = {}
    pinned: list[str] = []
    for iss, value in raw.items():
        if isinstance(value, str) and value:
            sources[iss] = value
        elif isinstance(value, dict) and set(value) == {"pinned"} and isinstance(value["pinned"], str):
            sources[iss] = value["pinned"]
            pinned.append(iss)
        else:
            raise ValueError(shape)
    return sources, tuple(pinned)


def _patient_key_secret(sandbox: bool) -> bytes | None:
    """CDSHOOKS_PATIENT_KEY_SECRET, or the contents of CDSHOOKS_PATIENT_KEY_SECRET_FILE (a mounted secret).

    Sandbox mode without either gets a random key for this run: its patient references are
    comparable within the run only, which is all demo data needs.
    """
    value = os.environ.get("CDSHOOKS_PATIENT_KEY_SECRET", "")
    path = os.environ.get("CDSHOOKS_PATIENT_KEY_SECRET_FILE", "")
    if value and path:
        raise ValueError("set CDSHOOKS_PATIENT_KEY_SECRET or CDSHOOKS_PATIENT_KEY_SECRET_FILE, not both")
    if path:
        try:
            value = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(f"CDSHOOKS_PATIENT_KEY_SECRET_FILE cannot be read ({type(exc).__name__})") from None
    if value:
        return value.encode("utf-8")
    return secrets.token_bytes(MIN_PATIENT_KEY_BYTES) if sandbox else None


RULE_MODES = ("on", "off", "shadow")


def _rule_modes() -> dict[str, str]:
    """CDSHOOKS_RULE_MODES: {"rule id": "on" | "off" | "shadow"} (rule ids are checked at start-up)."""
    raw = _json("CDSHOOKS_RULE_MODES")
    if not isinstance(raw, dict) or not all(isinstance(v, str) and v in RULE_MODES for v in raw.values()):
        raise ValueError('CDSHOOKS_RULE_MODES must be a JSON object {"rule id": "on" | "off" | "shadow"}')
    return {str(k): v for k, v in raw.items()}


@dataclass(frozen=True)
class Settings:
    sandbox: bool = False
    database_url: str = field(default_factory=default_database_url)
    public_url: str | None = None
    trusted_issuers: dict[str, str] = field(default_factory=dict)  # issuer -> JWK Set URL (or pinned source)
    pinned_issuers: tuple[str, ...] = ()  # issuers whose configured key set is the only key source
    trusted_jku: dict[str, tuple[str, ...]] = field(default_factory=dict)
    trusted_tenants: tuple[str, ...] = ()
    allow_published_test_keys: bool = False
    fhir_allowlist: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    fhir_request_timeout: float = 3.0
    fhir_budget_seconds: float = 4.0
    fhir_max_pages: int = 20
    max_request_bytes: int = 5 * 1024 * 1024
    max_feedback_bytes: int = 256 * 1024
    jwt_leeway_seconds: float = 30.0
    jwt_max_lifetime_seconds: int = 3600
    jwks_cache_seconds: float = 600.0
    jwks_min_refresh_seconds: float = 30.0
    patient_key_secret: bytes | None = field(default=None, repr=False)
    ledger_retention_days: float = 90.0
    feedback_quota: int = 1200
    feedback_quota_window_seconds: int = 60
    metrics_token: str | None = field(default=None, repr=False)  # None: /metrics open to whoever reaches it
    snooze_days: float = 30.0  # how long an override with a reason snoozes a card, unless its card file says
    rule_modes: dict[str, str] = field(default_factory=dict)  # rule id -> "on", "off" or "shadow"

    def rules_in(self, mode: str) -> frozenset[str]:
        return frozenset(rule for rule, found in self.rule_modes.items() if found == mode)

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        issuers, pinned = _issuers()
        jku = _json("CDSHOOKS_TRUSTED_JKU")
        if not isinstance(jku, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(u, str) for u in v)) for v in jku.values()
        ):
            raise ValueError('CDSHOOKS_TRUSTED_JKU must be a JSON object {"issuer": ["jku-url", ...]}')
        sandbox = bool(overrides.get("sandbox", False))
        values: dict[str, object] = {
            "public_url": os.environ.get("CDSHOOKS_PUBLIC_URL") or None,
            "trusted_issuers": issuers,
            "pinned_issuers": pinned,
            "trusted_jku": {k: tuple(v if isinstance(v, list) else [v]) for k, v in jku.items()},
            "trusted_tenants": _list("CDSHOOKS_TRUSTED_TENANTS"),
            "allow_published_test_keys": _flag("CDSHOOKS_ALLOW_PUBLISHED_TEST_KEYS"),
            "fhir_allowlist": _list("CDSHOOKS_FHIR_ALLOWLIST"),
            "cors_origins": _list("CDSHOOKS_CORS_ORIGINS"),
            "fhir_request_timeout": _number("CDSHOOKS_FHIR_TIMEOUT", "3.0"),
            "fhir_budget_seconds": _number("CDSHOOKS_FHIR_BUDGET", "4.0"),
            "fhir_max_pages": _number("CDSHOOKS_FHIR_MAX_PAGES", "20", int),
            "max_request_bytes": _number("CDSHOOKS_MAX_REQUEST_BYTES", str(5 * 1024 * 1024), int),
            "max_feedback_bytes": _number("CDSHOOKS_MAX_FEEDBACK_BYTES", str(256 * 1024), int),
            "jwt_leeway_seconds": _number("CDSHOOKS_JWT_LEEWAY", "30"),
            "jwt_max_lifetime_seconds": _number("CDSHOOKS_JWT_MAX_LIFETIME", "3600", int),
            "jwks_cache_seconds": _number("CDSHOOKS_JWKS_CACHE_SECONDS", "600"),
            "jwks_min_refresh_seconds": _number("CDSHOOKS_JWKS_MIN_REFRESH_SECONDS", "30"),
            "patient_key_secret": _patient_key_secret(sandbox),
            "ledger_retention_days": _number("CDSHOOKS_LEDGER_RETENTION_DAYS", "90"),
            "feedback_quota": _number("CDSHOOKS_FEEDBACK_QUOTA", "1200", int),
            "feedback_quota_window_seconds": _number("CDSHOOKS_FEEDBACK_QUOTA_WINDOW", "60", int),
            "metrics_token": os.environ.get("CDSHOOKS_METRICS_TOKEN", "").strip() or None,
            "snooze_days": _number("CDSHOOKS_SNOOZE_DAYS", "30"),
            "rule_modes": _rule_modes(),
        }
        if os.environ.get("CDSHOOKS_DATABASE_URL"):
            values["database_url"] = os.environ["CDSHOOKS_DATABASE_URL"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
