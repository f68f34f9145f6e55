"""Hostile input: size limit, depth-safe JSON, validation errors that name the field, and
property-based tests (hypothesis) over the request models and the endpoints: no input yields a 5xx."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from cdshooks.app import create_app
from cdshooks.protocol import CONTEXT_MODELS, FeedbackRequest, HookRequest
from cdshooks.request_body import nesting_exceeds
from cdshooks.settings import Settings
from tests.conftest import draft_med, hook_request, service_url
from tests.security.jwt_helpers import FEEDBACK, JwksServer, bearer, jwks, mint, production_settings

# modest by default so the suite stays fast; CDSHOOKS_FUZZ_EXAMPLES=5000 for a longer hunt
EXAMPLES = int(os.environ.get("CDSHOOKS_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)
T1_DRAFT = draft_med("tx-cscc", "42316", "tacrolimus")
# 4xx answers that are not about a field of the body
NOT_FIELD_ERRORS = {401, 404, 405, 412, 429}


def valid_requests() -> dict[str, dict[str, Any]]:
    return {
        "order-select": hook_request("order-select", "transplant-cscc", draft=T1_DRAFT),
        "order-sign": hook_request("order-sign", "transplant-cscc", draft=T1_DRAFT),
        "patient-view": hook_request("patient-view", "transplant-cscc-metastatic"),
    }


VALID = valid_requests()
VALID_FEEDBACK = {
    "feedback": [
        {
            "card": "9b2a4c1e-0000-4000-8000-000000000001",
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
            "outcomeTimestamp": "2024-05-01T10:00:00Z",
        },
        {
            "card": "9b2a4c1e-0000-4000-8000-000000000002",
            "outcome": "overridden",
            "overrideReason": {"reason": {"code": "not-relevant", "system": "http://x"}, "userComment": "n/a"},
            "outcomeTimestamp": "2024-05-01T10:00:00.5+02:00",
        },
    ]
}


def assert_answer_is_well_formed(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data()[:500])
    body = response.get_json(silent=True)
    if response.status_code >= 400:
        assert isinstance(body, dict) and body.get("error") and body.get("message"), body
        if response.status_code not in NOT_FIELD_ERRORS:
            assert "field" in body or body.get("problems"), body
            for problem in body.get("problems", []):
                assert problem["field"] and problem["problem"]


# --- fixed cases ---------------------------------------------------------------------


def test_body_beyond_the_size_limit_is_413(tmp_path: Path) -> None:
    app = create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db'}", max_request_bytes=4096))
    client = app.test_client()
    body = json.dumps({**VALID["order-select"], "padding": "x" * 5000})
    response = client.post(service_url("order-select"), data=body, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json() == {
        "error": "payload-too-large",
        "message": "the request body is larger than 4096 bytes",
        "field": "(body)",
    }
    feedback = client.post(FEEDBACK, data=body, content_type="application/json")
    assert feedback.status_code == 413


def test_streamed_body_beyond_the_size_limit_is_413(tmp_path: Path) -> None:
    """No Content-Length (chunked upload): the limit still holds while reading."""
    app = create_app(Settings(sandbox=True, database_url=f"sqlite:///{tmp_path / 'db'}", max_request_bytes=4096))
    response = app.test_client().post(
        service_url("order-select"),
        input_stream=io.BytesIO(b"[" * 10_000),
        content_type="application/json",
        environ_overrides={"wsgi.input_terminated": True},
    )
    assert response.status_code == 413


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * 100_000 + b"]" * 100_000,  # deeper than the parser's recursion limit
        b'{"a":' * 101 + b"1" + b"}" * 101,  # parses, but deeper than the service accepts
        b"{}" + b"x",
        b"\xff\xfe\x00",
        b'{"hook": NaN}',
        b'{"hook": Infinity}',
        b"1" * 5000,  # an integer too long to convert
        b"",
    ],
)
def test_malformed_json_is_400_naming_the_body(client: FlaskClient, raw: bytes) -> None:
    response = client.post(service_url("order-select"), data=raw, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json()["field"] == "(body)"


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


_TRICKY_TEXT = st.text(alphabet='[]{}"\\ab\u00e9', max_size=6)
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | _TRICKY_TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TRICKY_TEXT, inner, max_size=3),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_the_byte_level_depth_check_agrees_with_the_parsed_depth(value: Any, compact: bool) -> None:
    """Brackets, quotes and backslashes inside strings never change the depth the bytes are judged to have."""
    raw = json.dumps(value, separators=(",", ":") if compact else None, ensure_ascii=not compact).encode()
    depth = _depth(value)
    for limit in {max(depth - 1, 0), depth, depth + 1}:
        assert nesting_exceeds(raw, limit) == (depth > limit)


def test_wrong_content_type_is_415(client: FlaskClient) -> None:
    response = client.post(service_url("order-select"), data=json.dumps(VALID["order-select"]))
    assert response.status_code == 415
    assert response.get_json()["field"] == "Content-Type"


def test_reasonable_depth_is_accepted(client: FlaskClient) -> None:
    body = copy.deepcopy(VALID["order-select"])
    nested: dict[str, Any] = {"url": "http://x", "valueString": "v"}
    for _ in range(30):
        nested = {"url": "http://x", "extension": [nested]}
    body["context"]["draftOrders"]["entry"][0]["resource"]["extension"] = [nested]
    assert client.post(service_url("order-select"), json=body).status_code == 200


def _set(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(doc)
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if value is _DELETE:
        del target[last]
    else:
        target[last] = value
    return doc


_DELETE = object()


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("hookInstance", _DELETE, "hookInstance"),
        ("hookInstance", 42, "hookInstance"),
        ("hook", _DELETE, "hook"),
        ("hook", "patient-view", "hook"),
        ("context", [], "context"),
        ("context.patientId", "a/b", "context.patientId"),
        ("context.patientId", _DELETE, "context.patientId"),
        ("context.userId", "not a reference", "context.userId"),
        ("context.selections", [], "context.selections"),
        ("context.draftOrders", {"resourceType": "Patient"}, "context.draftOrders.resourceType"),
        ("fhirServer", "javascript:alert(1)", "fhirServer"),
        ("fhirServer", "https://user:pw@ehr.example.org/fhir", "fhirServer"),
        ("fhirAuthorization", {"access_token": "t", "token_type": "MAC"}, "fhirAuthorization.token_type"),
        ("fhirAuthorization", {"access_token": "t", "token_type": "Bearer"}, "fhirAuthorization"),
        ("prefetch", [], "prefetch"),
        ("prefetch.conditions", [], "prefetch.conditions"),
        ("prefetch.conditions", {"entry": []}, "prefetch.conditions"),
    ],
)
def test_validation_errors_name_the_field(client: FlaskClient, path: str, value: Any, field: str) -> None:
    response = client.post(service_url("order-select"), json=_set(VALID["order-select"], path, value))
    assert 400 <= response.status_code < 500
    body = response.get_json()
    fields = [body.get("field")] + [p["field"] for p in body.get("problems", [])]
    assert any(f and f.startswith(field) for f in fields), body


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("feedback", [], "feedback"),
        ("feedback.0.outcome", "ignored", "feedback.0.outcome"),
        ("feedback.0.outcomeTimestamp", "yesterday", "feedback.0.outcomeTimestamp"),
        ("feedback.0.acceptedSuggestions", _DELETE, "feedback.0"),
        ("feedback.1.card", "", "feedback.1.card"),
    ],
)
def test_feedback_validation_errors_name_the_field(client: FlaskClient, path: str, value: Any, field: str) -> None:
    response = client.post(FEEDBACK, json=_set(VALID_FEEDBACK, path, value))
    assert response.status_code == 400
    assert any(p["field"].startswith(field) for p in response.get_json()["problems"])


def test_valid_feedback_is_stored(client: FlaskClient) -> None:
    issued = [client.post(service_url("order-select"), json=VALID["order-select"]).get_json()["cards"][0]
              for _ in range(2)]  # fmt: skip
    body = copy.deepcopy(VALID_FEEDBACK)
    body["feedback"][0]["card"] = issued[0]["uuid"]
    body["feedback"][0]["acceptedSuggestions"] = [{"id": issued[0]["suggestions"][0]["uuid"]}]
    body["feedback"][1]["card"] = issued[1]["uuid"]
    assert client.post(FEEDBACK, json=body).get_json() == {"stored": 2, "duplicates": 0}


# --- property-based: the models -------------------------------------------------------

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(
        [
            "",
            "Bearer",
            "order-select",
            "Patient/tx-cscc",
            "tx-cscc",
            "MedicationRequest/draft-1",
            "https://ehr.example.org/fhir",
            "2024-05-01T10:00:00Z",
            "accepted",
            "overridden",
            "Bundle",
            "active",
            "http://www.nlm.nih.gov/research/umls/rxnorm",
            "42316",
        ]
    )
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=25,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated(draw: Any, base: dict[str, Any]) -> dict[str, Any]:
    """`base` with 1-3 subtrees replaced, deleted, or given an extra key."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.sampled_from(list(_paths(doc))))
        new = draw(json_values)
        if not path:
            continue
        *parents, last = path
        target: Any = doc
        for part in parents:
            target = target[part]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            target[last] = new
        elif action == "delete":
            del target[last]
        elif isinstance(target[last], dict):
            target[last][draw(st.text(max_size=12))] = new
        elif isinstance(target[last], list):
            target[last].append(new)
    return doc


