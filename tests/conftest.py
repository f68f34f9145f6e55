from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.logs import configure_logging
from cdshooks.sandbox.ehr import build_hook_request
from cdshooks.sandbox.store import BundleStore
from cdshooks.services import all_services
from cdshooks.settings import Settings
from tests.fhir_stub import StubFhirServer

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "fhir"
RX = "http://www.nlm.nih.gov/research/umls/rxnorm"
SERVICE_FOR_HOOK = {s.hook: s for s in all_services().values()}


def load_bundle(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def store_of(bundle: dict[str, Any]) -> BundleStore:
    return BundleStore([e["resource"] for e in bundle["entry"]])


def patient_id_of(bundle: dict[str, Any]) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def draft_med(patient_id: str, code: str | None, display: str, order_id: str = "draft-1") -> dict[str, Any]:
    concept: dict[str, Any] = {"text": display}
    if code:
        concept["coding"] = [{"system": RX, "code": code, "display": display}]
    return {
        "resourceType": "MedicationRequest",
        "id": order_id,
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": concept,
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def hook_request(
    hook: str,
    bundle: dict[str, Any] | str,
    *,
    draft: dict[str, Any] | None = None,
    with_prefetch: bool = True,
    fhir_server: str | None = None,
) -> dict[str, Any]:
    """A CDS Hooks request for the bundle's patient, prefetch filled from the bundle."""
    data = load_bundle(bundle) if isinstance(bundle, str) else bundle
    return build_hook_request(
        SERVICE_FOR_HOOK[hook],
        store_of(data),
        patient_id_of(data),
        draft=copy.deepcopy(draft) if draft else None,
        with_prefetch=with_prefetch,
        fhir_server=fhir_server,
    )


def service_url(hook: str) -> str:
    return f"/cds-services/{SERVICE_FOR_HOOK[hook].id}"


@pytest.fixture(autouse=True, scope="session")
def service_logging() -> None:
    """Log as the entry points (`cdshooks serve`, `cdshooks call`) configure it: JSON lines, no propagation."""
    configure_logging()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'feedback.sqlite3'}")


@pytest.fixture
def app(settings: Settings) -> Flask:
    return create_app(settings)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def fhir_server() -> Iterator[StubFhirServer]:
    """A live FHIR server on loopback holding the transplant-cscc patient."""
    server = StubFhirServer(store_of(load_bundle("transplant-cscc")))
    yield server
    server.close()


@pytest.fixture(scope="session")
def postgres() -> Iterator[Any]:
    """A throw-away PostgreSQL cluster on loopback for the whole run (skips without Debian's package)."""
    from tests.postgres import postgres_server

    with postgres_server() as server:
        yield server


@pytest.fixture
def keyserver() -> Iterator[Any]:
    """A loopback JWK Set server with the ES384 test key (what production_settings trusts)."""
    from tests.security.jwt_helpers import JwksServer, jwks

    server = JwksServer({"/jwks.json": jwks("ES384")})
    yield server
    server.close()


@pytest.fixture
def prod(tmp_path: Path, keyserver: Any) -> Flask:
    """A production-mode app trusting the keyserver's key, on a migrated SQLite database."""
    from tests.security.jwt_helpers import production_settings

    return create_app(production_settings(tmp_path, keyserver))
