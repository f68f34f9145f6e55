"""Card content as data: `cards/<RULE>.yaml` holds a rule's summary, detail,
source, suggestions and override reasons. Loaded and checked once at start-up;
a bad file stops start-up with a message naming the file and the field.

Strings may hold `{name}` placeholders filled from the rule's finding; a string
that is exactly `{concept:<valueset>}` becomes that value set's CodeableConcept,
so codes stay in `valuesets/` and never in card files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cdshooks.protocol import Link, OverrideReasonCoding, Source
from cdshooks.rules import RULES
from cdshooks.rules.registry import ALWAYS_BOUND
from cdshooks.terminology import valuesets

PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
CONCEPT = re.compile(r"^\{concept:([a-z0-9_]+)\}$")
SAMPLE_BINDINGS = {
    "patient": "example-patient",
    "order": "MedicationRequest/example-order",
    "condition": "Condition/example-condition",
    "drug": "tacrolimus",
    "cancer": "metastatic malignant melanoma",
    "result": "HER2 negative (IHC 1+)",
}


class CardFileError(ValueError):
    pass


class ActionTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["create", "update", "delete"]
    description: str = Field(min_length=1)
    resourceId: str | None = None
    resource: dict[str, Any] | None = None


class SuggestionTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(min_length=1)
    isRecommended: bool = False
    actions: list[ActionTemplate] = Field(min_length=1)


class CardContent(BaseModel):
    """What a variant may override."""

    model_config = ConfigDict(extra="forbid")
    indicator: Literal["info", "warning", "critical"] | None = None
    summary: str | None = Field(default=None, min_length=1, max_length=139)
    detail: str | None = None
    suggestions: list[SuggestionTemplate] | None = None
    overrideReasons: list[OverrideReasonCoding] | None = None


class Snooze(BaseModel):
    """How an override with a reason snoozes this card (cdshooks.suppression)."""

    model_config = ConfigDict(extra="forbid")
    days: float | None = Field(default=None, ge=0)  # None: CDSHOOKS_SNOOZE_DAYS; 0: never snoozed
    patientWide: list[str] = []  # override reason codes that snooze the card for every clinician


class CardTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str = Field(min_length=1)
    title: str = Field(min_length=1)
    indicator: Literal["info", "warning", "critical"]
    summary: str = Field(min_length=1, max_length=139)
    detail: str = Field(min_length=1)
    source: Source
    selectionBehavior: Literal["at-most-one", "any"] = "at-most-one"
    suggestions: list[SuggestionTemplate] = []
    overrideReasons: list[OverrideReasonCoding] = []
    links: list[Link] = []
    variants: dict[str, CardContent] = {}
    snooze: Snooze = Snooze()

    @model_validator(mode="after")
    def _patient_wide_reasons_are_the_cards(self) -> CardTemplate:
        codes = {r.code for r in self.all_override_reasons()}
        unknown = sorted(set(self.snooze.patientWide) - codes)
        if unknown:
            raise ValueError(f"snooze.patientWide names {unknown}, which are not override reasons of this card")
        return self

    @field_validator("source")
    @classmethod
    def _cited(cls, source: Source) -> Source:
        if not source.url or not source.url.startswith("https://"):
            raise ValueError("source.url must cite the guideline or label with an https URL")
        return source

    def all_override_reasons(self) -> list[OverrideReasonCoding]:
        """The override reasons of the card and of every variant."""
        return [*self.overrideReasons, *(r for v in self.variants.values() for r in v.overrideReasons or ())]

    def variant(self, name: str | None) -> CardTemplate:
        """This card with a variant's fields laid over it."""
        if name is None:
            return self
        if name not in self.variants:
            raise KeyError(f"card {self.rule} has no variant {name!r}")
        changes = self.variants[name].model_dump(exclude_none=True)
        return self.model_copy(update={k: getattr(self.variants[name], k) for k in changes})


def fill(value: Any, bindings: dict[str, str]) -> Any:
    """Replace placeholders in strings (recursively); unknown names raise KeyError."""
    if isinstance(value, str):
        concept_ref = CONCEPT.match(value)
        if concept_ref:
            return valuesets()[concept_ref.group(1)].codeable_concept()
        return PLACEHOLDER.sub(lambda m: bindings[m.group(1)], value)
    if isinstance(value, dict):
        return {k: fill(v, bindings) for k, v in value.items()}
    if isinstance(value, list):
        return [fill(v, bindings) for v in value]
    return value


def validate_resource(resource: dict[str, Any]) -> None:
    """Validate a suggested FHIR resource with the R4(B) models; raises ValueError."""
    kind = resource.get("resourceType")
    if not isinstance(kind, str):
        raise ValueError("resource has no resourceType")
    try:
        model = get_fhir_model_class(kind)
    except (KeyError, ValueError) as exc:
        raise ValueError(f"unknown resourceType {kind!r}") from exc
    model.model_validate({k: v for k, v in resource.items() if k != "resourceType"})


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string inside a card field, with its path (e.g. `suggestions.0.actions.1.resource.subject`)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}")


def placeholders(card: CardTemplate) -> Iterator[tuple[str, str]]:
    """(field, placeholder) for every `{name}` the card's text and suggestions use."""
    fields = {"summary": card.summary, "detail": card.detail, "suggestions": card.model_dump()["suggestions"]}
    for name, value in fields.items():
        for path, text in _strings(value, name):
            for token in PLACEHOLDER.findall(text):
                yield path, token


def _check(template: CardTemplate, where: str) -> None:
    for name in [None, *template.variants]:
        card = template.variant(name)
        for suggestion in card.suggestions:
            for action in suggestion.actions:
                if action.type == "delete" and not action.resourceId:
                    raise CardFileError(f"{where}: a delete action needs resourceId")
                if action.type != "delete":
                    if not action.resource:
                        raise CardFileError(f"{where}: a {action.type} action needs resource")
                    try:
                        filled = fill(action.resource, _Anything())
                        validate_resource(filled)
                    except (KeyError, LookupError, ValueError, ValidationError) as exc:
                        raise CardFileError(f"{where}: suggestion {suggestion.label!r}: {exc}") from exc
        fillable = known_bindings()
        for field_name, token in placeholders(card):
            if token not in fillable:
                raise CardFileError(f"{where}: {field_name}: unknown placeholder {{{token}}} (no rule fills it)")


def known_bindings() -> frozenset[str]:
    """Every binding some rule's declaration fills (what a placeholder may name at all)."""
    return ALWAYS_BOUND.union(*(names for rule in RULES.values() for names in rule.variants.values()))


class _Anything(dict):
    """Bindings used to dry-run templates at load time."""

    def __missing__(self, key: str) -> str:
        return SAMPLE_BINDINGS.get(key, f"example-{key}")


def load_cards(folder: Path) -> dict[str, CardTemplate]:
    """Read every `*.yaml` card file; raises CardFileError naming file and field."""
    cards: dict[str, CardTemplate] = {}
    for path in sorted(folder.glob("*.yaml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            template = CardTemplate.model_validate(raw)
        except yaml.YAMLError as exc:
            raise CardFileError(f"{path.name}: not valid YAML: {exc}") from exc
        except ValidationError as exc:
            fields = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
            raise CardFileError(f"{path.name}: {fields}") from exc
        if template.rule != path.stem:
            raise CardFileError(f"{path.name}: rule {template.rule!r} does not match the file name")
        _check(template, path.name)
        cards[template.rule] = template
    return cards


@lru_cache(maxsize=8)
def cards_in(folder: Path) -> dict[str, CardTemplate]:
    """The card files of a folder, loaded and checked once per folder."""
    return load_cards(folder)