@FUZZ
@given(value=json_values)
def test_models_only_raise_validation_errors(value: Any) -> None:
    for model in (HookRequest, FeedbackRequest, *CONTEXT_MODELS.values()):
        with contextlib.suppress(ValidationError):
            model.model_validate(value)


@FUZZ
@given(doc=mutated(VALID["order-select"]))
def test_hook_request_model_on_mutated_requests(doc: dict[str, Any]) -> None:
    try:
        parsed = HookRequest.model_validate(doc)
    except ValidationError:
        return
    assert "***" in repr(parsed.fhirAuthorization) or parsed.fhirAuthorization is None


# --- property-based: the endpoints, in production mode (every call carries a real JWT) ---


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FlaskClient]:
    keys = JwksServer({"/jwks.json": jwks("ES384")})
    settings_ = production_settings(
        tmp_path_factory.mktemp("fuzz"), keys, fhir_allowlist=("https://ehr.example.org/fhir",)
    )
    yield create_app(settings_).test_client()
    keys.close()


def _post(client: FlaskClient, path: str, body: Any) -> Any:
    return client.post(path, json=body, headers=bearer(mint(path)))


@FUZZ
@given(hook=st.sampled_from(sorted(VALID)), data=st.data())
def test_hook_endpoint_never_fails_on_mutated_requests(fuzz_client: FlaskClient, hook: str, data: Any) -> None:
    doc = data.draw(mutated(VALID[hook]))
    assert_answer_is_well_formed(_post(fuzz_client, service_url(hook), doc))


