"""What the hang-guarded tests run in their child process: one request to a sandbox-mode app."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from flask.testing import FlaskClient


@lru_cache(maxsize=1)
def _client() -> FlaskClient:
    from cdshooks.app import create_app
    from cdshooks.settings import Settings

    # in memory: the child process may be killed by its hang guard, and leaves no file behind
    return create_app(Settings(sandbox=True, database_url="sqlite://")).test_client()


def post(path: str, body: bytes) -> tuple[int, Any]:
    """POST a JSON body; return the status and the JSON answer."""
    response = _client().post(path, data=body, content_type="application/json")
    return response.status_code, response.get_json(silent=True)
