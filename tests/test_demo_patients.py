"""`cdshooks call` on every demo patient prints the cards the fixture README promises."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from cdshooks.cli import main
from cdshooks.protocol import HookResponse
from tests.builders import FIXTURES, cc, draft_order, load, patient_id

PATIENT_VIEW = {
    "transplant-cscc": set(),
    "transplant-cscc-metastatic": {"T2", "P1"},
    "transplant-cscc-on-sirolimus": set(),
    "corneal-transplant-cscc": set(),
    "cscc-metastatic": {"S1", "P1"},
    "bcc-metastatic": {"S2", "P1"},
    "melanoma-untested": {"M1", "P1"},
    "melanoma-braf-v600e": {"M3"},
    "melanoma-braf-wildtype": {"P1"},
    "merkel-metastatic": {"K1", "P1"},
    "transplant-merkel": {"P1"},
    "net-skin-lesion": {"N1", "P1"},
    "breast-skin-metastasis": {"B1", "P1"},
    "breast-her2-positive": {"B2"},
}
ORDERS = [
    ("transplant-cscc", "order-select", "tacrolimus", {"T1"}),
    ("transplant-cscc", "order-sign", "pembrolizumab", {"T3"}),
    ("bcc-metastatic", "order-select", "vismodegib", {"S3"}),
    ("melanoma-untested", "order-select", "dabrafenib", {"M1", "M2"}),
    ("melanoma-braf-v600e", "order-select", "dabrafenib", set()),
    ("melanoma-braf-wildtype", "order-sign", "dabrafenib", {"M2:wild_type"}),
    ("transplant-merkel", "order-select", "avelumab", {"T3"}),
    ("breast-skin-metastasis", "order-select", "trastuzumab", {"B3"}),
    ("breast-skin-metastasis", "order-select", "trastuzumab deruxtecan", set()),
    ("breast-her2-positive", "order-sign", "trastuzumab", set()),
]


def call(capsys: pytest.CaptureFixture[str], *args: str) -> set[str]:
    assert main(["call", *args]) == 0
    body = json.loads(capsys.readouterr().out)
    HookResponse.model_validate(body)
    fired = set()
    for card in body["cards"]:
        evidence = card["extension"]["org.cdshooks.evidence"]
        fired.add(f"{evidence['rule']}:{evidence['variant']}" if "variant" in evidence else evidence["rule"])
    return fired


@pytest.mark.parametrize("name", sorted(PATIENT_VIEW))
def test_patient_view(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert call(capsys, "patient-view", "--bundle", str(FIXTURES / f"{name}.json")) == PATIENT_VIEW[name]


@pytest.mark.parametrize(("name", "hook", "drug", "expected"), ORDERS)
def test_order_hooks(
    name: str, hook: str, drug: str, expected: set[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    draft = tmp_path / "draft.json"
    draft.write_text(json.dumps(draft_order(patient_id(load(name)), cc(text=drug))))
    assert call(capsys, hook, "--bundle", str(FIXTURES / f"{name}.json"), "--draft", str(draft)) == expected


def test_every_demo_patient_is_listed_and_tested() -> None:
    readme = (FIXTURES / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^- `([^`]+)\.json` — .+$", readme, flags=re.MULTILINE))
    files = {p.stem for p in FIXTURES.glob("*.json")}
    assert listed == files
    assert set(PATIENT_VIEW) == files
