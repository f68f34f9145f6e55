"""Playing the EHR: build a CDS Hooks request for a patient held in a FHIR bundle.

Prefetch is filled by running the service's own prefetch templates against the
bundle, exactly as an EHR would against its FHIR server.
"""

from __future__ import annotations

import uuid
from typing import Any

from cdshooks.prefetch import render_template
from cdshooks.sandbox.store import BundleStore
from cdshooks.services import CdsService
from cdshooks.terminology import valuesets

ORDERABLE = (
    "tacrolimus",
    "cyclosporine",
    "azathioprine",
    "mycophenolate",
    "sirolimus",
    "everolimus",
    "pembrolizumab",
    "cemiplimab",
    "nivolumab",
    "avelumab",
    "vismodegib",
    "sonidegib",
    "dabrafenib",
    "trametinib",
    "vemurafenib",
    "encorafenib",
    "cobimetinib",
    "binimetinib",
    "trastuzumab",
    "pertuzumab",
    "trastuzumab_deruxtecan",
)


def orderable() -> list[dict[str, str]]:
    sets = valuesets()
    return [{"id": name, "label": sets[name].title} for name in ORDERABLE if name in sets]


def draft_medication_order(drug: str, patient_id: str) -> dict[str, Any]:
    """A draft MedicationRequest for a drug of the order catalogue, coded where a code is verified."""
    valueset = valuesets()[drug]
    try:
        medication = valueset.codeable_concept()
    except LookupError:
        medication = {"text": valueset.title}
    return {
        "resourceType": "MedicationRequest",
        "id": f"draft-{drug.replace('_', '-')}-{uuid.uuid4().hex[:8]}",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": {"reference": f"Patient/{patient_id}"},
    }


def as_draft_bundle(draft: dict[str, Any] | None) -> dict[str, Any]:
    if draft is None:
        return {"resourceType": "Bundle", "type": "collection", "entry": []}
    if draft.get("resourceType") == "Bundle":
        return draft
    return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}


def build_hook_request(
    service: CdsService,
    store: BundleStore,
    patient_id: str,
    *,
    draft: dict[str, Any] | None = None,
    selections: list[str] | None = None,
    with_prefetch: bool = True,
    fhir_server: str | None = None,
) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/sandbox-clinician", "patientId": patient_id}
    if service.hook in ("order-select", "order-sign"):
        bundle = as_draft_bundle(draft)
        context["draftOrders"] = bundle
        if service.hook == "order-select":
            refs = [
                f"{e['resource']['resourceType']}/{e['resource'].get('id')}"
                for e in bundle.get("entry", [])
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            ]
            context["selections"] = selections or refs
    request: dict[str, Any] = {
        "hook": service.hook,
        "hookInstance": str(uuid.uuid4()),
        "context": context,
    }
    if fhir_server:
        request["fhirServer"] = fhir_server
    if with_prefetch:
        prefetch: dict[str, Any] = {}
        for key, spec in service.prefetch().items():
            query = render_template(spec.template, context)
            if query is not None:
                prefetch[key] = store.query(query)
        request["prefetch"] = prefetch
    return request
