"""Reading a request body as JSON: size-limited (declared or chunked), depth-limited, with 4xx naming the problem."""

from __future__ import annotations

import json
from typing import Any

from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from cdshooks.errors import ApiError, too_large
from cdshooks.settings import Settings

MAX_JSON_DEPTH = 100


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether arrays/objects nest deeper than `limit` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def read_body(limit: int) -> bytes:
    """The request body, or 413 when it is longer than `limit` bytes — declared or, for a chunked upload, read.

    The stream is wrapped to allow one byte more than the limit (the wrapper is made on
    first read, after this is set), so a chunked body past the limit is detected and
    refused instead of being cut at it.
    """
    request.max_content_length = limit + 1
    try:
        raw = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large(limit) from None
    if len(raw) > limit:
        raise too_large(limit)
    return raw


def read_json(limit: int | None = None) -> Any:
    """The request body as JSON, or a 4xx naming what is wrong with it.

    The size limit is CDSHOOKS_MAX_REQUEST_BYTES unless the endpoint sets a smaller one
    (413); NaN/Infinity are refused, and so is nesting deeper than MAX_JSON_DEPTH, so
    later steps never recurse without bound.
    """
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "send the body as application/json", field="Content-Type")
    settings: Settings = current_app.config["CDSHOOKS_SETTINGS"]
    raw = read_body(limit or settings.max_request_bytes)
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except RecursionError:
        raise ApiError(400, "invalid-json", "the JSON body is nested too deeply", field="(body)") from None
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid-json", "the body is not valid JSON", field="(body)") from None
    if json_depth_exceeds(value, MAX_JSON_DEPTH):
        raise ApiError(400, "invalid-json", f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", field="(body)")
    return value
