"""The demo patients in fixtures/fhir/ are what scripts/make_fixtures.py generates, each one is self-contained,
and all of them fit in one FHIR server: the sandbox serves them from a single store, where a resource id or a
fullUrl used by two patients would make one patient's data replace the other's."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
import re
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from cdshooks.sandbox.store import BundleStore
from tests.builders import FIXTURES

ROOT = Path(__file__).resolve().parent.parent
LOCAL_REFERENCE = re.compile(r"(?P<kind>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})")
EXTERNAL_KINDS = {"Practitioner", "Organization"}  # not part of any demo patient's data


def _load_generator() -> ModuleType:
    """scripts/ is not a package, so the generator is loaded from its file (in-process, to keep the test fast)."""
    spec = importlib.util.spec_from_file_location("make_fixtures", ROOT / "scripts" / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


make_fixtures = _load_generator()
FILES = sorted(FIXTURES.glob("*.json"))
BUNDLES = {path.stem: json.loads(path.read_text(encoding="utf-8")) for path in FILES}


def resources_of(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def references(value: Any) -> Iterator[str]:
    """Every `Reference.reference` string anywhere inside a resource."""
    if isinstance(value, dict):
        if isinstance(value.get("reference"), str):
            yield value["reference"]
        for item in value.values():
            yield from references(item)
    elif isinstance(value, list):
        for item in value:
            yield from references(item)


def test_there_are_demo_patients() -> None:
    assert len(BUNDLES) >= 14


def test_committed_fixtures_are_the_generator_output() -> None:
    assert make_fixtures.differences() == [], "run `python scripts/make_fixtures.py` and commit the result"


def test_all_fixtures_share_one_store_without_collision() -> None:
    store = BundleStore([r for path in FILES for r in BundleStore.from_file(path).resources])
    ids = Counter((r["resourceType"], r["id"]) for r in store.resources)
    full_urls = Counter(entry["fullUrl"] for bundle in BUNDLES.values() for entry in bundle["entry"])
    assert [key for key, n in ids.items() if n > 1] == []
    assert [url for url, n in full_urls.items() if n > 1] == []
    for name, bundle in BUNDLES.items():
        for resource in resources_of(bundle):
            assert store.read(resource["resourceType"], resource["id"]) == resource, name


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_subject_is_the_fixtures_own_patient(name: str) -> None:
    resources = resources_of(BUNDLES[name])
    patients = [r["id"] for r in resources if r["resourceType"] == "Patient"]
    assert len(patients) == 1
    for resource in resources:
        for field in ("subject", "patient"):
            if field in resource:
                assert resource[field] == {"reference": f"Patient/{patients[0]}"}, (resource["id"], field)


@pytest.mark.parametrize("name", sorted(BUNDLES))
def test_references_resolve_within_the_fixture(name: str) -> None:
    resources = resources_of(BUNDLES[name])
    present = {f"{r['resourceType']}/{r['id']}" for r in resources}
    for resource in resources:
        for target in references(resource):
            match = LOCAL_REFERENCE.fullmatch(target)
            if match and match["kind"] not in EXTERNAL_KINDS:
                assert target in present, (resource["id"], target)


def test_generator_refuses_an_id_shared_by_two_patients(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, *_ = (make() for make in make_fixtures.DEMOS)
    borrowed = {**second.resources[1], "subject": {"reference": f"Patient/{first.patient_id}"}}
    clash = dataclasses.replace(first, resources=(*first.resources, borrowed))
    monkeypatch.setattr(make_fixtures, "DEMOS", (lambda: clash, lambda: second))
    kind, rid = borrowed["resourceType"], borrowed["id"]
    with pytest.raises(make_fixtures.FixtureError) as raised:
        make_fixtures.write(tmp_path)
    assert f"{kind}/{rid}" in str(raised.value)
    assert f"{first.name}.json (Patient/{first.patient_id})" in str(raised.value)
    assert f"{second.name}.json (Patient/{second.patient_id})" in str(raised.value)
    assert list(tmp_path.iterdir()) == []


def test_check_names_changed_and_stray_files(tmp_path: Path) -> None:
    make_fixtures.write(tmp_path)
    assert make_fixtures.differences(tmp_path) == []
    edited = tmp_path / "transplant-cscc.json"
    edited.write_text(edited.read_text(encoding="utf-8").replace("Moreau", "Moro"), encoding="utf-8")
    (tmp_path / "stray.json").write_text("{}", encoding="utf-8")
    problems = make_fixtures.differences(tmp_path)
    assert len(problems) == 2
    assert str(edited) in problems[0] and "differs" in problems[0]
    assert str(tmp_path / "stray.json") in problems[1]
