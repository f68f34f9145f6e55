"""Advice when a clinician signs orders (the last check before orders take effect)."""

from cdshooks.services import CdsService

SERVICE = CdsService(
    id="skin-oncology-order-sign",
    hook="order-sign",
    title="Skin oncology and transplant: order signing",
    description=(
        "Checks all draft orders being signed against the patient's skin cancers, transplant status, "
        "tumour markers and current medications, and advises per NCCN, EADO/EDF, ESMO, ASCO/CAP and FDA labels."
    ),
)
