"""Spec MUSTs enforced by the response models themselves, and the prefetch query subset."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from pydantic import ValidationError

from cdshooks.protocol import Action, Card, HookResponse, prune
from cdshooks.services import all_services

SOURCE = {"label": "A guideline", "url": "https://example.org"}


def test_suggestions_require_selection_behavior():
    with pytest.raises(ValidationError, match="selectionBehavior"):
        Card(summary="s", indicator="info", source=SOURCE, suggestions=[{"label": "Do it", "actions": []}])


def test_selection_behavior_values():
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="info", source=SOURCE, suggestions=[{"label": "x"}], selectionBehavior="all")


def test_summary_under_140_characters():
    Card(summary="x" * 139, indicator="info", source=SOURCE)
    with pytest.raises(ValidationError):
        Card(summary="x" * 140, indicator="info", source=SOURCE)


def test_override_reasons_need_display():
    with pytest.raises(ValidationError, match="display"):
        Card(summary="s", indicator="info", source=SOURCE, overrideReasons=[{"code": "x", "system": "urn:x"}])


def test_indicator_and_source_are_required():
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="urgent", source=SOURCE)
    with pytest.raises(ValidationError):
        Card(summary="s", indicator="info")  # type: ignore[call-arg]


def test_actions_need_their_target():
    with pytest.raises(ValidationError, match="resource"):
        Action(type="create", description="d")
    with pytest.raises(ValidationError, match="resourceId"):
        Action(type="delete", description="d")


def test_response_never_carries_null_or_empty():
    card = Card(summary="s", indicator="info", source={"label": "x", "url": None}, detail="", links=[])
    body = HookResponse(cards=[card]).to_json()
    assert body == {"cards": [{"summary": "s", "indicator": "info", "source": {"label": "x"}}]}
    assert HookResponse(cards=[]).to_json() == {"cards": []}
    assert prune({"a": {"b": [{}], "c": ""}, "d": 0, "e": False}) == {"d": 0, "e": False}


ALLOWED_PARAMS = {"patient", "code", "status", "_count", "_sort", "date", "_id", "category"}


@pytest.mark.parametrize("service", sorted(all_services()))
def test_prefetch_templates_stay_within_the_recommended_subset(service):
    """Spec §Prefetch query restrictions: reads, type-level searches, token equality, _count, _sort."""
    for template in all_services()[service].descriptor().prefetch.values():
        parts = urlsplit(template)
        assert re.fullmatch(r"[A-Z][A-Za-z]+(/\{\{[^}]+\}\})?", parts.path)
        for name, _ in parse_qsl(parts.query):
            assert name in ALLOWED_PARAMS, f"{name} in {template}"
            assert ":" not in name, "no modifiers on search parameters"


def test_card_extension_is_an_object(client):
    from tests.conftest import draft_med, hook_request, service_url

    body = hook_request("order-sign", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
    card = client.post(service_url("order-sign"), json=body).get_json()["cards"][0]
    assert isinstance(card["extension"], dict)
    assert all("." in key for key in card["extension"]), "reverse-domain extension names"
