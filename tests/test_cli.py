"""`cdshooks call` (offline hook against a bundle) and `cdshooks serve` start-up checks."""

from __future__ import annotations

import json

import pytest

from cdshooks.cli import main
from tests.conftest import FIXTURES, draft_med
from tests.spec_checks import assert_conformant_response, rule_ids


def call(capsys, *args: str) -> tuple[int, dict]:
    code = main(["call", *args])
    out = capsys.readouterr().out
    return code, json.loads(out) if out.strip() else {}


@pytest.fixture
def tacrolimus_draft(tmp_path):
    path = tmp_path / "draft.json"
    path.write_text(json.dumps(draft_med("tx-cscc", "42316", "tacrolimus")))
    return str(path)


def test_call_order_select_prints_t1(capsys, tacrolimus_draft):
    code, body = call(
        capsys, "order-select", "--bundle", str(FIXTURES / "transplant-cscc.json"), "--draft", tacrolimus_draft
    )
    assert code == 0
    assert rule_ids(body) == ["T1"]
    assert_conformant_response(body)


def test_call_order_sign_with_a_draft_bundle(capsys, tmp_path):
    path = tmp_path / "drafts.json"
    path.write_text(
        json.dumps({"resourceType": "Bundle", "entry": [{"resource": draft_med("tx-cscc", None, "cyclosporine")}]})
    )
    code, body = call(capsys, "order-sign", "--bundle", str(FIXTURES / "transplant-cscc.json"), "--draft", str(path))
    assert code == 0 and rule_ids(body) == ["T1"]


def test_call_patient_view(capsys):
    code, body = call(capsys, "patient-view", "--bundle", str(FIXTURES / "transplant-cscc-metastatic.json"))
    assert code == 0 and rule_ids(body) == ["T2", "P1"]


def test_call_silent_patient(capsys):
    code, body = call(capsys, "patient-view", "--bundle", str(FIXTURES / "transplant-cscc-on-sirolimus.json"))
    assert code == 0 and body == {"cards": []}


def test_call_needs_a_draft_for_order_hooks(capsys):
    assert main(["call", "order-sign", "--bundle", str(FIXTURES / "transplant-cscc.json")]) == 2
    assert "--draft" in capsys.readouterr().err


def test_call_with_unreadable_bundle(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["call", "patient-view", "--bundle", str(bad)]) == 2
    assert "bad.json" in capsys.readouterr().err


def test_serve_refuses_production_without_authentication(capsys, monkeypatch):
    monkeypatch.delenv("CDSHOOKS_TRUSTED_ISSUERS", raising=False)
    assert main(["serve", "--port", "0"]) == 2
    assert "cannot start" in capsys.readouterr().err
