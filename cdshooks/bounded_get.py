"""One bounded HTTP GET, shared by the FHIR client and the JWK Set fetcher.

Both fetch from servers that may be slow, hostile or broken, so both need the same
guarantees: no redirects, a status check, a size cap (declared and actual), and a
deadline that a body still trickling in cannot outlive (a watchdog shuts the socket).
"""

from __future__ import annotations

import threading
import time

import requests

GATEWAY_STATUSES = frozenset({502, 503, 504})


class GetFailed(Exception):
    """The GET gave no usable body. `reason` is safe to log (no URL, no header)."""

    def __init__(self, reason: str, *, retryable: bool = False, timed_out: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.timed_out = timed_out


def bounded_get(
    session: requests.Session,
    url: str,
    headers: dict[str, str],
    *,
    deadline: float,
    connect_timeout: float,
    read_timeout: float,
    max_bytes: int,
    chunk_bytes: int = 64 * 1024,
) -> bytes:
    """The body of a 200 answer to GET `url`, read before `deadline` (time.monotonic()).

    Raises GetFailed: `retryable` for a gateway error or a refused connection,
    `timed_out` when the deadline or a timeout cut the exchange short.
    """
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise GetFailed("time budget exhausted", timed_out=True)
    timeout = min(read_timeout, remaining)
    expired = threading.Event()
    try:
        with session.get(
            url,
            headers=headers,
            timeout=(min(connect_timeout, timeout), timeout),
            stream=True,
            allow_redirects=False,
        ) as response:
            if response.status_code != 200:
                code = response.status_code
                raise GetFailed(f"HTTP {code}", retryable=code in GATEWAY_STATUSES)
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise GetFailed("response too large")
            watchdog = threading.Timer(max(0.0, deadline - time.monotonic()), _cut, (response, expired))
            watchdog.daemon = True
            watchdog.start()
            try:
                body = bytearray()
                for chunk in response.iter_content(chunk_bytes):
                    body.extend(chunk)
                    if len(body) > max_bytes:
                        raise GetFailed("response too large")
                    if expired.is_set():
                        break
            finally:
                watchdog.cancel()
    except GetFailed:
        raise
    except requests.Timeout:
        raise GetFailed("timeout", timed_out=True) from None
    except requests.ConnectionError as exc:
        if expired.is_set():
            raise GetFailed("time budget exhausted", timed_out=True) from None
        raise GetFailed(type(exc).__name__, retryable=True) from None
    except Exception as exc:  # requests/urllib3 errors, also those raised after the watchdog cut the socket
        if expired.is_set():
            raise GetFailed("time budget exhausted", timed_out=True) from None
        raise GetFailed(type(exc).__name__) from None
    if expired.is_set():
        raise GetFailed("time budget exhausted", timed_out=True)
    return bytes(body)


def _cut(response: requests.Response, expired: threading.Event) -> None:
    """The watchdog: the deadline has passed, stop reading this body now."""
    expired.set()
    try:
        response.raw.shutdown()
    except Exception:
        response.close()
