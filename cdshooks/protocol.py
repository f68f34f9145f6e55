"""CDS Hooks 2.0 wire format: pydantic models for requests, responses and feedback.

Requests are read leniently where the spec allows (unknown fields, `extension`),
strictly where the service depends on them (ids that go into FHIR URLs).
Responses are dumped without `null` and without empty strings, arrays or objects,
except the top-level `cards: []` (spec: "JSON elements SHALL NOT be null or empty").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

HOOKS = ("patient-view", "order-select", "order-sign")

FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
RELATIVE_REF = re.compile(r"^[A-Z][A-Za-z]{1,63}/[A-Za-z0-9\-.]{1,64}$")


def _fhir_id(value: str) -> str:
    if not FHIR_ID.match(value):
        raise ValueError("must be a FHIR id (letters, digits, '-' and '.', at most 64)")
    return value


def _relative_ref(value: str) -> str:
    if not RELATIVE_REF.match(value):
        raise ValueError("must be a relative reference such as 'Practitioner/123'")
    return value


FhirId = Annotated[str, AfterValidator(_fhir_id)]
RelativeRef = Annotated[str, AfterValidator(_relative_ref)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]


class Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(Lenient):
    access_token: NonEmpty
    token_type: NonEmpty
    expires_in: int | None = None
    scope: str | None = None
    subject: str | None = None
    patient: str | None = None

    @field_validator("token_type")
    @classmethod
    def _bearer(cls, value: str) -> str:
        if value.lower() != "bearer":
            raise ValueError("must be 'Bearer'")
        return value

    def __repr__(self) -> str:  # never let the token reach a log through a repr
        return "FhirAuthorization(access_token='***')"

    __str__ = __repr__


class HookRequest(Lenient):
    hook: NonEmpty
    hookInstance: NonEmpty
    fhirServer: str | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
            raise ValueError("must be an absolute http(s) URL")
        return value.rstrip("/") if value else value

    @field_validator("fhirAuthorization")
    @classmethod
    def _server_with_token(cls, value: FhirAuthorization | None, info: ValidationInfo) -> FhirAuthorization | None:
        # a field validator (fhirServer is validated first), so that the error names fhirAuthorization
        if value is not None and not info.data.get("fhirServer"):
            raise ValueError("fhirServer is required when fhirAuthorization is given")
        return value


class BaseContext(Lenient):
    userId: RelativeRef
    patientId: FhirId
    encounterId: FhirId | None = None


class DraftOrders(Lenient):
    resourceType: Literal["Bundle"]
    entry: list[dict[str, Any]] = []


class PatientViewContext(BaseContext):
    pass


class OrderSignContext(BaseContext):
    draftOrders: DraftOrders


class OrderSelectContext(OrderSignContext):
    selections: Annotated[list[RelativeRef], Field(min_length=1)]


CONTEXT_MODELS: dict[str, type[BaseContext]] = {
    "patient-view": PatientViewContext,
    "order-select": OrderSelectContext,
    "order-sign": OrderSignContext,
}


# --- response ---------------------------------------------------------------


class Coding(BaseModel):
    model_config = ConfigDict(extra="forbid")
    system: str | None = None
    code: NonEmpty
    display: str | None = None


class OverrideReasonCoding(Coding):
    display: NonEmpty  # spec: MUST populate display for each override reason


class Source(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: NonEmpty
    url: str | None = None
    icon: str | None = None
    topic: Coding | None = None


class Action(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["create", "update", "delete"]
    description: NonEmpty
    resource: dict[str, Any] | None = None
    resourceId: str | None = None

    @model_validator(mode="after")
    def _target(self) -> Action:
        if self.type in ("create", "update") and not self.resource:
            raise ValueError(f"a {self.type} action needs a resource")
        if self.type == "delete" and not self.resourceId:
            raise ValueError("a delete action needs a resourceId")
        return self


class Suggestion(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: NonEmpty
    uuid: str | None = None
    isRecommended: bool | None = None
    actions: list[Action] | None = None


class Link(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: NonEmpty
    url: NonEmpty
    type: Literal["absolute", "smart"]
    appContext: str | None = None
    autolaunchable: bool | None = None


class Card(BaseModel):
    model_config = ConfigDict(extra="forbid")
    uuid: str | None = None
    summary: Annotated[str, StringConstraints(min_length=1, max_length=139)]
    detail: str | None = None
    indicator: Literal["info", "warning", "critical"]
    source: Source
    suggestions: list[Suggestion] | None = None
    selectionBehavior: Literal["at-most-one", "any"] | None = None
    overrideReasons: list[OverrideReasonCoding] | None = None
    links: list[Link] | None = None
    extension: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _selection(self) -> Card:
        if self.suggestions and not self.selectionBehavior:
            raise ValueError("selectionBehavior is required when suggestions are present")
        if not self.suggestions:
            self.selectionBehavior = None
        return self


class HookResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cards: list[Card]
    systemActions: list[Action] | None = None

    def to_json(self) -> dict[str, Any]:
        body = prune(self.model_dump(mode="json", exclude_none=True))
        body.setdefault("cards", [])
        return body


def prune(value: Any) -> Any:
    """Drop null, '', [] and {} recursively (the spec forbids them in responses)."""
    if isinstance(value, dict):
        cleaned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, "", [], {})}
    if isinstance(value, list):
        cleaned_list = [prune(v) for v in value]
        return [v for v in cleaned_list if v not in (None, "", [], {})]
    return value


# --- discovery --------------------------------------------------------------


class ServiceDescriptor(BaseModel):
    model_config = ConfigDict(extra="forbid")
    hook: Literal["patient-view", "order-select", "order-sign"]
    title: str | None = None
    description: NonEmpty
    id: NonEmpty
    prefetch: dict[str, str] | None = None
    usageRequirements: str | None = None


# --- feedback ---------------------------------------------------------------


class AcceptedSuggestion(Lenient):
    id: NonEmpty


class OverrideReason(Lenient):
    reason: Coding | None = None
    userComment: str | None = None


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class FeedbackItem(Lenient):
    card: NonEmpty
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: list[AcceptedSuggestion] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: str

    @field_validator("outcomeTimestamp")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        if not RFC3339.match(value):
            raise ValueError("must be an RFC 3339 date-time in UTC, e.g. 2021-12-11T10:05:31Z")
        datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is 'accepted'")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is only allowed when outcome is 'accepted'")
        return self


class FeedbackRequest(Lenient):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1, max_length=1000)]
