"""The sandbox page in a real (headless) browser, as a clinician uses an EHR: open a chart, choose an
order, read the card, accept a suggestion (its actions change the draft orders) or dismiss it with a
reason, sign, and see why each rule fired or not. Screenshots go to test-results/."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration import REPO, require_executable
from tests.live_server import running_server

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = REPO / "test-results"


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """(base URL, the server's database file)."""
    with running_server(tmp_path, "--sandbox") as (base, _):
        yield base, tmp_path / "fb.sqlite3"


@pytest.fixture
def page(sandbox: tuple[str, Path]) -> Iterator[Any]:
    chromium = require_executable("chromium", "chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _ = sandbox
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        tab = browser.new_page(viewport={"width": 1360, "height": 1000})
        errors: list[str] = []
        elsewhere: list[str] = []
        tab.on("pageerror", lambda exc: errors.append(str(exc)))
        tab.on("request", lambda request: None if request.url.startswith(base) else elsewhere.append(request.url))
        tab.on("response", lambda response: errors.append(f"{response.status} {response.url}")
               if response.status == 404 else None)  # fmt: skip
        tab.goto(f"{base}/sandbox")
        tab.wait_for_selector("body[data-ready='true']")
        yield tab
        browser.close()
        assert errors == []
        assert elsewhere == [], "the page loads nothing from outside the service"


def feedback_rows(database: Path) -> list[dict[str, Any]]:
    with sqlite3.connect(database) as connection:
        connection.row_factory = sqlite3.Row
        return [dict(row) for row in connection.execute("SELECT * FROM feedback ORDER BY id")]


def answered(page: Any, action: Any) -> None:
    """Do `action` and wait for the hook call it makes to be answered (the status line is cleared first)."""
    page.evaluate("document.querySelector('#status').textContent = ''")
    action()
    page.wait_for_function("document.querySelector('#status').textContent.includes('HTTP')")


def open_chart(page: Any, patient: str) -> None:
    answered(page, lambda: page.select_option("#patient", patient))


def select_order(page: Any, drug: str) -> None:
    page.select_option("#catalogue", drug)
    answered(page, lambda: page.click("#select-order"))
    assert "order-select" in page.inner_text("#hook")


def drafts(page: Any) -> list[str]:
    return [item.inner_text() for item in page.query_selector_all("#drafts li[data-ref]")]


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_accepting_the_t1_card_adds_the_proposal_and_keeps_the_order(page: Any, sandbox: tuple[str, Path]) -> None:
    _, database = sandbox
    open_chart(page, "tx-cscc")
    banner = page.inner_text("#banner")
    assert "Alex Moreau" in banner and "Kidney transplant" in banner and "tacrolimus" in banner
    assert ".json" not in page.inner_text("body")  # no file names, no rule ids shown to the user
    select_order(page, "tacrolimus")
    card = page.wait_for_selector(".card.warning")
    text = card.inner_text()
    assert "sirolimus" in text.lower()
    assert card.query_selector(".detail").is_visible(), "the detail, where the caveats are, is shown"
    assert "Source:" in text
    assert "fires T1" not in page.inner_text("body")
    page.click(".card .actions button:has-text('Propose sirolimus for transplant-team review')")
    page.wait_for_selector(".card .done")
    assert "Accepted" in page.inner_text(".card .done") and "feedback 200" in page.inner_text(".card .done")
    listed = drafts(page)
    assert any("tacrolimus" in item.lower() for item in listed), listed  # the current order is kept
    assert any("sirolimus" in item.lower() and "FROM CDS" in item.upper() for item in listed), listed
    screenshot(page, "sandbox-t1-accepted.png")
    (row,) = feedback_rows(database)
    assert row["outcome"] == "accepted" and json.loads(row["accepted_suggestions"])

    answered(page, lambda: page.click("#sign"))  # order-sign with every draft: the proposal is among them
    assert "order-sign" in page.inner_text("#hook") and "HTTP 200" in page.inner_text("#status")
    assert "order-sign" in (page.text_content("#request") or "")


def test_dismissing_with_a_reason_sends_overridden_feedback(page: Any, sandbox: tuple[str, Path]) -> None:
    _, database = sandbox
    open_chart(page, "tx-cscc")
    select_order(page, "tacrolimus")
    page.wait_for_selector(".card.warning")
    page.select_option(".card .override-reason", label="Managed by the transplant team")
    page.click(".card .dismiss")
    page.wait_for_selector(".card .done")
    assert "Dismissed: Managed by the transplant team" in page.inner_text(".card .done")
    (row,) = feedback_rows(database)
    assert row["outcome"] == "overridden"
    assert "managed-by-transplant-team" in row["override_reason"]
    page.click("#report")  # the governance view of the same ledger
    page.wait_for_selector("#outcomes table")
    assert "Managed by the transplant team (1)" in page.inner_text("#outcomes")
    page.wait_for_function(
        "document.querySelector('#outcomes-chart') && document.querySelector('#outcomes-chart').complete"
    )
    screenshot(page, "sandbox-card-outcomes.png")


def test_update_and_delete_actions_change_the_draft_orders(page: Any) -> None:
    open_chart(page, "tx-cscc")
    select_order(page, "tacrolimus")
    page.wait_for_selector(".card")

    def canned(route: Any) -> None:
        """A card whose suggestion updates the tacrolimus draft and deletes the azathioprine one."""
        orders = route.request.post_data_json["context"]["draftOrders"]["entry"]
        tacrolimus = next(e["resource"] for e in orders if "tacrolimus" in json.dumps(e["resource"]).lower())
        azathioprine = next(e["resource"] for e in orders if "azathioprine" in json.dumps(e["resource"]).lower())
        updated = {**tacrolimus, "medicationCodeableConcept": {"text": "tacrolimus 1 mg twice daily (reduced)"}}
        card = {
            "uuid": "5d0c7c9e-7f0e-4d36-9a59-4d3f1e0b2a11",
            "summary": "Canned card: reduce tacrolimus, stop azathioprine",
            "indicator": "info",
            "source": {"label": "test"},
            "suggestions": [{
                "label": "Apply both changes",
                "uuid": "0b7a3c54-1c1e-4b9f-8a0c-6b1d9b0c4e22",
                "actions": [
                    {"type": "update", "description": "reduce tacrolimus", "resource": updated},
                    {"type": "delete", "description": "stop azathioprine",
                     "resourceId": f"MedicationRequest/{azathioprine['id']}"},
                ],
            }],
        }  # fmt: skip
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"cards": [card]}))

    page.route("**/cds-services/skin-oncology-order-select", canned)
    page.route("**/cds-services/skin-oncology-order-select/feedback",
               lambda route: route.fulfill(status=200, content_type="application/json",
                                           body='{"stored": 1, "duplicates": 0}'))  # fmt: skip
    select_order(page, "azathioprine")
    assert len(drafts(page)) == 2
    page.click(".card .actions button:has-text('Apply both changes')")
    page.wait_for_selector(".card .done")
    listed = drafts(page)
    assert len(listed) == 1 and "reduced" in listed[0], listed
    assert not any("azathioprine" in item.lower() for item in listed)


def test_explain_says_why_each_rule_fired_or_not(page: Any) -> None:
    page.check("#explain")
    page.check("#use-server")  # and through the sandbox's FHIR server, without prefetch
    open_chart(page, "tx-cscc-met")
    page.wait_for_selector("#explanation table")
    table = page.inner_text("#explanation")
    assert "T2" in table and "fired" in table
    assert "no metastatic melanoma" in table
    assert '"fhirServer"' in (page.text_content("#request") or "")
    assert "Review immunosuppression".lower() in page.inner_text("#cards").lower()
    screenshot(page, "sandbox-explain.png")
