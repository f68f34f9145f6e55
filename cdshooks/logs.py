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


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage() if not record.args else record.msg,
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
    for noisy in ("urllib3", "werkzeug"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
