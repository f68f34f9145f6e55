"""Fixtures for the security tests: a loopback JWK Set server and a production-mode app."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from cdshooks.app import create_app
from cdshooks.settings import Settings
from tests.conftest import store_of
from tests.fhir_stub import StubFhirServer
from tests.security.jwt_helpers import JwksServer, jwks, production_settings


@pytest.fixture
def jwks_server() -> Iterator[JwksServer]:
    server = JwksServer({"/jwks.json": jwks("ES384", "ES256", "RS384", "RS256"), "/rotating/jwks.json": jwks("jku")})
    yield server
    server.close()


@pytest.fixture
def prod_settings(tmp_path: Path, jwks_server: JwksServer) -> Settings:
    return production_settings(tmp_path, jwks_server)


@pytest.fixture
def prod_app(prod_settings: Settings) -> Flask:
    return create_app(prod_settings)


@pytest.fixture
def prod_client(prod_app: Flask) -> FlaskClient:
    return prod_app.test_client()


@pytest.fixture
def auth_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """The service's log records (the "cdshooks" logger does not propagate to the root).

    create_app() resets the logger's handlers: list this fixture after the app's in a test's arguments.
    """
    logger = logging.getLogger("cdshooks")
    logger.addHandler(caplog.handler)
    try:
        yield caplog
    finally:
        logger.removeHandler(caplog.handler)


@pytest.fixture
def servers() -> Iterator[tuple[StubFhirServer, StubFhirServer]]:
    """Two FHIR servers holding the full run's patient: the allow-listed one, and another it must not reach."""
    from tests.security.full_run import patient_bundle

    own, other = StubFhirServer(store_of(patient_bundle())), StubFhirServer(store_of(patient_bundle()))
    yield own, other
    own.close()
    other.close()
