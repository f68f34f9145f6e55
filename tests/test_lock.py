"""The lock files pin every dependency the project declares, with hashes, and are what the image and
`make test` install; `make sbom` describes exactly what the image's lock installs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
IMAGE_LOCK = ROOT / "requirements.lock"
TEST_LOCK = ROOT / "requirements-test.lock"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def pins(lock: Path) -> dict[str, str]:
    """name -> version of every `name==version` requirement, each checked to carry hashes."""
    text = lock.read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        match = re.match(r"([A-Za-z0-9._-]+)==([^\s\\]+)", block)
        if not match:
            continue
        assert "--hash=sha256:" in block, f"{match[1]} has no hash in {lock.name}"
        found[str(canonicalize_name(match[1]))] = match[2]
    return found


def declared(*extras: str) -> list[Requirement]:
    requirements = [Requirement(r) for r in PROJECT["dependencies"]]
    for extra in extras:
        requirements += [Requirement(r) for r in PROJECT["optional-dependencies"][extra]]
    return requirements


@pytest.mark.parametrize(
    ("lock", "extras"),
    [(IMAGE_LOCK, ("postgres", "otel", "report")), (TEST_LOCK, ("postgres", "otel", "report", "test"))],
)
def test_every_declared_dependency_is_pinned_within_its_range(lock: Path, extras: tuple[str, ...]) -> None:
    pinned = pins(lock)
    for requirement in declared(*extras):
        name = str(canonicalize_name(requirement.name))
        assert name in pinned, f"{requirement} is not in {lock.name}: run `make lock`"
        assert requirement.specifier.contains(pinned[name], prereleases=True), (
            f"{lock.name} pins {name}=={pinned[name]}, outside {requirement}: run `make lock`"
        )


def test_the_test_lock_agrees_with_the_image_lock() -> None:
    image, tests = pins(IMAGE_LOCK), pins(TEST_LOCK)
    assert {name: version for name, version in tests.items() if name in image} == image


def test_the_image_and_make_test_install_from_the_locks() -> None:
    assert "--require-hashes -r /tmp/requirements.lock" in (ROOT / "Dockerfile").read_text()
    makefile = (ROOT / "Makefile").read_text()
    assert "TEST_LOCK := requirements-test.lock" in makefile
    assert "--require-hashes -r $(TEST_LOCK)" in makefile
    assert "--no-deps -e ." in makefile


def test_the_sbom_lists_what_the_image_installs(tmp_path: Path) -> None:
    cyclonedx = Path(sys.executable).parent / "cyclonedx-py"
    if not cyclonedx.exists():
        pytest.skip("cyclonedx-bom (a test extra) is not installed")
    output = tmp_path / "sbom.cdx.json"
    command = [str(cyclonedx), "requirements", str(IMAGE_LOCK), "--pyproject", str(ROOT / "pyproject.toml"),
               "--of", "JSON", "--output-reproducible", "-o", str(output)]  # fmt: skip
    assert command[1:-1] == _make_sbom_arguments(), "the test runs what `make sbom` runs (but for the output)"
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    sbom = json.loads(output.read_text())
    assert sbom["bomFormat"] == "CycloneDX" and sbom["specVersion"].startswith("1.")
    assert sbom["metadata"]["component"]["name"] == "cdshooks"
    assert sbom["metadata"]["component"]["version"] == PROJECT["version"]
    listed = {str(canonicalize_name(c["name"])): c["version"] for c in sbom["components"]}
    assert listed == pins(IMAGE_LOCK)
    assert all(c["purl"] == f"pkg:pypi/{c['name'].lower()}@{c['version']}" for c in sbom["components"])


def _make_sbom_arguments() -> list[str]:
    """The cyclonedx-py arguments of the Makefile's sbom target up to `-o`, with this test's paths."""
    makefile = (ROOT / "Makefile").read_text().replace("\\\n", " ")
    (line,) = [line for line in makefile.splitlines() if "cyclonedx-py requirements" in line]
    words = line.split()[1:]
    replacements = {"$(LOCK)": str(IMAGE_LOCK), "pyproject.toml": str(ROOT / "pyproject.toml")}
    words = [replacements.get(word, word) for word in words]
    return words[: words.index("-o") + 1]
