"""Card content as data: `cards/<RULE>.yaml` holds a rule's summary, detail,
source, suggestions and override reasons. Loaded and checked once at start-up;
a bad file stops start-up with a message naming the file and the field.

Strings may hold `{name}` placeholders filled from the rule's finding; a string
that is exactly `{concept:<valueset>}` becomes that value set's CodeableConcept,
so codes stay in `valuesets/` and never in card files.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from fhir.resources.R4B import get_fhir_model_class
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from cdshooks.paths import data_dir
from cdshooks.protocol import Link, OverrideReasonCoding, Source
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


class CardTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rule: str = Field(min_length=1)
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
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

    @field_validator("source")
    @classmethod
    def _cited(cls, source: Source) -> Source:
        if not source.url or not source.url.startswith("https://"):
            raise ValueError("source.url must cite the guideline or label with an https URL")
        return source

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


def _check(template: CardTemplate, where: str) -> None:
    for name in [None, *template.variants]:
        card = template.variant(name)
        texts = [card.summary, card.detail]
        for suggestion in card.suggestions:
            texts.append(suggestion.label)
            for action in suggestion.actions:
                texts.append(action.description)
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
        for text in texts:
            for token in PLACEHOLDER.findall(text or ""):
                if token not in KNOWN_BINDINGS:
                    raise CardFileError(f"{where}: unknown placeholder {{{token}}}")


KNOWN_BINDINGS = {"patient", "order", "condition", "drug", "drug_class", "encounter", "cancer", "result"}


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


@lru_cache(maxsize=1)
def card_catalogue() -> dict[str, CardTemplate]:
    return load_cards(data_dir("cards"))
