"""Advice on opening the chart of a patient with metastatic skin disease or a transplant."""

from cdshooks.services import CdsService

SERVICE = CdsService(
    id="skin-oncology-patient-view",
    hook="patient-view",
    title="Skin oncology and transplant: chart review",
    description=(
        "On opening a chart, reviews metastatic skin cancers, skin metastases, tumour markers and "
        "immunosuppression, and suggests guideline next steps (testing, therapy review, referrals)."
    ),
)
