"""Sandbox endpoints: the EHR page, demo patients, request builder and a small FHIR server."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, jsonify, request, send_from_directory

from cdshooks.errors import ApiError
from cdshooks.paths import data_dir
from cdshooks.sandbox.ehr import build_hook_request, draft_medication_order, orderable
from cdshooks.sandbox.store import BundleStore, StoreError
from cdshooks.services import all_services

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")
STATIC = Path(__file__).parent / "static"
README_LINE = re.compile(r"^- `(?P<file>[^`]+)\.json` — (?P<text>.+)$")


@lru_cache(maxsize=1)
def demo_patients() -> dict[str, tuple[BundleStore, dict[str, Any]]]:
    """Demo patients from fixtures/fhir, keyed by Patient id, with the README's description."""
    folder = data_dir("fixtures/fhir")
    descriptions: dict[str, str] = {}
    readme = folder / "README.md"
    if readme.exists():
        for line in readme.read_text(encoding="utf-8").splitlines():
            match = README_LINE.match(line.strip())
            if match:
                descriptions[match["file"]] = match["text"]
    patients: dict[str, tuple[BundleStore, dict[str, Any]]] = {}
    for path in sorted(folder.glob("*.json")):
        try:
            store = BundleStore.from_file(path)
        except StoreError:
            continue
        for patient in store.patients():
            name = patient.get("name", [{}])[0]
            label = " ".join([*name.get("given", []), name.get("family", "")]).strip() or patient["id"]
            patients[patient["id"]] = (
                store,
                {"id": patient["id"], "name": label, "file": path.name, "about": descriptions.get(path.stem, "")},
            )
    return patients


def _patient(patient_id: str) -> BundleStore:
    found = demo_patients().get(patient_id)
    if found is None:
        raise ApiError(404, "unknown-patient", f"no demo patient with id {patient_id!r}")
    return found[0]


@bp.get("")
def page() -> Response:
    return send_from_directory(STATIC, "index.html")


@bp.get("/static/<path:name>")
def static(name: str) -> Response:
    return send_from_directory(STATIC, name)


@bp.get("/api/patients")
def patients() -> Response:
    return jsonify({"patients": [meta for _, meta in demo_patients().values()], "orderable": orderable()})


@bp.post("/api/request")
def make_request() -> Response:
    """Build the CDS Hooks request an EHR would send for a demo patient (and an order)."""
    body = request.get_json(silent=True) or {}
    service = all_services().get(str(body.get("service", "")))
    if service is None:
        raise ApiError(400, "unknown-service", "choose a service from discovery", field="service")
    patient_id = str(body.get("patient", ""))
    store = _patient(patient_id)
    draft = None
    if service.hook != "patient-view":
        drug = str(body.get("drug", ""))
        if drug not in {o["id"] for o in orderable()}:
            raise ApiError(400, "unknown-order", "choose a drug from the order catalogue", field="drug")
        draft = draft_medication_order(drug, patient_id)
    use_server = bool(body.get("useFhirServer"))
    return jsonify(
        build_hook_request(
            service,
            store,
            patient_id,
            draft=draft,
            with_prefetch=not use_server,
            fhir_server=request.host_url.rstrip("/") + "/sandbox/fhir" if use_server else None,
        )
    )


@bp.get("/fhir/<path:query>")
def fhir(query: str) -> Response:
    """A read-only FHIR server over all demo patients (for trying the fetch path)."""
    relative = query + ("?" + request.query_string.decode() if request.query_string else "")
    everything = BundleStore([r for store, _ in demo_patients().values() for r in store.resources])
    try:
        found = everything.query(relative)
    except (StoreError, ValueError):
        return _outcome(400, "unsupported query")
    if found is None:
        return _outcome(404, "not found")
    response = jsonify(found)
    response.mimetype = "application/fhir+json"
    return response


def _outcome(status: int, text: str) -> Response:
    response = jsonify(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
        }
    )
    response.status_code = status
    response.mimetype = "application/fhir+json"
    return response
