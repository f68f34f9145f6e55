"""Errors answered to the caller as JSON bodies (never a stack trace)."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

Model = TypeVar("Model", bound=BaseModel)


class ApiError(Exception):
    """An error the caller can act on: HTTP status, a short code and a message naming the problem."""

    def __init__(self, status: int, error: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, **self.details}


def validation_problems(errors: list[dict[str, Any]], prefix: str = "") -> list[dict[str, str]]:
    """Pydantic errors as [{field, problem}], without echoing the submitted values."""
    problems = []
    for err in errors:
        path = ".".join(str(p) for p in err.get("loc", ()))
        field = f"{prefix}.{path}".strip(".") if prefix else path
        problems.append({"field": field or "(body)", "problem": str(err.get("msg", "invalid"))})
    return problems


def parse_as(model: type[Model], data: Any, *, error: str, message: str, prefix: str = "") -> Model:
    """Validate `data` as `model`, or raise a 400 naming every offending field."""
    if not isinstance(data, dict):
        field = prefix or "(body)"
        raise ApiError(400, error, f"{message}: {field} must be a JSON object", field=field)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, error, message, problems=validation_problems(exc.errors(), prefix)) from None
