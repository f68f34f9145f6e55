"""Solid-organ transplant recipients, and whether the graft is a liver or a lung.

A transplant is proven by a status code (Z94.x, SNOMED CT situations), a
complication of the transplanted organ (T86.x: ICD-10-CM excludes Z94 then, so an
EHR often has the T86 code alone) or the transplant procedure. Cornea, marrow,
stem cells and skin grafts are not solid organs. Liver and lung recipients
(heart-lung included) are never offered sirolimus (Rapamune boxed warning).
"""

from __future__ import annotations

from cdshooks.facts import Fact
from cdshooks.record import PatientRecord
from cdshooks.terminology import vs

SOT = vs("solid_organ_transplant")
SOT_PROCEDURE = vs("solid_organ_transplant_procedure")
LIVER_OR_LUNG = vs("liver_or_lung_transplant")
LIVER_OR_LUNG_PROCEDURE = vs("liver_or_lung_transplant_procedure")


def transplant_fact(record: PatientRecord) -> Fact | None:
    """Evidence of a solid-organ transplant: a status or complication condition, or a transplant procedure."""
    found: list[Fact] = [*record.conditions_in(SOT), *record.procedures_in(SOT_PROCEDURE)]
    return found[0] if found else None


def liver_or_lung_recipient(record: PatientRecord) -> bool:
    return bool(record.conditions_in(LIVER_OR_LUNG) or record.procedures_in(LIVER_OR_LUNG_PROCEDURE))
