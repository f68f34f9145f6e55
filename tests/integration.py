"""Integration prerequisites (system packages): skip when absent, unless CI requires them."""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRED = os.environ.get("CDSHOOKS_REQUIRE_INTEGRATION") == "1"


def require_executable(*names: str) -> str:
    """Path of the first executable found; skip (or, when required, fail) if none is installed."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    message = f"none of {names} is installed (apt-get install chromium)"
    if REQUIRED:
        pytest.fail(message)
    pytest.skip(message)