@FUZZ
@given(body=json_values)
def test_hook_endpoint_never_fails_on_arbitrary_json(fuzz_client: FlaskClient, body: Any) -> None:
    assert_answer_is_well_formed(_post(fuzz_client, service_url("patient-view"), body))


@settings(max_examples=max(60, EXAMPLES // 2), deadline=None)
@given(raw=st.binary(max_size=300), content_type=st.sampled_from(["application/json", "text/plain", "", "a/b+json"]))
def test_endpoints_never_fail_on_arbitrary_bytes(fuzz_client: FlaskClient, raw: bytes, content_type: str) -> None:
    for path in (service_url("order-sign"), FEEDBACK):
        response = fuzz_client.post(path, data=raw, content_type=content_type, headers=bearer(mint(path)))
        assert_answer_is_well_formed(response)


@FUZZ
@given(doc=mutated(VALID_FEEDBACK))
def test_feedback_endpoint_never_fails(fuzz_client: FlaskClient, doc: dict[str, Any]) -> None:
    assert_answer_is_well_formed(_post(fuzz_client, FEEDBACK, doc))


@settings(max_examples=max(60, EXAMPLES // 2), deadline=None)
@given(header=st.text(max_size=200) | st.builds(lambda s: "Bearer " + s, st.text(max_size=200)))
def test_arbitrary_authorization_headers_are_401(fuzz_client: FlaskClient, header: str) -> None:
    try:
        response = fuzz_client.get("/cds-services", headers={"Authorization": header})
    except ValueError:  # not a valid header value (newlines): the client library refuses to send it
        return
    assert response.status_code == 401
    assert response.get_json() == {"error": "unauthorized", "message": "invalid token"}


@settings(max_examples=max(40, EXAMPLES // 3), deadline=None)
@given(service_id=st.text(min_size=1, max_size=40).filter(lambda s: "/" not in s and "?" not in s and "#" not in s))
def test_unknown_service_ids(fuzz_client: FlaskClient, service_id: str) -> None:
    from urllib.parse import quote

    path = "/cds-services/" + quote(service_id, safe="")
    response = fuzz_client.post(path, json=VALID["order-select"], headers=bearer(mint(path)))
    assert response.status_code < 500


def test_every_field_replaced_by_an_odd_value(client: FlaskClient) -> None:
    """Each field of a valid order-select call, one at a time, replaced by values of the wrong shape."""
    base = VALID["order-select"]
    odd: list[Any] = [None, [], {}, -1, "", True, [{}], {"reference": 5}]
    for path in [p for p in _paths(base) if p]:
        for value in odd:
            doc = copy.deepcopy(base)
            target: Any = doc
            for part in path[:-1]:
                target = target[part]
            target[path[-1]] = value
            response = client.post(service_url("order-select"), json=doc)
            assert response.status_code < 500, (path, value)
            assert_answer_is_well_formed(response)
