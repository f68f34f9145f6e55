"""Rules check themselves: every card against its rule's declaration at start-up, and at call time."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from cdshooks.app import create_app
from cdshooks.cards import CardFileError, load_cards
from cdshooks.catalogue import catalogue, check
from cdshooks.rules import RULES
from cdshooks.rules.registry import DeclarationError, rule
from cdshooks.settings import Settings
from tests.conftest import RX, draft_med, hook_request, service_url

ROOT = Path(__file__).resolve().parent.parent

CARDS = ROOT / "cards"


def copy_cards(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cards"
    shutil.copytree(CARDS, folder)
    monkeypatch.setenv("CDSHOOKS_CARDS_DIR", str(folder))
    return folder


def edit_card(folder: Path, rule_id: str, change: Any) -> None:
    path = folder / f"{rule_id}.yaml"
    card = yaml.safe_load(path.read_text())
    change(card)
    path.write_text(yaml.safe_dump(card, sort_keys=False))


def start(tmp_path: Path) -> Any:
    return create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db.sqlite3'}"))


def test_every_shipped_rule_and_card_agree() -> None:
    assert check(RULES, load_cards(CARDS)) == []
    assert set(catalogue()) == set(RULES)


def test_a_placeholder_the_rule_does_not_fill_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_cards(tmp_path, monkeypatch)
    edit_card(folder, "T1", lambda card: card.update(summary=card["summary"] + " ({result})"))
    with pytest.raises(CardFileError) as refused:
        start(tmp_path)
    message = str(refused.value)
    assert "T1.yaml: summary: placeholder {result} is not filled by rule T1" in message


def test_a_placeholder_in_a_suggestion_is_checked_per_variant(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_cards(tmp_path, monkeypatch)

    def condition_in_pending(card: dict[str, Any]) -> None:
        card["variants"]["pending"]["summary"] = "BRAF/MEK inhibitor ({drug}) for {condition}: wait for the result"

    edit_card(folder, "M2", condition_in_pending)
    with pytest.raises(CardFileError, match=r"M2\.yaml: variants\.pending\.summary: placeholder \{condition\}"):
        start(tmp_path)


def test_an_unknown_variant_stops_start_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = copy_cards(tmp_path, monkeypatch)
    edit_card(folder, "M2", lambda card: card["variants"].update(wildtype=card["variants"].pop("wild_type")))
    with pytest.raises(CardFileError) as refused:
        start(tmp_path)
    assert "M2.yaml: variants.wildtype: rule M2 declares no variant 'wildtype'" in str(refused.value)
    assert "M2.yaml: variants: no text for variant 'wild_type'" in str(refused.value)


def test_a_card_without_a_rule_and_a_rule_without_a_card_stop_start_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = copy_cards(tmp_path, monkeypatch)
    (folder / "P1.yaml").unlink()
    edit_card(folder, "T3", lambda card: None)
    shutil.copy(folder / "T3.yaml", folder / "Z9.yaml")
    edit_card(folder, "Z9", lambda card: card.update(rule="Z9"))
    with pytest.raises(CardFileError) as refused:
        start(tmp_path)
    assert "P1.yaml: missing: rule P1 has no card file" in str(refused.value)
    assert "Z9.yaml: rule: no rule Z9 is declared" in str(refused.value)


def test_a_declaration_that_cannot_be_right_is_refused() -> None:
    with pytest.raises(DeclarationError, match="unknown data domains"):
        rule("X1", version="1.0.0", hooks={"patient-view"}, needs={"allergies"})(lambda record: ())
    with pytest.raises(DeclarationError, match="version"):
        rule("X1", version="1", hooks={"patient-view"})(lambda record: ())
    with pytest.raises(DeclarationError, match="registered twice"):
        rule("T1", version="1.0.0", hooks={"patient-view"})(lambda record: ())
    assert "X1" not in RULES


def _draft(pid: str) -> dict[str, Any]:
    return draft_med(pid, "42316", "tacrolimus")


def test_a_card_that_fails_to_render_is_dropped_and_the_others_answered(
    client: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # pembrolizumab for the transplant patient fires T3; tacrolimus fires T1: make T3's card raise
    body = hook_request("order-sign", "transplant-cscc", draft=_draft("tx-cscc"))
    pembro = draft_med("tx-cscc", "1547545", "pembrolizumab", order_id="draft-2")
    body["context"]["draftOrders"]["entry"].append({"resource": pembro})
    assert {
        c["extension"]["org.cdshooks.evidence"]["rule"]
        for c in client.post(service_url("order-sign"), json=body).get_json()["cards"]
    } == {"T1", "T3"}

    import cdshooks.render as render

    original = render._card

    def broken(item: Any, template: Any, record: Any) -> Any:
        if item.rule.id == "T3":
            raise KeyError("drug")
        return original(item, template, record)

    monkeypatch.setattr(render, "_card", broken)
    logger = logging.getLogger("cdshooks")
    logger.addHandler(caplog.handler)
    try:
        response = client.post(service_url("order-sign"), json=body)
    finally:
        logger.removeHandler(caplog.handler)
    assert response.status_code == 200
    assert [c["extension"]["org.cdshooks.evidence"]["rule"] for c in response.get_json()["cards"]] == ["T1"]
    failures = [r for r in caplog.records if r.getMessage() == "card failed to render"]
    assert len(failures) == 1 and failures[0].__dict__["rule"] == "T3" and failures[0].__dict__["error"] == "KeyError"


def test_a_finding_outside_its_declaration_is_dropped(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from cdshooks.rules.registry import Finding

    t1 = RULES["T1"]
    original = t1.evaluate

    def no_drug(record: Any) -> Any:
        for finding in original(record):
            yield Finding(finding.evidence, {"order": finding.bindings["order"]}, None)

    monkeypatch.setitem(RULES, "T1", type(t1)(**{**t1.__dict__, "evaluate": no_drug}))
    body = hook_request("order-select", "transplant-cscc", draft=_draft("tx-cscc"))
    response = client.post(service_url("order-select"), json=body)
    assert response.status_code == 200 and response.get_json()["cards"] == []
    assert RX  # the draft is coded in RxNorm


def test_a_new_data_domain_is_the_table_one_reader_and_one_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    from cdshooks.domains import DOMAINS, Domain
    from cdshooks.facts import Fact
    from cdshooks.fhir_read import concept, first_instant
    from cdshooks.readers import ref_of
    from cdshooks.rules.registry import PATIENT_VIEW, fire

    # 1. the table
    def read_allergy(resource: Any, _context: Any) -> Fact:  # 2. its reader
        return Fact(ref_of(resource), concept(resource.get("code")), first_instant(resource, "recordedDate"))

    monkeypatch.setitem(
        DOMAINS,
        "allergies",
        Domain("allergies", {"allergies": "AllergyIntolerance?patient={{context.patientId}}"},
               frozenset({"AllergyIntolerance"}), read_allergy),
    )  # fmt: skip

    # 3. the rule that uses it (and its card file)
    @rule("X9", version="1.0.0", hooks=PATIENT_VIEW, needs={"allergies"}, fills={"allergy"})
    def x9(record: Any) -> Any:
        for allergy in record.facts("allergies"):
            yield fire(allergy, allergy=allergy.concept.label)

    request.addfinalizer(lambda: RULES.pop("X9", None))
    folder = copy_cards(tmp_path, monkeypatch)
    card = yaml.safe_load((folder / "S3.yaml").read_text())
    card.update(rule="X9", summary="Allergy on file: {allergy}", detail="Recorded allergy: {allergy}.")
    card.pop("suggestions", None)
    card.pop("variants", None)
    (folder / "X9.yaml").write_text(yaml.safe_dump(card, sort_keys=False))

    client = start(tmp_path).test_client()
    view = next(s for s in client.get("/cds-services").get_json()["services"] if s["hook"] == "patient-view")
    assert view["prefetch"]["allergies"] == "AllergyIntolerance?patient={{context.patientId}}"

    def allergy(pid: str) -> dict[str, Any]:
        return {"resourceType": "AllergyIntolerance", "id": f"pen-{pid}", "patient": {"reference": f"Patient/{pid}"},
                "code": {"text": "Penicillin"}, "recordedDate": "2020-01-01"}  # fmt: skip

    def fired(body: dict[str, Any]) -> list[str]:
        response = client.post(service_url("patient-view"), json=body)
        assert response.status_code == 200
        return [c["extension"]["org.cdshooks.evidence"]["rule"] for c in response.get_json()["cards"]]

    body = hook_request("patient-view", "transplant-cscc")
    body["prefetch"]["allergies"] = {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [{"resource": allergy("tx-cscc")}],
    }
    assert fired(body) == ["X9"]
    body["prefetch"]["allergies"]["entry"] = [{"resource": allergy("someone-else")}]
    assert fired(body) == []  # another patient's data is dropped for a new domain too
    del body["prefetch"]["allergies"]
    assert fired(body) == []  # data it needs is missing: the rule is skipped, not guessed


def test_evidence_lists_each_resource_once() -> None:
    from cdshooks.facts import Fact
    from cdshooks.fhir_read import Concept
    from cdshooks.rules.registry import fire

    a, b = Fact("Condition/a", Concept(), None), Fact("Condition/b", Concept(), None)
    panel, component = Fact("Observation/p", Concept(text="panel"), None), Fact("Observation/p", Concept(), None)
    assert fire(a, b, a, None, panel, component).evidence == (a, b, panel)
