"""The fact sheets, the README's rule table and the card version record follow the declarations and cards."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

from cdshooks.catalogue import Entry, catalogue
from cdshooks.factsheets import content_hash, version_problems, version_record

ROOT = Path(__file__).resolve().parent.parent


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_rule_docs", ROOT / "scripts" / "make_rule_docs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_generated_documents_are_up_to_date() -> None:
    script = _script()
    assert script.problems() == []
    assert [p.relative_to(ROOT).as_posix() for p in script.stale()] == [], "run python scripts/make_rule_docs.py"


def test_every_rule_has_a_fact_sheet_and_a_table_row() -> None:
    sheets = (ROOT / "docs" / "rules.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for rid, entry in catalogue().items():
        assert f"## {rid}\n" in sheets
        assert f"| [{rid}](docs/rules.md#{rid.lower()}) |" in readme
        assert entry.card.source.url and entry.card.source.url in sheets


def _changed(entry: Entry, **rule_changes: str) -> Entry:
    card = entry.card.model_copy(update={"summary": entry.card.summary + " now"})
    rule = type(entry.rule)(**{**entry.rule.__dict__, **rule_changes})
    return Entry(rule, card)


def test_a_card_text_change_without_a_new_version_is_refused() -> None:
    entries = catalogue()
    recorded = version_record(entries)
    assert version_problems(entries, recorded) == []
    changed = {**entries, "T1": _changed(entries["T1"])}
    assert content_hash(changed["T1"]) != recorded["T1"]["sha256"]
    problems = version_problems(changed, recorded)
    assert len(problems) == 1 and problems[0].startswith("T1: its card or its logic changed")
    bumped = {**entries, "T1": _changed(entries["T1"], version="1.0.1")}
    assert version_problems(bumped, recorded) == []


def test_a_logic_change_without_a_new_version_is_refused() -> None:
    entries = catalogue()
    recorded = version_record(entries)

    def other_logic(record: object) -> list[object]:
        return []

    changed = {
        **entries,
        "T3": Entry(
            type(entries["T3"].rule)(**{**entries["T3"].rule.__dict__, "evaluate": other_logic}), entries["T3"].card
        ),
    }
    assert [p.split(":")[0] for p in version_problems(changed, recorded)] == ["T3"]


def test_the_record_names_every_rule_at_its_version() -> None:
    recorded = json.loads((ROOT / "tests" / "card_versions.json").read_text(encoding="utf-8"))
    assert {rid: r["version"] for rid, r in recorded.items()} == {rid: e.rule.version for rid, e in catalogue().items()}
