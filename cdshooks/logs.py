"""Structured JSON logs that cannot carry patient data or secrets.

Only whitelisted `extra` fields are written; messages are fixed strings chosen in
code. Access tokens, JWTs, patient identifiers, names and clinical values are
never passed to a log call, and the whitelist keeps a careless `extra` from
leaking one.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from flask import has_request_context, request

SAFE_FIELDS = (
    "hookInstance",
    "service",
    "hook",
    "status",
    "duration_ms",
    "cards",
    "rules",
    "rule",
    "missing",
    "missingPrefetch",
    "error",
    "key",
    "reason",
    "count",
    "ignored",
    "label",
    "iss",
    "tenant",
    "jti",
    "method",
    "path",
    "stored",
    "duplicates",
)


THIRD_PARTY = ("urllib3", "requests", "werkzeug", "sqlalchemy", "jwt", "flask")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # the message template only: never its arguments, never the text of a non-string (an exception)
            "message": record.msg if isinstance(record.msg, str) else type(record.msg).__name__,
        }
        for name in SAFE_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("cdshooks")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # Libraries' records go through the same whitelist: urllib3, for one, logs request URLs (which carry
    # patient ids) as arguments, and the formatter never writes arguments.
    for noisy in THIRD_PARTY:
        library = logging.getLogger(noisy)
        library.handlers[:] = [handler]
        library.setLevel(logging.WARNING)
        library.propagate = False


def route_of() -> str:
    """The matched route (e.g. /cds-services/<service_id>), never the raw path, which may carry ids."""
    if not has_request_context() or request.url_rule is None:
        return "(no route)"
    return request.url_rule.rule
