"""Reading the EHR's FHIR server with the access token it handed us.

Bounded in every direction: a total time budget per hook call (a request never
outlives it: connect and read timeouts are cut to what is left, and a watchdog
shuts the socket of a body still trickling in at the deadline), a timeout per
request, a cap on pages and on response size, one retry on a gateway error or a
refused connection, only if the budget allows.
The token is only ever sent to the `fhirServer` of the call: redirects are not
followed, and pagination links that point elsewhere (another scheme, host, port,
a path outside the server's base, or `..` segments) are refused.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.cookiejar import DefaultCookiePolicy
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from cdshooks.bounded_get import GetFailed, bounded_get
from cdshooks.fhir_read import as_list, bundle_resources

MAX_RESPONSE_BYTES = 20 * 1024 * 1024
FHIR_JSON = "application/fhir+json, application/json;q=0.9"
MAX_CONNECT_TIMEOUT = 2.0
RETRY_PAUSE = 0.05


class FhirError(Exception):
    """The FHIR server could not give us the data (the reason is safe to log)."""


class Incomplete(FhirError):
    """Pagination went on beyond the cap or left the server: the result is partial."""


class Retryable(FhirError):
    """A gateway error or a refused connection: one retry may help."""


IDLE_SESSIONS = 16  # sessions kept for reuse; more may be open at once, the rest are closed after use


def _new_session() -> requests.Session:
    session = requests.Session()
    session.trust_env = False  # no proxies, .netrc credentials or CA bundles from the environment
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))  # nothing carried from call to call
    adapter = HTTPAdapter(max_retries=0, pool_connections=4, pool_maxsize=8)  # retries: see FhirClient.get
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class SessionPool:
    """Sessions shared by all calls of the process, one request at a time each (a requests Session is
    not safe to share between threads): a call's searches reuse the kept-alive connections of earlier
    calls to the same FHIR server instead of opening new ones."""

    def __init__(self, keep: int = IDLE_SESSIONS) -> None:
        self._idle: list[requests.Session] = []
        self._keep = keep
        self._lock = threading.Lock()

    @contextmanager
    def session(self) -> Iterator[requests.Session]:
        with self._lock:
            session = self._idle.pop() if self._idle else None
        session = session or _new_session()
        healthy = False
        try:
            yield session
            healthy = True
        finally:
            with self._lock:
                kept = healthy and len(self._idle) < self._keep
                if kept:
                    self._idle.append(session)
            if not kept:
                session.close()  # after a failure its connections may be half-read or cut


SESSIONS = SessionPool()


def _origin(url: str) -> tuple[str, str, int | None] | None:
    try:
        parts = urlsplit(url)
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or not parts.hostname:
        return None
    return parts.scheme.lower(), parts.hostname.lower(), port


def has_dot_segments(path: str) -> bool:
    """`.` or `..` path segments, also percent-encoded, or a backslash (read as `/` by some servers)."""
    decoded = unquote(path)
    return "\\" in decoded or any(segment in (".", "..") for segment in decoded.split("/"))


class FhirClient:
    def __init__(
        self,
        base_url: str,
        access_token: str | None,
        *,
        budget_seconds: float,
        request_timeout: float,
        max_pages: int,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._base_origin = _origin(self.base_url)
        self._base_path = urlsplit(self.base_url).path.rstrip("/")
        self._token = access_token
        self._deadline = time.monotonic() + budget_seconds
        self._request_timeout = request_timeout
        self.max_pages = max_pages

    def __repr__(self) -> str:
        return "FhirClient(<server>, token=***)"

    def _remaining(self) -> float:
        remaining = self._deadline - time.monotonic()
        if remaining <= 0.05:
            raise FhirError("time budget exhausted")
        return remaining

    def _on_server(self, url: str) -> bool:
        """Whether `url` is on the call's FHIR server: same scheme, host and port, under its base path."""
        origin = _origin(url)
        if origin is None or origin != self._base_origin:
            return False
        path = urlsplit(url).path
        if has_dot_segments(path):
            return False
        return path == self._base_path or path.startswith(self._base_path + "/")

    def get(self, url: str) -> dict[str, Any]:
        """GET a path relative to the server (or an absolute URL on it) and parse the JSON."""
        absolute = url if url.startswith(("http://", "https://")) else f"{self.base_url}/{url.lstrip('/')}"
        if not self._on_server(absolute):
            raise FhirError("refused to follow a URL outside the FHIR server")
        headers = {"Accept": FHIR_JSON}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        try:
            body = self._fetch(absolute, headers)
        except Retryable:
            if self._deadline - time.monotonic() < 0.5:
                raise
            time.sleep(RETRY_PAUSE)
            body = self._fetch(absolute, headers)
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise FhirError("malformed JSON") from exc
        if not isinstance(parsed, dict) or not isinstance(parsed.get("resourceType"), str):
            raise FhirError("not a FHIR resource")
        if parsed["resourceType"] == "OperationOutcome":
            raise FhirError("OperationOutcome")
        return parsed

    def _fetch(self, absolute: str, headers: dict[str, str]) -> bytes:
        """One GET within the remaining budget: the body, or FhirError (Retryable where a retry may help)."""
        self._remaining()
        try:
            with SESSIONS.session() as session:
                return bounded_get(
                    session,
                    absolute,
                    headers,
                    deadline=self._deadline,
                    connect_timeout=MAX_CONNECT_TIMEOUT,
                    read_timeout=self._request_timeout,
                    max_bytes=MAX_RESPONSE_BYTES,
                )
        except GetFailed as exc:
            raise (Retryable if exc.retryable else FhirError)(exc.reason) from exc

    def search(self, query: str) -> list[dict[str, Any]]:
        """All resources of a search, following `next` links up to the page cap."""
        return self.follow(self.get(query), pages_done=1)

    def follow(self, bundle: dict[str, Any], pages_done: int = 0) -> list[dict[str, Any]]:
        """The resources of a (possibly paginated) Bundle, fetching further pages from the server."""
        if bundle.get("resourceType") != "Bundle":
            return [bundle]
        resources = list(bundle_resources(bundle))
        pages = pages_done
        seen: set[str] = set()
        while True:
            next_url = next_link(bundle)
            if not next_url:
                return resources
            next_url = urljoin(self.base_url + "/", next_url)
            if next_url in seen or pages >= self.max_pages:
                raise Incomplete("pagination beyond the page cap")
            seen.add(next_url)
            bundle = self.get(next_url)
            pages += 1
            resources.extend(bundle_resources(bundle))


def next_link(bundle: dict[str, Any]) -> str | None:
    for link in as_list(bundle.get("link")):
        if isinstance(link, dict) and link.get("relation") == "next" and isinstance(link.get("url"), str):
            return link["url"]
    return None
