"""OpenTelemetry spans for a CDS request and the steps of a hook call: auth, fetch, record, rules, render.

Optional and off by default: the `otel` extra installs the SDK and the OTLP exporter, and
`cdshooks serve` exports spans only when OTEL_EXPORTER_OTLP_ENDPOINT is set (the exporter reads
the other standard OTEL_* variables itself). Without the extra, `span` is a no-op context; with
the API but no exporter configured, spans are non-recording.

No patient data in any span: names are fixed, attributes come from a closed set (service ids,
hook names, the route's pattern, HTTP status codes, counts, rule ids, kinds of failure), and an
exception is recorded by its class name only — never its message, which may quote the data
(tests/test_telemetry.py checks full runs with an in-memory exporter).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from flask import Flask, Response, g, request

try:
    from opentelemetry import trace
    from opentelemetry.trace import ProxyTracerProvider, Status, StatusCode
except ImportError:  # the `otel` extra is not installed
    trace = None  # type: ignore[assignment]


_enabled = False  # set by `enable`: until then every span would be a non-recording one, so none is made


def _recording() -> bool:
    return _enabled


def enable(provider: Any) -> None:
    """Send spans to `provider` (an SDK TracerProvider): `configure` does, from the environment; tests do, with
    an in-memory exporter. OpenTelemetry allows one provider per process."""
    global _enabled
    assert trace is not None, "OpenTelemetry is not installed"
    if isinstance(trace.get_tracer_provider(), ProxyTracerProvider):
        trace.set_tracer_provider(provider)
    _enabled = True


log = logging.getLogger("cdshooks")

ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACER = "cdshooks"
Attribute = str | int | float | bool | tuple[str, ...]


class _Unrecorded:
    """What `span` yields without OpenTelemetry: attributes set on it go nowhere."""

    def set_attribute(self, key: str, value: Attribute) -> None:
        return None


_UNRECORDED = _Unrecorded()


class _NoSpan:
    """The context `span` gives while nothing records spans: entering and leaving it costs next to nothing."""

    def __enter__(self) -> _Unrecorded:
        return _UNRECORDED

    def __exit__(self, *exc: object) -> None:
        return None


_NO_SPAN = _NoSpan()


def span(name: str, **attributes: Attribute) -> AbstractContextManager[Any]:
    """A span named `name` (a child of the current one), with `attributes`; an exception marks it as an
    error under its class name and goes on."""
    if not _recording():
        return _NO_SPAN
    return _span(name, attributes)


@contextmanager
def _span(name: str, attributes: dict[str, Attribute]) -> Iterator[Any]:
    tracer = trace.get_tracer(TRACER)
    with tracer.start_as_current_span(
        name, attributes=attributes, record_exception=False, set_status_on_exception=False
    ) as current:
        try:
            yield current
        except BaseException as exc:
            current.set_status(Status(StatusCode.ERROR, type(exc).__name__))
            current.set_attribute("error.type", type(exc).__name__)
            raise


def start(name: str, **attributes: Attribute) -> tuple[Any, Any] | None:
    """A span begun here and ended by `finish` (for Flask's before/teardown request hooks); None without
    OpenTelemetry."""
    if not _recording():
        return None
    from opentelemetry import context

    current = trace.get_tracer(TRACER).start_span(name, attributes=attributes, record_exception=False)
    token = context.attach(trace.set_span_in_context(current))
    return current, token


def finish(started: tuple[Any, Any] | None, status: int | None, error: BaseException | None) -> None:
    if started is None:
        return
    from opentelemetry import context

    current, token = started
    if status is not None:
        current.set_attribute("http.response.status_code", status)
    if error is not None:
        current.set_attribute("error.type", type(error).__name__)
    if error is not None or (status is not None and status >= 500):
        current.set_status(Status(StatusCode.ERROR, type(error).__name__ if error else str(status)))
    current.end()
    context.detach(token)


def configure() -> bool:
    """In each worker: export spans over OTLP when OTEL_EXPORTER_OTLP_ENDPOINT is set; whether it does."""
    if not os.environ.get(ENDPOINT_ENV):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.error(f"{ENDPOINT_ENV} is set but tracing is not installed: pip install 'cdshooks[otel]'")
        return False
    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "cdshooks")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    enable(provider)
    return True


METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"})
CDS_PATH = "/cds-services"


class RequestSpans:
    """A span around every request to a CDS endpoint, the parent of the auth span and the hook call's
    steps. Registered before readiness and authentication, so that it holds them."""

    def init_app(self, app: Flask) -> None:
        app.before_request(self._begin)
        app.after_request(self._status)
        app.teardown_request(self._end)

    def _begin(self) -> None:
        if not _recording() or not request.path.startswith(CDS_PATH):
            return
        method = request.method if request.method in METHODS else "_OTHER"  # the client's text, bounded
        route = request.url_rule.rule if request.url_rule is not None else "unmatched"
        g.cdshooks_span = start("cdshooks.request", **{"http.request.method": method, "http.route": route})

    def _status(self, response: Response) -> Response:
        if _recording():
            g.cdshooks_status = response.status_code
        return response

    def _end(self, error: BaseException | None) -> None:
        if _recording():
            finish(g.pop("cdshooks_span", None), g.pop("cdshooks_status", None), error)
