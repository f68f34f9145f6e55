"""Reading a request body as JSON: size-limited (declared or chunked), depth-limited, with 4xx naming the problem."""

from __future__ import annotations

import re
from typing import Any

import orjson
from flask import current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from cdshooks.errors import ApiError, too_large
from cdshooks.settings import Settings

MAX_JSON_DEPTH = 100


_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')
_SAME_BRACKETS = bytes.maketrans(b"{}", b"[]")
_STRING = re.compile(rb'"[^"]*"')


def nesting_exceeds(raw: bytes, limit: int) -> bool:
    """Whether the arrays and objects of a JSON text nest deeper than `limit` — read off the bytes at C speed.

    Escaped backslashes and quotes are dropped, then everything but brackets and quotes; what is
    left is the bracket structure with a pair of quotes for each string, and the brackets some
    strings hold between theirs. Ordinary FHIR JSON has no bracket in any string: then every quote
    has its partner next to it, the quotes go, and the innermost pairs of brackets are removed once
    per level (ordinary FHIR nests about ten deep). Otherwise whole strings are removed first. (On
    invalid JSON the answer does not matter: parsing refuses it.)
    """
    if b"\\" in raw:  # escapes are rare in FHIR JSON: only then is the body copied to drop them
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    structure = raw.translate(_SAME_BRACKETS, _NOT_STRUCTURE)
    brackets = structure.translate(None, b'"')
    if 2 * structure.count(b'""') != len(structure) - len(brackets):
        # some quote is not in a run of even length (each run starting at an opening quote), so some
        # string holds a bracket. Dropping adjacent quotes keeps the in/out alternation of the others,
        # so the regex only sees the few strings that hold brackets.
        while b'""' in structure:
            structure = structure.replace(b'""', b"")
        brackets = _STRING.sub(b"", structure)
    for _ in range(limit):
        if not brackets:
            return False
        inner = brackets.replace(b"[]", b"")
        if len(inner) == len(brackets):
            return False  # not balanced: not JSON, the parser says so
        brackets = inner
    return bool(brackets)


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
    later steps never recurse without bound. orjson parses: the body is the biggest cost of a call.
    """
    mimetype = request.mimetype or ""
    if mimetype != "application/json" and not mimetype.endswith("+json"):
        raise ApiError(415, "unsupported-media-type", "send the body as application/json", field="Content-Type")
    settings: Settings = current_app.config["CDSHOOKS_SETTINGS"]
    raw = read_body(limit or settings.max_request_bytes)
    if nesting_exceeds(raw, MAX_JSON_DEPTH):
        raise ApiError(400, "invalid-json", f"the JSON body nests deeper than {MAX_JSON_DEPTH} levels", field="(body)")
    try:
        return orjson.loads(raw)  # strict JSON: NaN, Infinity, invalid UTF-8 and lone surrogates are refused
    except orjson.JSONDecodeError:
        raise ApiError(400, "invalid-json", "the body is not valid JSON", field="(body)") from None
