"""Megabyte-long values in every URL-like and pattern-checked field are answered 4xx, without hanging.

The old `fhirServer` pattern backtracked quadratically: `"http://" + "a" * 60000 + " "`
held a worker (and the GIL) for tens of seconds. Each request here runs in a child
process (tests/hang_guard.py) so that a hang fails the test after a coarse deadline
instead of stalling the suite.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.conftest import draft_med, hook_request, service_url
from tests.hang_guard import HangGuard
from tests.security.probe_app import post

MEGABYTE = 1_000_000
HOOK = service_url("order-select")
FEEDBACK = HOOK + "/feedback"
BASE_CALL = hook_request("order-select", "transplant-cscc", draft=draft_med("tx-cscc", "42316", "tacrolimus"))
BASE_FEEDBACK = {
    "feedback": [
        {
            "card": "9b2a4c1e-0000-4000-8000-000000000001",
            "outcome": "accepted",
            "acceptedSuggestions": [{"id": "e56e1945-20b3-4393-8503-a1a20fd73152"}],
            "overrideReason": {"reason": {"system": "http://x", "code": "c"}, "userComment": "n/a"},
            "outcomeTimestamp": "2024-05-01T10:00:00Z",
        }
    ]
}
# (path in the body, the field the 4xx must name)
CALL_FIELDS = {
    "fhirServer": "fhirServer",
    "hookInstance": "hookInstance",
    "hook": "hook",
    "context.userId": "context.userId",
    "context.patientId": "context.patientId",
    "context.encounterId": "context.encounterId",
    "context.selections.0": "context.selections.0",
    "fhirAuthorization.access_token": "fhirAuthorization.access_token",
}
FEEDBACK_FIELDS = {
    "feedback.0.card": "feedback.0.card",
    "feedback.0.acceptedSuggestions.0.id": "feedback.0.acceptedSuggestions.0.id",
    "feedback.0.overrideReason.reason.system": "feedback.0.overrideReason.reason.system",
    "feedback.0.overrideReason.reason.code": "feedback.0.overrideReason.reason.code",
    "feedback.0.overrideReason.userComment": "feedback.0.overrideReason.userComment",
    "feedback.0.outcomeTimestamp": "feedback.0.outcomeTimestamp",
}
NO_SHRINK = settings(
    max_examples=12,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # a hang must fail once, not once per shrinking step
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def guard() -> Iterator[HangGuard]:
    hang_guard = HangGuard(timeout=20.0)
    yield hang_guard
    hang_guard.close()


def _with(base: dict[str, Any], path: str, value: str) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    *parents, last = path.split(".")
    target: Any = doc
    for part in parents:
        if isinstance(target, list):
            target = target[int(part)]
        else:
            target = target.setdefault(part, {"token_type": "Bearer"} if part == "fhirAuthorization" else {})
    if isinstance(target, list):
        target[int(last)] = value
    else:
        target[last] = value
    if path.startswith("fhirAuthorization"):
        doc["fhirServer"] = "https://ehr.example.org/fhir"
    return doc


def hostile(unit: str, prefix: str, suffix: str, size: int) -> str:
    """`prefix` + `unit` repeated to about `size` characters + `suffix`: long runs are what backtracking feeds on."""
    return prefix + unit * (size // len(unit)) + suffix


def hostile_values(smallest: int, largest: int) -> st.SearchStrategy[str]:
    return st.builds(
        hostile,
        unit=st.sampled_from(["a", "/", ".", "a/", "%", "-", "1", ":", "@"])
        | st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=6),
        prefix=st.sampled_from(["", "http://", "https://", "http:///", "https://a.b/", "Patient/", "2024-05-01T"]),
        suffix=st.sampled_from(["", " ", "\n", "?", "#", "!", "/"]),
        size=st.integers(smallest, largest),
    )


def encode(doc: dict[str, Any]) -> bytes:
    """UTF-8 JSON: a megabyte of characters stays within the 5 MiB body limit (at most 4 bytes each)."""
    return json.dumps(doc, ensure_ascii=False).encode("utf-8")


def assert_4xx_naming(answer: tuple[int, Any], field: str) -> None:
    status, body = answer
    assert 400 <= status < 500, (status, body)
    named = [body.get("field")] + [p["field"] for p in body.get("problems", [])]
    assert any(f and f.startswith(field) for f in named), body


@NO_SHRINK
@example(path="fhirServer", value="http://" + "a" * 60_000 + " ")  # the reported attack
@example(path="fhirServer", value="http://" + "a" * MEGABYTE + " ")
@given(path=st.sampled_from(sorted(CALL_FIELDS)), value=hostile_values(MEGABYTE, MEGABYTE + 200_000))
def test_hook_call_fields(guard: HangGuard, path: str, value: str) -> None:
    body = encode(_with(BASE_CALL, path, value))
    assert_4xx_naming(guard.run(post, HOOK, body), CALL_FIELDS[path])


@NO_SHRINK
@given(path=st.sampled_from(sorted(FEEDBACK_FIELDS)), value=hostile_values(20_000, 60_000))
def test_feedback_fields(guard: HangGuard, path: str, value: str) -> None:
    """Past every field's cap, within the feedback body cap (256 KiB): the field is named."""
    body = encode(_with(BASE_FEEDBACK, path, value))
    assert_4xx_naming(guard.run(post, FEEDBACK, body), FEEDBACK_FIELDS[path])


@NO_SHRINK
@given(path=st.sampled_from(sorted(FEEDBACK_FIELDS)), value=hostile_values(MEGABYTE, MEGABYTE + 200_000))
def test_megabyte_feedback_fields(guard: HangGuard, path: str, value: str) -> None:
    """A megabyte anywhere in feedback is past the feedback body cap: 413, before any field is looked at."""
    status, body = guard.run(post, FEEDBACK, encode(_with(BASE_FEEDBACK, path, value)))
    assert (status, body["field"]) == (413, "(body)")


@pytest.mark.parametrize("size", [2049, 10_000, MEGABYTE])
@pytest.mark.parametrize("shape", ["http://{}", "http://{} ", "https://ehr.example.org/{}", "http://{}?x#y"])
def test_fhir_server_past_the_cap_is_400(guard: HangGuard, shape: str, size: int) -> None:
    value = shape.format("a" * size)
    assert_4xx_naming(guard.run(post, HOOK, encode(_with(BASE_CALL, "fhirServer", value))), "fhirServer")


@pytest.mark.parametrize(
    "value",
    ["http://ehr example.org/fhir", "http://ehr.example.org/\u00e9", "http://\x00/fhir", "mailto:a@b", "http:/x",
     "//ehr.example.org", "http://", "https://[::1/fhir"],
)  # fmt: skip
def test_malformed_fhir_server_is_400(guard: HangGuard, value: str) -> None:
    assert_4xx_naming(guard.run(post, HOOK, encode(_with(BASE_CALL, "fhirServer", value))), "fhirServer")
