"""The logs of full runs (successes, FHIR failures, bad input, refused tokens, a crash) carry one structured
line per hook call and never an access token, JWT, patient identifier, name or clinical value."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cdshooks.logs import THIRD_PARTY, JsonFormatter, configure_logging
from tests.fhir_stub import StubFhirServer
from tests.security.full_run import FAMILY, GIVEN, PATIENT_ID, full_run


class Capture(logging.Handler):
    """Keeps the raw records and the JSON lines the service's formatter writes for them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.stream = io.StringIO()
        self.formatter_ = JsonFormatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.stream.write(self.formatter_.format(record) + "\n")

    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stream.getvalue().splitlines()]


@pytest.fixture
def capture() -> Iterator[Capture]:
    handler = Capture()
    loggers = [logging.getLogger(name) for name in ("cdshooks", "", *THIRD_PARTY)]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    yield handler
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)


def test_full_runs_log_no_secrets_and_no_patient_data(
    tmp_path: Path, jwks_server: Any, servers: tuple[StubFhirServer, StubFhirServer], capture: Capture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    def listen(app: Any) -> None:
        for name in ("cdshooks", *THIRD_PARTY):
            logging.getLogger(name).addHandler(capture)  # configure_logging reset the handlers

    run = full_run(tmp_path, jwks_server, servers, monkeypatch, before_calls=listen)
    statuses, secrets = run.statuses, run.secrets
    # what must never appear, in the written lines or anywhere in the records handed to logging
    written = capture.stream.getvalue()
    raw = "\n".join(f"{r.getMessage()} {r.__dict__!r}" for r in capture.records)
    for secret in secrets:
        assert secret not in written, secret
        assert secret not in raw, secret

    # and what must: one structured line per hook call
    calls = [line for line in capture.lines() if line["message"] == "hook call"]
    # every call but the refused ones, plus the replayed token's first use
    assert len(calls) == len([s for s in statuses if s != 401]) + 1
    for line in calls:
        assert {"hookInstance", "service", "status", "duration_ms", "cards", "rules"} <= set(line)
    assert calls[0]["status"] == 200 and calls[0]["rules"] == ["T1"] and calls[0]["cards"] == 1
    assert calls[0]["iss"] == "https://ehr.example.org"
    assert any(line["hookInstance"].startswith("sha256:") for line in calls if line["hookInstance"])
    refusals = [line for line in capture.lines() if line["message"] == "authentication failed"]
    assert len(refusals) == 6 and all(line["reason"] for line in refusals)


def test_library_records_are_written_without_their_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    """urllib3 logs URLs (with patient ids) as arguments; the service's formatter never writes arguments."""
    configure_logging()
    url = f"https://ehr.example.org/fhir/Condition?patient={PATIENT_ID}"
    logging.getLogger("urllib3.connectionpool").warning("Failed to parse headers (url=%s): %s", url, "x")
    logging.getLogger("cdshooks").error(ValueError(f"{GIVEN} {FAMILY}"))  # type: ignore[arg-type]
    written = capsys.readouterr().err
    lines = [json.loads(line) for line in written.splitlines()]
    assert [line["message"] for line in lines] == ["Failed to parse headers (url=%s): %s", "ValueError"]
    assert PATIENT_ID not in written and GIVEN not in written
