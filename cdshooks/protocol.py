"""CDS Hooks 2.0 wire format: pydantic models for requests, responses and feedback.

Requests are read leniently where the spec allows (unknown fields, `extension`),
strictly where the service depends on them (ids that go into FHIR URLs).

Every string a pattern looks at has a length cap that pydantic checks first, and URLs
are checked with `urllib.parse.urlsplit` and plain comparisons, never a regular
expression: validation time grows linearly with the input, whatever its shape.
Responses are dumped without `null` and without empty strings, arrays or objects,
except the top-level `cards: []` (spec: "JSON elements SHALL NOT be null or empty").
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

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

MAX_URL_LENGTH = 2048  # fhirServer: a base URL; longer is no server anyone runs
MAX_HOOK_INSTANCE_LENGTH = 200
MAX_ACCESS_TOKEN_LENGTH = 16 * 1024
MAX_UUID_LENGTH = 100  # card and suggestion uuids in feedback (this service issues 36-character UUIDs)
MAX_ACCEPTED_SUGGESTIONS = 20
MAX_USER_COMMENT = 2000
MAX_FEEDBACK_ITEMS = 100

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


def _http_url(value: str) -> str:
    """An absolute http(s) URL with a host, in one linear pass (the length is capped before this runs)."""
    if not value.isascii() or not value.isprintable() or " " in value:
        raise ValueError("must be an absolute http(s) URL without spaces or control characters")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError("must be an absolute http(s) URL") from None
    if parts.scheme not in ("http", "https") or not parts.netloc or not value.lower().startswith(parts.scheme + "://"):
        raise ValueError("must be an absolute http(s) URL")
    return value


def capped(length: int, *, min_length: int = 0) -> Any:
    return StringConstraints(min_length=min_length, max_length=length)


FhirId = Annotated[str, capped(64), AfterValidator(_fhir_id)]
RelativeRef = Annotated[str, capped(200), AfterValidator(_relative_ref)]
NonEmpty = Annotated[str, StringConstraints(min_length=1)]
HttpUrl = Annotated[str, capped(MAX_URL_LENGTH), AfterValidator(_http_url)]


class Lenient(BaseModel):
    model_config = ConfigDict(extra="allow")


class FhirAuthorization(Lenient):
    access_token: Annotated[str, capped(MAX_ACCESS_TOKEN_LENGTH, min_length=1)]
    token_type: Annotated[str, capped(40, min_length=1)]
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
    hook: Annotated[str, capped(100, min_length=1)]
    hookInstance: Annotated[str, capped(MAX_HOOK_INSTANCE_LENGTH, min_length=1)]
    fhirServer: HttpUrl | None = None
    fhirAuthorization: FhirAuthorization | None = None
    context: dict[str, Any]
    prefetch: dict[str, Any] | None = None

    @field_validator("fhirServer")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
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


Uuid = Annotated[str, capped(MAX_UUID_LENGTH, min_length=1)]


class AcceptedSuggestion(Lenient):
    id: Uuid


class ReasonCoding(Lenient):
    """The override reason a clinician picked: one of the card's `overrideReasons`, as the client echoes it."""

    system: Annotated[str, capped(500)] | None = None
    code: Annotated[str, capped(200, min_length=1)]
    display: Annotated[str, capped(500)] | None = None


class OverrideReason(Lenient):
    reason: ReasonCoding | None = None
    userComment: Annotated[str, capped(MAX_USER_COMMENT)] | None = None


RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")


class FeedbackItem(Lenient):
    card: Uuid
    outcome: Literal["accepted", "overridden"]
    acceptedSuggestions: Annotated[list[AcceptedSuggestion], Field(max_length=MAX_ACCEPTED_SUGGESTIONS)] | None = None
    overrideReason: OverrideReason | None = None
    outcomeTimestamp: Annotated[str, capped(40)]

    @field_validator("outcomeTimestamp")
    @classmethod
    def _timestamp(cls, value: str) -> str:
        if not RFC3339.match(value):
            raise ValueError("must be an RFC 3339 date-time in UTC, e.g. 2021-12-11T10:05:31Z")
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be a real date and time, e.g. 2021-12-11T10:05:31Z") from None
        return value

    @model_validator(mode="after")
    def _accepted_needs_suggestions(self) -> FeedbackItem:
        if self.outcome == "accepted" and not self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is required when outcome is 'accepted'")
        if self.outcome == "overridden" and self.acceptedSuggestions:
            raise ValueError("acceptedSuggestions is only allowed when outcome is 'accepted'")
        return self


class FeedbackRequest(Lenient):
    feedback: Annotated[list[FeedbackItem], Field(min_length=1, max_length=MAX_FEEDBACK_ITEMS)]
