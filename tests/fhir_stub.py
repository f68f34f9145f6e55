"""A real HTTP FHIR server on loopback for tests, serving a fixture bundle.

It records every request (path, query, Authorization header) and can be told to
misbehave: fail with a status, hang, send malformed JSON, or paginate forever.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from cdshooks.sandbox.store import BundleStore

Behaviour = Callable[[Request], Response | None]


@dataclass
class StubFhirServer:
    store: BundleStore
    requests: list[dict[str, Any]] = field(default_factory=list)
    behaviour: Behaviour | None = None
    page_size: int | None = None

    def __post_init__(self) -> None:
        self._server = make_server("127.0.0.1", 0, self._wsgi, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}/fhir"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(
            {
                "path": request.path,
                "query": request.query_string.decode(),
                "authorization": request.headers.get("Authorization"),
            }
        )
        response = self.behaviour(request) if self.behaviour else None
        if response is None:
            response = self._answer(request)
        return response(environ, start_response)

    def _answer(self, request: Request) -> Response:
        relative = request.full_path.removeprefix("/fhir/").rstrip("?")
        page = int(request.args.get("_page", "0"))
        try:
            found = self.store.query(relative.split("&_page=")[0])
        except ValueError:
            return Response(json.dumps(_outcome("unsupported")), 400, content_type="application/fhir+json")
        if found is None:
            return Response(json.dumps(_outcome("not found")), 404, content_type="application/fhir+json")
        if self.page_size and found.get("resourceType") == "Bundle":
            entries = found["entry"]
            start = page * self.page_size
            found = {**found, "entry": entries[start : start + self.page_size]}
            if start + self.page_size < len(entries):
                base = relative.split("&_page=")[0]
                found["link"] = [{"relation": "next", "url": f"{self.base_url}/{base}&_page={page + 1}"}]
        return Response(json.dumps(found), 200, content_type="application/fhir+json")


def _outcome(text: str) -> dict[str, Any]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "error", "code": "processing", "diagnostics": text}],
    }


def fail_with(status: int) -> Behaviour:
    return lambda request: Response(json.dumps(_outcome("failure")), status, content_type="application/fhir+json")


def hang(seconds: float) -> Behaviour:
    def behave(request: Request) -> Response | None:
        time.sleep(seconds)
        return None

    return behave


def malformed_json() -> Behaviour:
    return lambda request: Response('{"resourceType": "Bundle", "entry": [', 200, content_type="application/fhir+json")


def redirect_to(url: str) -> Behaviour:
    return lambda request: Response("", 302, headers={"Location": url})


def paginate_to(next_url: Callable[[Request], str]) -> Behaviour:
    """Every search answers one page whose `next` link is `next_url(request)`."""

    def behave(request: Request) -> Response | None:
        if "?" not in request.full_path.rstrip("?"):
            return None  # reads answer normally
        page = {
            "resourceType": "Bundle",
            "type": "searchset",
            "entry": [],
            "link": [{"relation": "next", "url": next_url(request)}],
        }
        return Response(json.dumps(page), 200, content_type="application/fhir+json")

    return behave


def endless_pages() -> Behaviour:
    """A server whose searches never end: each page links to one more."""
    return paginate_to(lambda r: f"{r.base_url}?{r.query_string.decode()}&_page={int(r.args.get('_page', 0)) + 1}")


def trickle(interval: float, chunks: int = 100) -> Behaviour:
    """Answers 200 at once, then one byte every `interval` seconds (a body that never completes in time)."""

    def body() -> Any:
        for _ in range(chunks):
            yield b" "
            time.sleep(interval)

    return lambda request: Response(body(), 200, content_type="application/fhir+json")


def oversized(size: int) -> Behaviour:
    return lambda request: Response(b" " * size + b"{}", 200, content_type="application/fhir+json")


def gzip_bomb(size: int) -> Behaviour:
    """A small gzip body that inflates to `size` bytes."""
    import gzip

    body = gzip.compress(b" " * size)
    return lambda request: Response(
        body, 200, content_type="application/fhir+json", headers={"Content-Encoding": "gzip"}
    )
