"""The rule catalogue: every rule declaration with its card file, checked against each other.

Checked once per cards folder, at start-up (`create_app` asks for it), so that a
card naming a binding its rule never fills, a misspelt variant, a variant the
rule produces but the card has no text for, a card without a rule or a rule
without a card stops the service before it answers anyone, with a message
naming the file and the field — instead of a 500 at call time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cdshooks.cards import CardFileError, CardTemplate, cards_in, placeholders
from cdshooks.paths import data_dir
from cdshooks.rules import RULES, Rule


@dataclass(frozen=True)
class Entry:
    rule: Rule
    card: CardTemplate


def check(rules: Mapping[str, Rule], cards: Mapping[str, CardTemplate]) -> list[str]:
    """Every disagreement between declarations and card files, as 'FILE: field: problem' lines."""
    problems = [f"{rid}.yaml: missing: rule {rid} has no card file" for rid in sorted(set(rules) - set(cards))]
    problems += [f"{rid}.yaml: rule: no rule {rid} is declared" for rid in sorted(set(cards) - set(rules))]
    for rid in sorted(set(rules) & set(cards)):
        rule, card, where = rules[rid], cards[rid], f"{rid}.yaml"
        declared = sorted(str(v) for v in rule.variants if v is not None)
        for name in card.variants:
            if name not in rule.variants:
                known = ", ".join(declared) or "none"
                problems.append(f"{where}: variants.{name}: rule {rid} declares no variant {name!r} (it has: {known})")
        for name in declared:
            if name not in card.variants:
                problems.append(f"{where}: variants: no text for variant {name!r}, which rule {rid} produces")
        for variant in [None, *(v for v in card.variants if v in rule.variants)]:
            problems += _unfilled(rule, card, variant, where)
    return problems


def _unfilled(rule: Rule, card: CardTemplate, variant: str | None, where: str) -> list[str]:
    allowed = rule.bindings_for(variant)
    overridden = card.variants[variant].model_dump(exclude_none=True).keys() if variant else set()
    problems = []
    for field_name, token in placeholders(card.variant(variant)):
        if token in allowed:
            continue
        top = field_name.split(".")[0]
        if variant is None:
            shown = field_name
        elif top in overridden:
            shown = f"variants.{variant}.{field_name}"
        else:
            shown = f"{field_name} (as used by variant {variant!r})"
        label = "the default card" if variant is None else f"variant {variant!r}"
        problems.append(
            f"{where}: {shown}: placeholder {{{token}}} is not filled by rule {rule.id} for {label} "
            f"(it fills: {', '.join(sorted(allowed))})"
        )
    return list(dict.fromkeys(problems))


@lru_cache(maxsize=8)
def _catalogue_of(folder: Path) -> dict[str, Entry]:
    cards = cards_in(folder)
    problems = check(RULES, cards)
    if problems:
        raise CardFileError("rules and cards disagree:\n" + "\n".join(f"- {p}" for p in problems))
    return {rid: Entry(RULES[rid], cards[rid]) for rid in RULES}


def catalogue() -> dict[str, Entry]:
    """Every rule with its card, from the cards folder in use (CDSHOOKS_CARDS_DIR or `cards/`)."""
    return _catalogue_of(data_dir("cards"))
