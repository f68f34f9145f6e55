"""What several rules ask of the record: pending orders, time windows, evidence lists."""

from __future__ import annotations

from datetime import timedelta

from cdshooks.facts import Fact, RequestFact
from cdshooks.record import PatientRecord
from cdshooks.terminology import ValueSet

PALLIATIVE_WINDOW = timedelta(days=90)


def pending_requests(record: PatientRecord, valueset: ValueSet) -> list[RequestFact]:
    """Service requests on file not yet done (draft, active, on hold), and draft service orders, in the set.

    A test or referral already pending is never suggested again, on any hook.
    """
    on_file = record.pending_service_requests()
    drafts = [r for r in record.draft_orders if r.resource_type == "ServiceRequest"]
    return [r for r in [*on_file, *drafts] if valueset.matches(r.concept)]


def within_window(record: PatientRecord, fact: Fact, window: timedelta = PALLIATIVE_WINDOW) -> bool:
    """Dated within `window` before now (or later); undated facts are not."""
    return fact.when is not None and fact.when >= record.now - window


def unique(*facts: Fact | None) -> tuple[Fact, ...]:
    """Evidence without repeats (and without missing entries), in order."""
    return tuple(dict.fromkeys(f for f in facts if f is not None))
