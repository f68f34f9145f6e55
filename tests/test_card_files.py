"""Card and value-set files are checked at start-up; a bad one names the file and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from cdshooks.cards import CardFileError, load_cards
from cdshooks.terminology import load_valuesets

ROOT = Path(__file__).resolve().parent.parent

CARDS = ROOT / "cards"


def write_card(folder: Path, name: str, changes: dict) -> Path:
    card = yaml.safe_load((CARDS / "T1.yaml").read_text())
    card.update(changes)
    card["rule"] = name
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(card))
    return path


def test_shipped_cards_load():
    cards = load_cards(CARDS)
    assert "T1" in cards and "T2" in cards


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"summary": "x" * 140}, "summary"),
        ({"source": {"label": "A guideline"}}, "source"),
        ({"source": {"label": "A guideline", "url": "http://example.org"}}, "source"),
        ({"indicator": "urgent"}, "indicator"),
        ({"version": "one"}, "version"),
        ({"overrideReasons": [{"code": "x"}]}, "overrideReasons.0.display"),
        ({"summary": "Consider {dose}"}, "unknown placeholder {dose}"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_card_file_names_file_and_field(tmp_path, changes, message):
    write_card(tmp_path, "X1", changes)
    with pytest.raises(CardFileError) as error:
        load_cards(tmp_path)
    assert "X1.yaml" in str(error.value)
    assert message in str(error.value)


def test_invalid_suggested_resource_is_rejected(tmp_path):
    card = yaml.safe_load((CARDS / "T1.yaml").read_text())
    card["suggestions"][1]["actions"][0]["resource"]["subject"] = "Patient/{patient}"
    card["rule"] = "X2"
    (tmp_path / "X2.yaml").write_text(yaml.safe_dump(card))
    with pytest.raises(CardFileError, match=r"X2\.yaml: suggestion"):
        load_cards(tmp_path)


def test_unknown_value_set_in_card_is_rejected(tmp_path):
    card = yaml.safe_load((CARDS / "T1.yaml").read_text())
    card["suggestions"][1]["actions"][0]["resource"]["medicationCodeableConcept"] = "{concept:no_such_set}"
    card["rule"] = "X3"
    (tmp_path / "X3.yaml").write_text(yaml.safe_dump(card))
    with pytest.raises(CardFileError, match=r"X3\.yaml"):
        load_cards(tmp_path)


def test_file_name_must_match_rule(tmp_path):
    shutil.copy(CARDS / "T1.yaml", tmp_path / "T9.yaml")
    with pytest.raises(CardFileError, match="does not match the file name"):
        load_cards(tmp_path)


def test_not_yaml(tmp_path):
    (tmp_path / "X4.yaml").write_text("rule: [unclosed")
    with pytest.raises(CardFileError, match=r"X4\.yaml: not valid YAML"):
        load_cards(tmp_path)


def copy_valuesets(tmp_path: Path) -> Path:
    folder = tmp_path / "vs"
    shutil.copytree(ROOT / "valuesets", folder)
    return folder


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bad:\n  title: x\n  icd10cm: [{code: C99.99}]\n", "not an ICD-10-CM code"),
        ("bad:\n  title: x\n  icd10cm: [{code: Z94, exclude: [C44.42]}]\n", "is not under"),
        ("bad:\n  title: x\n  icd10cm: [{code: C00-C96}]\n", "holds no codes"),
        ("bad:\n  title: x\n  codes: [{system: snomed, code: '1', status: MAYBE, source: mcode-4.0.0}]\n", "status"),
        ("bad:\n  title: x\n  codes: [{system: snomed, code: '1', status: VERIFIED}]\n", "source"),
        ("bad:\n  title: x\n  codes: [{system: snomed, code: '1', status: VERIFIED, source: nowhere}]\n", "nowhere"),
        ("bad:\n  title: x\n", "neither codes nor names"),
        ("bad:\n  title: x\n  includes: [no_such_set]\n", "unknown value sets"),
        ("tacrolimus:\n  title: x\n  names: [x]\n", "defined twice"),
    ],
)
def test_bad_value_set_file_names_file_and_entry(tmp_path, text, message):
    folder = copy_valuesets(tmp_path)
    (folder / "zz-extra.yaml").write_text(text)
    with pytest.raises(ValueError) as error:
        load_valuesets(folder)
    assert "zz-extra.yaml" in str(error.value)
    assert message in str(error.value)


def test_icd10_is_matched_by_explicit_list_not_prefix():
    from cdshooks.fhir_read import concept
    from cdshooks.terminology import vs

    def icd(code: str):
        return concept({"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]})

    cscc = vs("cutaneous_scc")
    assert cscc.matches(icd("C44.42")) and cscc.matches(icd("C4442"))
    assert not cscc.matches(icd("C44.102")) and not cscc.matches(icd("C44.132")) and not cscc.matches(icd("C44"))
