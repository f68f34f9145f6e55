"""The realistic-shape corpus (tests/corpus/): every case against the service, plus the manifest.

A case is a patient Bundle as EHRs send it (US Core, Oracle Health, Epic, mCODE and
genomics-reporting shapes), a hook, draft orders for order hooks, and the EXACT set of
rules the clinical catalogue (rules.md, revision 2) says must fire. The prefetch is the
case's own `prefetch` when it has one (the exact payload an EHR sends), otherwise the
service's prefetch templates filled from the Bundle as an EHR would fill them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdshooks.pipeline import call_service
from cdshooks.sandbox.ehr import build_hook_request
from cdshooks.sandbox.store import BundleStore
from cdshooks.services import all_services
from cdshooks.settings import Settings
from tests.fhir_stub import StubFhirServer

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES_DIR = CORPUS / "cases"
DEFAULT_NOW = "2026-03-01T12:00:00Z"
HOOKS = ("patient-view", "order-select", "order-sign")
RULES = ("T1", "T2", "T3", "S1", "S2", "S3", "M1", "M2", "M3", "K1", "N1", "B1", "B2", "B3", "P1")
VARIANTS = {
    "T1": {"no_sirolimus"},
    "S3": {"pregnant"},
    "M2": {"pending", "not_v600", "wild_type", "no_condition"},
    "B3": {"discordant"},
}
POINTS = (
    "abatement",
    "deceased",
    "code_systems",
    "hierarchies",
    "history_recurrence",
    "metastasis_attribution",
    "tumour_dedup",
    "product_form",
    "medication_reference",
    "narrative_results",
    "panels",
    "pending_orders",
)
RULE_POINTS = tuple(f"rule_{r}" for r in ("T1", "T2", "T3", "S1", "S2", "S3", "K1", "N1", "B1", "B2", "B3", "P1"))
REQUIRED = {"id", "about", "sources", "hook", "bundle", "expect"}
OPTIONAL = {"now", "draftOrders", "selections", "prefetch", "fhirServer"}
SERVICE_FOR_HOOK = {s.hook: s for s in all_services().values()}


def load_cases() -> list[dict[str, Any]]:
    return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(CASES_DIR.glob("*.json"))]


def load_manifest() -> dict[str, Any]:
    return yaml.safe_load((CORPUS / "manifest.yaml").read_text(encoding="utf-8"))


CASES = load_cases()


def patient_id(bundle: dict[str, Any]) -> str:
    return next(e["resource"]["id"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient")


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [copy.deepcopy(e["resource"]) for e in bundle["entry"]]


def build_request(case: dict[str, Any], fhir_server: str | None) -> dict[str, Any]:
    service = SERVICE_FOR_HOOK[case["hook"]]
    store = BundleStore(resources(case["bundle"]))
    explicit = "prefetch" in case
    request = build_hook_request(
        service,
        store,
        patient_id(case["bundle"]),
        draft=copy.deepcopy(case.get("draftOrders")),
        selections=list(case["selections"]) if case.get("selections") else None,
        with_prefetch=not explicit,
        fhir_server=fhir_server,
    )
    request["context"]["userId"] = "Practitioner/corpus-clinician"
    if explicit:
        request["prefetch"] = copy.deepcopy(case["prefetch"])
    return request


def fired_rules(body: dict[str, Any]) -> set[str]:
    fired = set()
    for card in body["cards"]:
        evidence = card["extension"]["org.cdshooks.evidence"]
        fired.add(f"{evidence['rule']}:{evidence['variant']}" if evidence.get("variant") else evidence["rule"])
    return fired


def run_case(case: dict[str, Any], settings: Settings) -> set[str]:
    now = datetime.fromisoformat(case.get("now", DEFAULT_NOW).replace("Z", "+00:00"))
    server = StubFhirServer(BundleStore(resources(case["bundle"]))) if case.get("fhirServer") else None
    try:
        request = build_request(case, server.base_url if server else None)
        outcome = call_service(SERVICE_FOR_HOOK[case["hook"]], request, settings, now=now)
    finally:
        if server:
            server.close()
    return fired_rules(outcome.response.to_json())


@pytest.fixture
def settings(tmp_path: Path) -> Iterator[Settings]:
    yield Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'feedback.sqlite3'}")


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict[str, Any], settings: Settings) -> None:
    assert run_case(case, settings) == set(case["expect"]), case["about"]


# --- the corpus itself -------------------------------------------------------------------


def known_label(label: str) -> bool:
    rule, _, variant = label.partition(":")
    return rule in RULES and (not variant or variant in VARIANTS.get(rule, set()))


def test_case_format() -> None:
    assert len(CASES) >= 120
    for path in sorted(CASES_DIR.glob("*.json")):
        case = json.loads(path.read_text(encoding="utf-8"))
        where = path.name
        assert case["id"] == path.stem, where
        assert set(case) >= REQUIRED, f"{where}: missing {sorted(REQUIRED - set(case))}"
        assert set(case) <= REQUIRED | OPTIONAL, f"{where}: unknown fields {sorted(set(case) - REQUIRED - OPTIONAL)}"
        assert case["hook"] in HOOKS, where
        assert isinstance(case["about"], str) and case["about"].strip(), where
        assert case["sources"] and all(isinstance(s, str) and s.strip() for s in case["sources"]), where
        assert all(known_label(label) for label in case["expect"]), f"{where}: {case['expect']}"
        assert len({label.split(":")[0] for label in case["expect"]}) == len(case["expect"]), where
        datetime.fromisoformat(case.get("now", DEFAULT_NOW).replace("Z", "+00:00"))
        bundle = case["bundle"]
        assert bundle["resourceType"] == "Bundle" and bundle["type"] == "collection", where
        patients = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"]
        assert len(patients) == 1, f"{where}: one Patient per bundle"
        if case["hook"] == "patient-view":
            assert "draftOrders" not in case and "selections" not in case, where
        else:
            assert case.get("draftOrders", {}).get("resourceType") == "Bundle", where
        if "selections" in case:
            assert case["hook"] == "order-select", where
            drafted = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in case["draftOrders"]["entry"]}
            assert set(case["selections"]) <= drafted, where
        if "prefetch" in case:
            assert all(isinstance(v, dict) and "resourceType" in v for v in case["prefetch"].values()), where


def cells(manifest: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for point, rules in manifest["points"].items():
        for rule, cell in rules.items():
            yield point, rule, cell


def test_manifest_has_no_gap() -> None:
    manifest = load_manifest()
    points = manifest["points"]
    assert set(points) == set(POINTS) | set(RULE_POINTS)
    by_id = {c["id"]: c for c in CASES}
    for point in POINTS:
        for rule in RULES:
            assert rule in points[point], f"{point} x {rule}: no cell"
    for point in RULE_POINTS:
        rule = point.removeprefix("rule_")
        assert rule in points[point], f"{point}: no cell for {rule}"
    named: set[str] = set()
    for point, label, cell in cells(manifest):
        where = f"{point} x {label}"
        assert known_label(label), where
        if "na" in cell:
            assert set(cell) == {"na"} and isinstance(cell["na"], str) and cell["na"].strip(), where
            continue
        assert set(cell) == {"fires", "silent"}, where
        assert cell["fires"] and cell["silent"], f"{where}: needs both a firing and a silent case"
        for kind in ("fires", "silent"):
            for case_id in cell[kind]:
                assert case_id in by_id, f"{where}: unknown case {case_id}"
                named.add(case_id)
                expect = set(by_id[case_id]["expect"])
                hit = label in expect if ":" in label else any(e.split(":")[0] == label for e in expect)
                assert hit is (kind == "fires"), f"{where}: {case_id} expects {sorted(expect)}"
                rule = label.split(":")[0]
                hooks = {"T1": ("order-select", "order-sign"), "T3": ("order-select", "order-sign")}
                if kind == "fires" and rule in hooks:
                    assert by_id[case_id]["hook"] in hooks[rule], where
    unnamed = sorted(set(by_id) - named)
    assert not unnamed, f"cases named in no cell: {unnamed}"
