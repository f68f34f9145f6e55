"""Reading the EHR's FHIR server with the access token it handed us.

Bounded in every direction: a total time budget per hook call, a timeout per
request, a cap on pages and on response size, one retry on a gateway error.
The token is only ever sent to the `fhirServer` of the call: pagination links
that point elsewhere are not followed.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from cdshooks.fhir_read import as_list, bundle_resources

MAX_RESPONSE_BYTES = 20 * 1024 * 1024
FHIR_JSON = "application/fhir+json, application/json;q=0.9"


class FhirError(Exception):
    """The FHIR server could not give us the data (the reason is safe to log)."""


class Incomplete(FhirError):
    """Pagination went on beyond the cap or left the server: the result is partial."""


_local = threading.local()


def _session() -> requests.Session:
    """One pooled session per thread (requests sessions are not thread-safe)."""
    session = getattr(_local, "session", None)
    if session is None:
        retry = Retry(
            total=1,
            connect=1,
            read=0,
            status=1,
            status_forcelist=(502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            backoff_factor=0.05,
            respect_retry_after_header=False,
            raise_on_status=False,
        )
        session = requests.Session()
        session.trust_env = False
        adapter = HTTPAdapter(max_retries=retry, pool_connections=4, pool_maxsize=8)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


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
        return url == self.base_url or url.startswith(self.base_url + "/")

    def get(self, url: str) -> dict[str, Any]:
        """GET a path relative to the server (or an absolute URL on it) and parse the JSON."""
        absolute = url if url.startswith(("http://", "https://")) else f"{self.base_url}/{url.lstrip('/')}"
        if not self._on_server(absolute):
            raise FhirError("refused to follow a URL outside the FHIR server")
        headers = {"Accept": FHIR_JSON}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        timeout = min(self._request_timeout, self._remaining())
        try:
            with _session().get(
                absolute,
                headers=headers,
                timeout=(min(2.0, timeout), timeout),
                stream=True,
                allow_redirects=False,
            ) as response:
                if response.status_code != 200:
                    raise FhirError(f"HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_content(64 * 1024):
                    body.extend(chunk)
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise FhirError("response too large")
                    self._remaining()
        except requests.Timeout as exc:
            raise FhirError("timeout") from exc
        except requests.RequestException as exc:
            raise FhirError(type(exc).__name__) from exc
        try:
            parsed = json.loads(body)
        except (ValueError, RecursionError) as exc:
            raise FhirError("malformed JSON") from exc
        if not isinstance(parsed, dict) or not isinstance(parsed.get("resourceType"), str):
            raise FhirError("not a FHIR resource")
        if parsed["resourceType"] == "OperationOutcome":
            raise FhirError("OperationOutcome")
        return parsed

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
