"""Configuration from the environment, read once at start-up."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field

from cdshooks.paths import ROOT


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


def _list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in os.environ.get(name, "").split(",") if item.strip())


def _json(name: str) -> object:
    try:
        return json.loads(os.environ.get(name, "") or "{}")
    except ValueError:
        raise ValueError(f"{name} is not valid JSON") from None


@dataclass(frozen=True)
class Settings:
    sandbox: bool = False
    database_url: str = f"sqlite:///{ROOT / 'var' / 'feedback.sqlite3'}"
    public_url: str | None = None
    trusted_issuers: dict[str, str] = field(default_factory=dict)
    trusted_jku: dict[str, tuple[str, ...]] = field(default_factory=dict)
    trusted_tenants: tuple[str, ...] = ()
    fhir_allowlist: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = ()
    fhir_request_timeout: float = 3.0
    fhir_budget_seconds: float = 4.0
    fhir_max_pages: int = 20
    max_request_bytes: int = 5 * 1024 * 1024
    jwt_leeway_seconds: float = 30.0
    jwks_cache_seconds: float = 600.0
    jwks_min_refresh_seconds: float = 30.0

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        issuers = _json("CDSHOOKS_TRUSTED_ISSUERS")
        jku = _json("CDSHOOKS_TRUSTED_JKU")
        if not isinstance(issuers, dict) or not all(isinstance(v, str) and v for v in issuers.values()):
            raise ValueError('CDSHOOKS_TRUSTED_ISSUERS must be a JSON object {"issuer": "jwks-url"}')
        if not isinstance(jku, dict) or not all(
            isinstance(v, str) or (isinstance(v, list) and all(isinstance(u, str) for u in v)) for v in jku.values()
        ):
            raise ValueError('CDSHOOKS_TRUSTED_JKU must be a JSON object {"issuer": ["jku-url", ...]}')
        values: dict[str, object] = {
            "public_url": os.environ.get("CDSHOOKS_PUBLIC_URL") or None,
            "trusted_issuers": issuers,
            "trusted_jku": {k: tuple(v if isinstance(v, list) else [v]) for k, v in jku.items()},
            "trusted_tenants": _list("CDSHOOKS_TRUSTED_TENANTS"),
            "fhir_allowlist": _list("CDSHOOKS_FHIR_ALLOWLIST"),
            "cors_origins": _list("CDSHOOKS_CORS_ORIGINS"),
            "fhir_request_timeout": float(os.environ.get("CDSHOOKS_FHIR_TIMEOUT", "3.0")),
            "fhir_budget_seconds": float(os.environ.get("CDSHOOKS_FHIR_BUDGET", "4.0")),
            "fhir_max_pages": int(os.environ.get("CDSHOOKS_FHIR_MAX_PAGES", "20")),
            "max_request_bytes": int(os.environ.get("CDSHOOKS_MAX_REQUEST_BYTES", str(5 * 1024 * 1024))),
            "jwt_leeway_seconds": float(os.environ.get("CDSHOOKS_JWT_LEEWAY", "30")),
            "jwks_cache_seconds": float(os.environ.get("CDSHOOKS_JWKS_CACHE_SECONDS", "600")),
            "jwks_min_refresh_seconds": float(os.environ.get("CDSHOOKS_JWKS_MIN_REFRESH_SECONDS", "30")),
        }
        if os.environ.get("CDSHOOKS_DATABASE_URL"):
            values["database_url"] = os.environ["CDSHOOKS_DATABASE_URL"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
