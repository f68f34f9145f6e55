"""Write the rule fact sheets (docs/rules.md), the README's rule table and the card version record.

    python scripts/make_rule_docs.py          # rewrite what is out of date
    python scripts/make_rule_docs.py --check  # write nothing; exit 1 naming what is out of date

A rule whose card text or logic changed while its declared version did not is
refused either way: give it a new version first (docs/adding-a-rule.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cdshooks.catalogue import catalogue  # noqa: E402
from cdshooks.factsheets import rules_document, version_problems, version_record, with_readme_table  # noqa: E402

DOCS = ROOT / "docs" / "rules.md"
README = ROOT / "README.md"
VERSIONS = ROOT / "tests" / "card_versions.json"


def expected() -> dict[Path, str]:
    """Every generated file with the text it should have."""
    entries = dict(sorted(catalogue().items(), key=lambda item: _order(item[0])))
    return {
        DOCS: rules_document(entries),
        README: with_readme_table(README.read_text(encoding="utf-8"), entries),
        VERSIONS: json.dumps(version_record(entries), indent=2) + "\n",
    }


def _order(rule_id: str) -> tuple[int, str]:
    """Catalogue order: transplant, skin, melanoma, Merkel/NET, breast, palliative."""
    return ("TSMKNBP".index(rule_id[0]) if rule_id[0] in "TSMKNBP" else 99, rule_id)


def problems() -> list[str]:
    recorded = json.loads(VERSIONS.read_text(encoding="utf-8")) if VERSIONS.exists() else {}
    return version_problems(catalogue(), recorded)


def stale() -> list[Path]:
    return [path for path, text in expected().items() if not path.exists() or path.read_text(encoding="utf-8") != text]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything is out of date")
    args = parser.parse_args(argv)
    refused = problems()
    for problem in refused:
        print(problem, file=sys.stderr)
    if refused:
        return 1
    outdated = stale()
    if args.check:
        for path in outdated:
            print(f"{path.relative_to(ROOT)} is out of date: run python scripts/make_rule_docs.py", file=sys.stderr)
        return 1 if outdated else 0
    for path, text in expected().items():
        if path in outdated:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
