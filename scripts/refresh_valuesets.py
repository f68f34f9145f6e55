"""Compare the value sets with a newer checkout of the eCQM content repositories they were taken from.

    python scripts/refresh_valuesets.py --repo cqframework/ecqm-content-qicore-2025=/path/to/checkout [--ref main]

For every VSAC source in valuesets/sources.yaml read from one of the given
repositories, the script reads the ValueSet file at the given ref (the same path,
or any file naming the OID), and prints, for a governance sign-off:
- the new version of the value set, if it changed;
- codes the value sets took from it that the new expansion no longer lists;
- codes the new expansion lists that a value set taking the whole expansion lacks;
- for value sets that picked codes by their display, new codes whose display
  carries the same words (to review: picking stays a human decision).
It writes nothing. Exit status 1 when anything changed, 0 otherwise.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
VALUESETS = ROOT / "valuesets"
SYSTEMS = {
    "http://snomed.info/sct": "snomed",
    "http://loinc.org": "loinc",
    "http://hl7.org/fhir/sid/icd-10-cm": "icd10cm",
    "http://www.nlm.nih.gov/research/umls/rxnorm": "rxnorm",
}


@dataclass(frozen=True)
class Taken:
    """A code a value set took from a source."""

    valueset: str
    system: str
    code: str
    display: str
    picked_by: str | None


def load_taken(folder: Path = VALUESETS) -> tuple[dict[str, dict[str, Any]], dict[str, list[Taken]]]:
    """The sources, and per source the codes the value set files took from it."""
    sources = yaml.safe_load((folder / "sources.yaml").read_text(encoding="utf-8"))
    taken: dict[str, list[Taken]] = defaultdict(list)
    for path in sorted(folder.glob("*.yaml")):
        if path.name == "sources.yaml":
            continue
        for name, body in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            for code in (body or {}).get("codes", []):
                taken[code["source"]].append(
                    Taken(
                        name, code["system"], str(code["code"]), code.get("display", ""), code.get("picked_by_display")
                    )
                )
    return sources, taken


def git_show(repo: str, ref: str, path: str) -> str | None:
    done = subprocess.run(["git", "-C", repo, "show", f"{ref}:{path}"], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else None


def find_by_oid(repo: str, ref: str, oid: str) -> str | None:
    done = subprocess.run(["git", "-C", repo, "ls-tree", "-r", "--name-only", ref], capture_output=True, text=True)
    names = [n for n in done.stdout.splitlines() if oid in n and n.endswith(".json")]
    return sorted(names, key=len)[0] if names else None


def expansion(document: dict[str, Any]) -> dict[tuple[str, str], str]:
    """(system, code) -> display of a ValueSet: its expansion and its compose's concept list together (some
    published expansions are cut short at 1,000 codes while the compose lists them all)."""
    found: dict[tuple[str, str], str] = {}
    for item in document.get("expansion", {}).get("contains", []):
        system = SYSTEMS.get(item.get("system", ""))
        if system:
            found[(system, str(item.get("code")))] = item.get("display", "")
    for include in document.get("compose", {}).get("include", []):
        system = SYSTEMS.get(include.get("system", ""))
        for concept in include.get("concept", []) if system else []:
            found.setdefault((system, str(concept.get("code"))), concept.get("display", ""))
    return found


def _value_set(text: str, oid: str) -> dict[str, Any] | None:
    document = json.loads(text)
    if document.get("resourceType") == "Bundle":
        for entry in document.get("entry", []):
            resource = entry.get("resource", {})
            if resource.get("resourceType") == "ValueSet" and oid in (resource.get("url", "") + resource.get("id", "")):
                return resource  # type: ignore[no-any-return]
        return None
    return document  # type: ignore[no-any-return]


def _document_at(repo: str, ref: str, source: dict[str, Any]) -> dict[str, Any] | None:
    path = source["path"] if git_show(repo, ref, source["path"]) is not None else find_by_oid(repo, ref, source["oid"])
    text = git_show(repo, ref, path) if path else None
    return _value_set(text, source["oid"]) if text else None


def compare(key: str, source: dict[str, Any], taken: list[Taken], repo: str, ref: str) -> list[str]:
    """What changed upstream between the recorded commit and `ref`, for the codes the value sets took."""
    document = _document_at(repo, ref, source)
    if document is None:
        return [f"{key}: value set {source['oid']} not found at {ref}"]
    recorded = _document_at(repo, source["commit"], source)
    lines = []
    if recorded is None:
        lines.append(
            f"{key}: recorded commit {source['commit'][:12]} not in this checkout: compared with the codes taken"
        )
    if str(document.get("version", "")) != str(source.get("version", "")):
        lines.append(f"{key}: version {source.get('version')} -> {document.get('version')}")
    now = expansion(document)
    before = expansion(recorded) if recorded is not None else {(t.system, t.code): t.display for t in taken}
    for item in taken:
        if (item.system, item.code) not in now:
            lines.append(f"{key}: {item.valueset}: {item.system} {item.code} ({item.display}) no longer listed")
    added = {pair: display for pair, display in now.items() if pair not in before}
    by_set: dict[str, list[Taken]] = defaultdict(list)
    for item in taken:
        by_set[item.valueset].append(item)
    for name, items in sorted(by_set.items()):
        words = {i.picked_by for i in items if i.picked_by}
        for (system, code), display in sorted(added.items()):
            if not words:
                lines.append(f"{key}: {name}: {system} {code} ({display}) added upstream")
            elif any(w.lower() in display.lower() for w in words):
                lines.append(f"{key}: {name}: {system} {code} ({display}) added upstream; its display matches: review")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", action="append", required=True, metavar="OWNER/NAME=PATH")
    parser.add_argument("--ref", default="HEAD", help="commit or branch of the checkouts to compare with")
    parser.add_argument("--valuesets", type=Path, default=VALUESETS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    checkouts = dict(item.split("=", 1) for item in args.repo)
    sources, taken = load_taken(args.valuesets)
    report = []
    for key, source in sorted(sources.items()):
        if source.get("kind") == "vsac" and source.get("repository") in checkouts:
            report += compare(key, source, taken.get(key, []), checkouts[source["repository"]], args.ref)
    print("\n".join(report) if report else "no changes")
    return 1 if report else 0


if __name__ == "__main__":
    sys.exit(main())
