"""The service's contract as OpenAPI 3.1, at `/openapi.json`, generated from the pydantic models the
service itself validates and answers with — so it cannot drift from what the endpoints do.

Each CDS service has its own path, with the request schema of its hook (its context model) and the
prefetch keys it asks for. Error answers share one schema: `error` (a short code), `message`, and
`field`, `problems` or `missingPrefetch` where they apply. A client generator or a contract test
(tests/test_openapi.py runs schemathesis against it) needs nothing else.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import models_json_schema

from cdshooks import __version__
from cdshooks.protocol import (
    CONTEXT_MODELS,
    FeedbackRequest,
    FhirAuthorization,
    HookResponse,
    ServiceDescriptor,
)
from cdshooks.services import CdsService, all_services

REF = "#/components/schemas/{model}"
# a CDS Client's JWT in production mode; none in sandbox mode
SECURITY: list[dict[str, list[str]]] = [{"cdsClientJwt": []}, {}]


class Discovery(BaseModel):
    services: list[ServiceDescriptor]


class Problem(BaseModel):
    field: str
    problem: str


class ErrorBody(BaseModel):
    """Every 4xx and 5xx answer of the service."""

    model_config = ConfigDict(extra="allow")
    error: str = Field(description="a short code: invalid-request, unauthorized, unknown-card, …")
    message: str = Field(description="what is wrong, in a sentence")
    field: str | None = Field(None, description="the offending field, when there is one")
    problems: list[Problem] | None = Field(None, description="every offending field, for a body that fails validation")
    missingPrefetch: list[str] | None = Field(None, description="412: the prefetch keys that could not be obtained")


class FeedbackStored(BaseModel):
    stored: int = Field(ge=0)
    duplicates: int = Field(ge=0)


class Health(BaseModel):
    status: str
    reason: str | None = None


def _request_model(service: CdsService) -> type[BaseModel]:
    """The hook request as this service takes it: its hook, its context, its prefetch keys."""
    prefetch_fields: dict[str, Any] = {
        key: (dict[str, Any] | None, Field(None, description=f"the result of {template}"))
        for key, template in (service.descriptor().prefetch or {}).items()
    }
    prefetch = create_model(
        f"Prefetch_{_name(service)}",
        __config__=ConfigDict(extra="allow"),
        **prefetch_fields,
    )
    return create_model(
        f"HookRequest_{_name(service)}",
        __config__=ConfigDict(extra="allow"),
        hook=(Literal[service.hook], ...),  # type: ignore[valid-type]
        hookInstance=(str, Field(min_length=1, description="a UUID for this hook invocation")),
        fhirServer=(str | None, Field(None, description="base URL of the EHR's FHIR server (https)")),
        fhirAuthorization=(FhirAuthorization | None, None),
        context=(CONTEXT_MODELS[service.hook], ...),
        prefetch=(prefetch | None, None),
    )


def _name(service: CdsService) -> str:
    return service.id.replace("-", "_")


def _json(schema_ref: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema_ref}}


def _answer(description: str, model: str) -> dict[str, Any]:
    return {"description": description, "content": _json({"$ref": REF.format(model=model)})}


def _errors(*statuses: int) -> dict[str, Any]:
    described = {
        400: "the body is not valid JSON or does not follow CDS Hooks 2.0",
        401: "no valid token (production mode)",
        404: "no such CDS service",
        412: "required FHIR data could not be obtained",
        413: "the body is too large",
        415: "the body is not JSON",
        422: "feedback for a card this service did not issue to this client",
        429: "the client's feedback quota is used up (see Retry-After)",
        503: "the service is not ready or its database is unavailable (see Retry-After)",
    }
    return {str(s): _answer(described[s], "ErrorBody") for s in statuses}


@cache
def document() -> dict[str, Any]:
    services = list(all_services().values())
    requests = {service.id: _request_model(service) for service in services}
    models: list[type[BaseModel]] = [
        Discovery, ErrorBody, HookResponse, FeedbackRequest, FeedbackStored, Health, *requests.values()
    ]  # fmt: skip
    _, definitions = models_json_schema(
        [
            (model, "validation" if model in (FeedbackRequest, *requests.values()) else "serialization")
            for model in models
        ],
        ref_template=REF,
    )
    paths: dict[str, Any] = {
        "/cds-services": {
            "get": {
                "operationId": "discovery",
                "security": SECURITY,
                "summary": "CDS Hooks discovery: the services, their hooks and prefetch templates",
                "responses": {
                    "200": _answer("the services", "Discovery"),
                    **_errors(401, 503),
                },
            }
        },
        "/livez": {"get": _probe("livez", "the process answers")},
        "/readyz": {"get": _probe("readyz", "the database answers and its schema is at the head", ready=True)},
    }
    for service in services:
        request_ref = {"$ref": REF.format(model=requests[service.id].__name__)}
        paths[f"/cds-services/{service.id}"] = {
            "post": {
                "operationId": f"call_{_name(service)}",
                "security": SECURITY,
                "summary": f"{service.hook}: {service.descriptor().title}",
                "requestBody": {"required": True, "content": _json(request_ref)},
                "responses": {
                    "200": _answer("the cards", "HookResponse"),
                    **_errors(400, 401, 404, 412, 413, 415, 503),
                },
            }
        }
        paths[f"/cds-services/{service.id}/feedback"] = {
            "post": {
                "operationId": f"feedback_{_name(service)}",
                "security": SECURITY,
                "summary": "feedback on cards this service issued",
                "requestBody": {"required": True, "content": _json({"$ref": REF.format(model="FeedbackRequest")})},
                "responses": {
                    "200": {
                        "description": "stored, or recognised as duplicates",
                        "content": _json({"$ref": REF.format(model="FeedbackStored")}),
                    },
                    **_errors(400, 401, 404, 413, 415, 422, 429, 503),
                },
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "cdshooks",
            "version": __version__,
            "description": "CDS Hooks 2.0 services: guideline cards for metastatic skin cancer, skin metastases and "
            "transplant immunosuppression. In production mode every /cds-services call needs "
            "`Authorization: Bearer <JWT>` signed by a trusted CDS Client.",
        },
        "paths": paths,
        "components": {
            "schemas": definitions.get("$defs", {}),
            "securitySchemes": {"cdsClientJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _probe(name: str, what: str, *, ready: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": _answer(what, "Health")}
    if ready:
        responses["503"] = {
            **_answer("not ready, with the reason", "Health"),
        }
    return {"operationId": name, "summary": what, "responses": responses}
