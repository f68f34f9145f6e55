"""The sandbox page in a real (headless) browser: pick a patient and an order, get the card,
accept its suggestion, and see the feedback stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import require_executable
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


@pytest.fixture
def sandbox_server(tmp_path: Path) -> Iterator[str]:
    with running_server(tmp_path, "--sandbox") as (base, _):
        yield base


def test_sandbox_page_plays_the_ehr(sandbox_server: str, tmp_path: Path):
    chromium = require_executable("chromium", "chromium-browser")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(f"{sandbox_server}/sandbox")
        page.wait_for_selector("#patient option[value='tx-cscc']", state="attached")
        page.select_option("#patient", "tx-cscc")
        page.select_option("#service", "skin-oncology-order-select")
        page.select_option("#drug", "tacrolimus")
        page.click("#send")
        card = page.wait_for_selector(".card.warning")
        assert "consider converting to sirolimus" in card.inner_text()
        assert "HTTP 200" in page.inner_text("#status")
        page.click(".card .actions button:has-text('Propose sirolimus for transplant-team review')")
        page.wait_for_selector(".card .done")
        assert "Accepted (feedback 200)" in page.inner_text(".card .done")
        page.screenshot(path=str(tmp_path / "sandbox.png"), full_page=True)

        # the fetch path: no prefetch, the service reads the sandbox FHIR endpoint
        page.select_option("#service", "skin-oncology-patient-view")
        page.select_option("#patient", "tx-cscc-met")
        page.check("#use-server")
        page.click("#send")
        page.wait_for_function("document.querySelector('#status').textContent.includes('card')")
        assert "Review immunosuppression".lower() in page.inner_text("#cards").lower()
        assert '"fhirServer"' in (page.text_content("#request") or "")
        browser.close()
    assert errors == []
