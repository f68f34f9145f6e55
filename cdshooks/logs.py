"""Structured JSON logs that cannot carry patient data or secrets.

Only whitelisted `extra` fields are written; messages are fixed strings chosen in
code. Access tokens, JWTs, patient identifiers, names and clinical values are
never passed to a log call, and the whitelist keeps a careless `extra` from
leaking one.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson
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
    "kid",
    # start-up: the configuration an operator checks (names and URLs, never a credential)
    "mode",
    "public_url",
    "trusted_issuers",
    "pinned_issuers",
    "trusted_tenants",
    "fhir_allowlist",
    "cors_origins",
    "database",
    "metrics_token",
)


THIRD_PARTY = ("urllib3", "requests", "werkzeug", "sqlalchemy", "jwt", "flask", "gevent")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            # the message template only: never its arguments, never the text of a non-string (an exception)
            "message": record.msg if isinstance(record.msg, str) else type(record.msg).__name__,
        }
        if record.name == "py.warnings":
            entry["message"] = "python warning"  # the warning's text is an argument, and arguments are never written
        for name in SAFE_FIELDS:
            if name in record.__dict__:
                entry[name] = record.__dict__[name]
        if record.exc_info and record.exc_info[0] is not None:
            entry["exception"] = record.exc_info[0].__name__
        return orjson.dumps(entry, default=str).decode()


def configure_logging(level: int = logging.INFO) -> None:
    # records carry no caller, thread or process fields (the formatter writes none), so none is looked up
    # (the logging HOWTO, "Optimization")
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    logging.captureWarnings(True)  # warnings.warn() output goes through the formatter too, as "py.warnings"
    root = logging.getLogger("cdshooks")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
    # Libraries' records go through the same whitelist: urllib3, for one, logs request URLs (which carry
    # patient ids) as arguments, and the formatter never writes arguments.
    for noisy in (*THIRD_PARTY, "py.warnings"):
        library = logging.getLogger(noisy)
        library.handlers[:] = [handler]
        library.setLevel(logging.WARNING)
        library.propagate = False


def gunicorn_logconfig() -> dict[str, object]:
    """gunicorn's `logconfig_dict`: its error log (and anything that reaches the root logger) as JSON lines.

    gunicorn's messages carry request lines and peer addresses as arguments; the
    formatter writes only their templates, as for every other library.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "cdshooks.logs.JsonFormatter"}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"level": "WARNING", "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": "INFO", "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False},
        },
    }


def route_of() -> str:
    """The matched route (e.g. /cds-services/<service_id>), never the raw path, which may carry ids."""
    if not has_request_context() or request.url_rule is None:
        return "(no route)"
    return request.url_rule.rule
