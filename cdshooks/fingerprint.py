"""A card's fingerprint: the rule and version that made it and the evidence it rests on, each resource
with its `meta.versionId` and `meta.lastUpdated` — so that a snooze or a "not again at order-sign"
holds while nothing the card said has changed, and lifts when the rule or any of its facts does
(a new version of the cSCC, another metastasis, a new rule version). A digest: no identifier in it
can be read back."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from cdshooks.fhir_read import ResourceIndex


def fingerprint(rule_id: str, rule_version: str, references: Iterable[str], index: ResourceIndex) -> str:
    parts = [rule_id, rule_version]
    for ref in sorted(set(references)):
        resource = index.resolve(ref, ref.split("/", 1)[0]) or {}
        meta = resource.get("meta") if isinstance(resource.get("meta"), dict) else {}
        parts.append(f"{ref}\x1f{meta.get('versionId', '')}\x1f{meta.get('lastUpdated', '')}")
    return hashlib.sha256("\x1e".join(parts).encode()).hexdigest()
