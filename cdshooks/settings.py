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

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        issuers = json.loads(os.environ.get("CDSHOOKS_TRUSTED_ISSUERS", "") or "{}")
        jku = json.loads(os.environ.get("CDSHOOKS_TRUSTED_JKU", "") or "{}")
        if not isinstance(issuers, dict) or not all(isinstance(v, str) for v in issuers.values()):
            raise ValueError('CDSHOOKS_TRUSTED_ISSUERS must be a JSON object {"issuer": "jwks-url"}')
        if not isinstance(jku, dict):
            raise ValueError('CDSHOOKS_TRUSTED_JKU must be a JSON object {"issuer": ["jku-url", ...]}')
        values: dict[str, object] = {
            "sandbox": _flag("CDSHOOKS_SANDBOX"),
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
        }
        if os.environ.get("CDSHOOKS_DATABASE_URL"):
            values["database_url"] = os.environ["CDSHOOKS_DATABASE_URL"]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
