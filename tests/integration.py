"""Integration prerequisites (system packages, npm installs): skip when absent, unless CI requires them.

A missing prerequisite is reported twice: as the skip reason, and as an `IntegrationUnavailable`
warning, because a plain `pytest -q` prints the warnings summary but not skip reasons.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
import warnings
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRED = os.environ.get("CDSHOOKS_REQUIRE_INTEGRATION") == "1"
REPO = Path(__file__).resolve().parent.parent


class IntegrationUnavailable(UserWarning):
    """An integration prerequisite is missing, so the tests that need it are skipped."""


def unavailable(message: str) -> NoReturn:
    """Skip the test with `message` (and warn, so the reason is seen); fail instead when CI requires it."""
    if REQUIRED:
        pytest.fail(message)
    warnings.warn(message, IntegrationUnavailable, stacklevel=2)
    pytest.skip(message)


def require_executable(*names: str, install: str = "apt-get install chromium") -> str:
    """Path of the first executable found; skip (or, when required, fail) if none is installed."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    unavailable(f"none of {names} is installed ({install})")


@functools.cache
def node_version(node: str) -> tuple[int, int, int]:
    """`node --version` as numbers (0.0.0 if it cannot be read)."""
    try:
        output = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        output = ""
    match = re.fullmatch(r"v(\d+)\.(\d+)\.(\d+)", output.strip())
    return (int(match[1]), int(match[2]), int(match[3])) if match else (0, 0, 0)


def require_node_modules(project: Path, *, min_node: tuple[int, int]) -> str:
    """Path of `node` once `npm ci` has installed `project`'s lock file; skip (or, when required, fail) if not.

    The installed tree is compared with the lock file, so a version bump that has not been
    installed yet skips with the command to run rather than testing the old version.
    """
    node = require_executable("node", install="apt-get install nodejs npm")
    version = node_version(node)
    if version[:2] < min_node:
        wanted = ".".join(map(str, min_node))
        unavailable(f"Node.js {'.'.join(map(str, version))} is older than {wanted}, which {project.name} needs")
    where = project.relative_to(REPO) if project.is_relative_to(REPO) else project
    installed_lock = project / "node_modules" / ".package-lock.json"
    if not installed_lock.is_file():
        unavailable(f"{where}/node_modules is missing: run `npm ci` in {where}")
    locked = json.loads((project / "package-lock.json").read_text())["packages"]
    installed = json.loads(installed_lock.read_text()).get("packages", {})
    stale = sorted(
        path
        for path, entry in locked.items()
        if path and not entry.get("optional") and installed.get(path, {}).get("version") != entry.get("version")
    )
    if stale:
        unavailable(f"{where}/node_modules does not match package-lock.json ({stale[0]}): run `npm ci` in {where}")
    return node
