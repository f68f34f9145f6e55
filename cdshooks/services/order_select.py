"""Advice while a clinician selects an order (immunosuppressants, targeted and immune therapy)."""

from cdshooks.services import CdsService

SERVICE = CdsService(
    id="skin-oncology-order-select",
    hook="order-select",
    title="Skin oncology and transplant: order selection",
    description=(
        "Checks newly selected orders against the patient's skin cancers, transplant status, "
        "tumour markers and current medications, and advises per NCCN, EADO/EDF, ESMO, ASCO/CAP "
        "and FDA labels (e.g. conversion to sirolimus for transplant recipients with cutaneous SCC)."
    ),
)
