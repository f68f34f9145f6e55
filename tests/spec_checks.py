"""Assertions for the CDS Hooks 2.0 response rules, shared by tests."""

from __future__ import annotations

from typing import Any

from cdshooks.cards import validate_resource


def assert_no_null_or_empty(value: Any, path: str = "$") -> None:
    """Spec: JSON elements SHALL NOT be null or empty ("", [], {}), except `cards: []`."""
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}"
            if here == "$.cards" and item == []:
                continue
            assert item not in (None, "", [], {}), f"{here} is null or empty"
            assert_no_null_or_empty(item, here)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            assert item not in (None, "", [], {}), f"{path}[{index}] is null or empty"
            assert_no_null_or_empty(item, f"{path}[{index}]")


def assert_conformant_response(body: dict[str, Any]) -> None:
    assert isinstance(body.get("cards"), list)
    assert_no_null_or_empty(body)
    uuids: list[str] = []
    for card in body["cards"]:
        assert len(card["summary"]) < 140
        assert card["indicator"] in {"info", "warning", "critical"}
        assert card["source"]["label"]
        assert card["source"]["url"].startswith("https://")
        uuids.append(card["uuid"])
        if "suggestions" in card:
            assert card["selectionBehavior"] in {"at-most-one", "any"}
            for suggestion in card["suggestions"]:
                assert suggestion["label"]
                uuids.append(suggestion["uuid"])
                for action in suggestion.get("actions", []):
                    assert action["type"] in {"create", "update", "delete"}
                    assert action["description"]
                    if action["type"] == "delete":
                        assert "/" in action["resourceId"]
                    else:
                        validate_resource(action["resource"])
        for reason in card.get("overrideReasons", []):
            assert reason["display"] and reason["code"]
        for link in card.get("links", []):
            assert link["type"] in {"absolute", "smart"} and link["url"] and link["label"]
    assert len(uuids) == len(set(uuids)), "card and suggestion uuids must be unique"


def rule_ids(body: dict[str, Any]) -> list[str]:
    return [card["extension"]["org.cdshooks.evidence"]["rule"] for card in body["cards"]]
