"""Dependency floors stay past releases with published vulnerabilities."""

from __future__ import annotations

import tomllib
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parent.parent


# package -> (the last release with the vulnerability, the first without it)
FLOORS = {
    "urllib3": ("2.6.3", "2.7.0"),  # CVE-2025-66418, -66471 (2.6.0), CVE-2026-21441 (2.6.3), CVE-2026-44432 (2.7.0)
    "pyjwt": ("2.10.0", "2.10.1"),
    "requests": ("2.32.3", "2.32.4"),
    "gevent": ("23.7.0", "23.9.0"),
}


def requirements() -> dict[str, Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    parsed = [Requirement(line) for line in project["dependencies"]]
    return {r.name.lower(): r for r in parsed}


def test_floors_exclude_vulnerable_releases() -> None:
    declared = requirements()
    for package, (vulnerable, _fixed) in FLOORS.items():
        specifier = declared[package].specifier
        assert not specifier.contains(vulnerable), f"{package} {specifier} admits {vulnerable}"
        assert not specifier.contains("0.1"), f"{package} {specifier} has no floor"
