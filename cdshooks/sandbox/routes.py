"""Sandbox endpoints: the EHR page, demo patients and their banners, draft orders, the request builder,
explanations, and a small FHIR server. Registered in sandbox mode only: production has none of them."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request, send_from_directory

from cdshooks import report
from cdshooks.api import rule_of, visible_cards
from cdshooks.errors import ApiError
from cdshooks.paths import data_dir
from cdshooks.pipeline import call_service
from cdshooks.sandbox.banner import banner
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


@bp.get("/api/patients/<patient_id>/banner")
def patient_banner(patient_id: str) -> Response:
    return jsonify(banner(_patient(patient_id), patient_id))


@bp.post("/api/draft")
def new_draft() -> Response:
    """A draft MedicationRequest for a drug of the order catalogue, as CPOE makes one when it is chosen."""
    body = _body()
    patient_id = str(body.get("patient", ""))
    _patient(patient_id)
    return jsonify(draft_medication_order(_drug(body), patient_id))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError(400, "invalid-request", "send a JSON object")
    return body


def _drug(body: dict[str, Any]) -> str:
    drug = str(body.get("drug", ""))
    if drug not in {o["id"] for o in orderable()}:
        raise ApiError(400, "unknown-order", "choose a drug from the order catalogue", field="drug")
    return drug


@bp.post("/api/request")
def make_request() -> Response:
    """Build the CDS Hooks request an EHR would send for a demo patient: the page's draft orders
    (`drafts`, with `selected` the ones just chosen, for order-select) or a single `drug`."""
    body = _body()
    service = all_services().get(str(body.get("service", "")))
    if service is None:
        raise ApiError(400, "unknown-service", "choose a service from discovery", field="service")
    patient_id = str(body.get("patient", ""))
    store = _patient(patient_id)
    draft: dict[str, Any] | None = None
    selections: list[str] | None = None
    if service.hook != "patient-view":
        drafts = body.get("drafts")
        if isinstance(drafts, list):
            if not drafts or not all(isinstance(d, dict) for d in drafts):
                raise ApiError(400, "no-orders", "add a draft order first", field="drafts")
            draft = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": d} for d in drafts]}
            selected = body.get("selected")
            selections = [str(s) for s in selected] if isinstance(selected, list) and selected else None
        else:
            draft = draft_medication_order(_drug(body), patient_id)
    use_server = bool(body.get("useFhirServer"))
    return jsonify(
        build_hook_request(
            service,
            store,
            patient_id,
            draft=draft,
            selections=selections,
            with_prefetch=not use_server,
            fhir_server=request.host_url.rstrip("/") + "/sandbox/fhir" if use_server else None,
        )
    )


@bp.post("/api/explain/<service_id>")
def explain(service_id: str) -> Response:
    """The explanation of a hook request (the page's toggle): each rule, fired or not, and why not.
    The request is evaluated as the service would, but nothing is recorded and no card is issued."""
    service = all_services().get(service_id)
    if service is None:
        raise ApiError(404, "unknown-service", f"no CDS service with id {service_id!r}")
    body = _body()
    outcome = call_service(service, body, current_app.config["CDSHOOKS_SETTINGS"], explain=True)
    assert outcome.explanation is not None
    context = body.get("context") or {}
    _, _, hidden = visible_cards(
        service, outcome, current_app.config["CDSHOOKS_SETTINGS"], {}, str(context.get("patientId", "")),
        context.get("userId"),
    )  # fmt: skip
    held = {rule_of(c): hidden[c.uuid] for c in outcome.response.cards if c.uuid in hidden}
    return jsonify(outcome.explanation.with_held_back(held).to_json())


@bp.get("/api/report")
def card_outcomes() -> Response:
    """The governance report of this sandbox's own ledger (`cdshooks report`)."""
    return jsonify({"rules": [f.to_json() for f in report.build(current_app.config["CDSHOOKS_DATABASE"])]})


@bp.get("/api/report.png")
def card_outcomes_chart() -> Response:
    try:
        png = report.chart_png(report.build(current_app.config["CDSHOOKS_DATABASE"]))
    except report.ChartUnavailable as exc:
        raise ApiError(501, "chart-unavailable", str(exc)) from None
    return Response(png, mimetype="image/png", headers={"Cache-Control": "no-store"})


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
