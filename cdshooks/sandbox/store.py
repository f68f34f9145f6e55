"""An in-memory FHIR store over Bundle files, answering the searches our prefetch templates use.

Used to play the EHR: by the sandbox page and by `cdshooks call`, to satisfy the
service's prefetch templates from a FHIR bundle file, and by the sandbox's
`/sandbox/fhir` endpoint, so the fetch path can be tried without a real server.
Supports reads and type-level searches on `patient`/`subject`, `code`
(token list, `system|code` or `code`), `status` and `_count`.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cdshooks.fhir_read import concept, flatten, normalise_code, reference, reference_id, system_key


class StoreError(ValueError):
    pass


@dataclass
class BundleStore:
    resources: list[dict[str, Any]]

    @classmethod
    def from_file(cls, path: Path) -> BundleStore:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"{path}: not a readable JSON file ({exc})") from exc
        if not isinstance(data, dict) or not isinstance(data.get("resourceType"), str):
            raise StoreError(f"{path}: not a FHIR resource")
        return cls(list(flatten([data])))

    def patients(self) -> list[dict[str, Any]]:
        return [r for r in self.resources if r.get("resourceType") == "Patient"]

    def read(self, kind: str, resource_id: str) -> dict[str, Any] | None:
        return next((r for r in self.resources if r.get("resourceType") == kind and r.get("id") == resource_id), None)

    def query(self, relative_url: str) -> dict[str, Any] | None:
        """Answer `Type/id` or `Type?params` as the FHIR server would (a resource or a searchset)."""
        parts = urlsplit(relative_url)
        path = parts.path.strip("/")
        if re.fullmatch(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-.]{1,64}", path):
            kind, resource_id = path.split("/")
            return self.read(kind, resource_id)
        if not re.fullmatch(r"[A-Z][A-Za-z]+", path):
            raise StoreError(f"unsupported query {path!r}")
        params = parse_qsl(parts.query, keep_blank_values=True)
        found = [r for r in self.resources if r.get("resourceType") == path]
        count = None
        for name, value in params:
            if name in {"patient", "subject"}:
                found = [r for r in found if _patient_of(r) == value.split("/")[-1]]
            elif name == "code":
                found = [r for r in found if _code_matches(r, value)]
            elif name == "status":
                found = [r for r in found if r.get("status") in value.split(",")]
            elif name == "_count":
                count = int(value) if value.isdigit() else None
            elif name == "_id":
                found = [r for r in found if r.get("id") in value.split(",")]
        if count is not None:
            found = found[:count]
        return searchset(found)


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(resources),
        "entry": [
            {"fullUrl": f"{r['resourceType']}/{r.get('id', '')}", "resource": r, "search": {"mode": "match"}}
            for r in resources
        ],
    }


def _patient_of(resource: dict[str, Any]) -> str | None:
    ref = reference(resource.get("subject")) or reference(resource.get("patient"))
    return reference_id(ref, "Patient")


def _code_matches(resource: dict[str, Any], value: str) -> bool:
    codes = concept(resource.get("code")).codings
    for token in value.split(","):
        system, _, code = token.rpartition("|")
        key = system_key(system) if system else None
        for coding in codes:
            if coding.code == normalise_code(coding.system, code) and (key is None or coding.system == key):
                return True
    return False
