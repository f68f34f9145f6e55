"""Whether an active pregnancy is documented (for the hedgehog-inhibitor warning, S3).

An active pregnancy Condition, or a positive pregnancy test within the last 42
weeks with no later negative test and no later delivery (a delivery procedure or
an outcome-of-delivery condition). Quantitative hCG values are not read (hCG is a
tumour marker too): only qualitative tests and their stated result.
"""

from __future__ import annotations

from datetime import timedelta

from cdshooks.clinical.markers import Call, answer, value_concept
from cdshooks.facts import Fact
from cdshooks.record import PatientRecord
from cdshooks.terminology import vs

PREGNANCY = vs("pregnancy")
PREGNANCY_TEST = vs("pregnancy_test")
DELIVERY = vs("delivery")
TEST_WINDOW = timedelta(weeks=42)


def pregnancy(record: PatientRecord) -> Fact | None:
    """The fact documenting an active pregnancy, or None."""
    return record.derived("pregnancy", _find)


def _find(record: PatientRecord) -> Fact | None:
    conditions = record.conditions_in(PREGNANCY)
    if conditions:
        return conditions[0]
    tests = record.observations_in(PREGNANCY_TEST)  # newest first
    for test in tests:
        call = answer(value_concept(test.value)) or answer(test.interpretation)
        if call is None:
            continue
        if call is not Call.POSITIVE or test.when is None or test.when < record.now - TEST_WINDOW:
            return None
        deliveries = [*record.procedures_in(DELIVERY), *record.conditions_in(DELIVERY)]
        if any(d.when is not None and d.when > test.when for d in deliveries):
            return None
        return test
    return None
