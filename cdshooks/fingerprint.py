"""A card's fingerprint: the rule and version that made it and the evidence it rests on, each resource
with its `meta.versionId` and `meta.lastUpdated` — so that a snooze or a "not again at order-sign"
holds while nothing the card said has changed, and lifts when the rule or any of its facts does
(a new version of the cSCC, another metastasis, a new rule version). A digest: no identifier in it
can be read back."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable


def fingerprint(rule_id: str, rule_version: str, references: Iterable[str], version_of: Callable[[str], str]) -> str:
    """`version_of(ref)`: the resource's versionId and lastUpdated, as the record read them."""
    parts = [rule_id, rule_version, *(f"{ref}\x1f{version_of(ref)}" for ref in sorted(set(references)))]
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()
