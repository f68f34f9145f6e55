"""The JWK Set cache and fetcher: cached per URL, refreshed on unknown kid at most once per interval."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from werkzeug.wrappers import Response

from cdshooks.jwks import JwksCache, JwksError, fetch_jwks, parse_jwks
from tests.security.jwt_helpers import JwksServer, jwks, keys


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Fetcher:
    def __init__(self, document: Any) -> None:
        self.document = document
        self.calls = 0

    def __call__(self, url: str) -> Any:
        self.calls += 1
        if isinstance(self.document, Exception):
            raise self.document
        return self.document


def run_now(task: Any) -> None:
    """Background refreshes run at once, so a test sees their effect on its next line."""
    task()


def cache(fetch: Fetcher, clock: Clock, ttl: float = 600, min_refresh: float = 30) -> JwksCache:
    return JwksCache(ttl=ttl, min_refresh=min_refresh, fetch=fetch, clock=clock, spawn=run_now)


def test_keys_are_cached_per_url() -> None:
    fetch, clock = Fetcher(jwks("ES384", "RS384")), Clock()
    keys_cache = cache(fetch, clock)
    for _ in range(5):
        keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
        keys_cache.key_for("https://a/jwks", "rsa-384", "RS384")
    assert fetch.calls == 1
    keys_cache.key_for("https://b/jwks", "ec-384", "ES384")
    assert fetch.calls == 2


def test_unknown_kid_refreshes_at_most_once_per_interval() -> None:
    fetch, clock = Fetcher(jwks("ES384")), Clock()
    keys_cache = cache(fetch, clock, min_refresh=30)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    for _ in range(50):  # a flood of unknown kids costs no more fetches
        with pytest.raises(JwksError, match="unknown kid"):
            keys_cache.key_for("https://a/jwks", "new-key", "ES384")
    assert fetch.calls == 1
    clock.now += 31
    fetch.document = {"keys": [*jwks("ES384")["keys"], keys()["jku"].public_jwk(kid="new-key")]}
    assert keys_cache.key_for("https://a/jwks", "new-key", "ES384")  # key rotation picked up
    assert fetch.calls == 2


def test_cache_expires_after_ttl() -> None:
    fetch, clock = Fetcher(jwks("ES384")), Clock()
    keys_cache = cache(fetch, clock, ttl=600)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    clock.now += 601
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    assert fetch.calls == 2


def test_failed_refresh_keeps_the_keys_and_is_not_retried_at_once() -> None:
    fetch, clock = Fetcher(jwks("ES384")), Clock()
    keys_cache = cache(fetch, clock, ttl=60, min_refresh=30)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    fetch.document = JwksError("JWKS fetch failed (ConnectionError)")
    clock.now += 61
    assert keys_cache.key_for("https://a/jwks", "ec-384", "ES384")  # stale keys still serve
    assert keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    assert fetch.calls == 2


def test_unreachable_jwks_names_the_reason() -> None:
    fetch, clock = Fetcher(JwksError("JWKS fetch failed (ConnectionError)")), Clock()
    keys_cache = cache(fetch, clock)
    with pytest.raises(JwksError, match=r"JWKS unavailable \(JWKS fetch failed"):
        keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    with pytest.raises(JwksError):
        keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    assert fetch.calls == 1
    fetch.document = RuntimeError("an injected fetcher's bug")
    clock.now += 31
    with pytest.raises(JwksError, match="RuntimeError"):
        keys_cache.key_for("https://a/jwks", "ec-384", "ES384")


@pytest.mark.parametrize(
    ("jwk_changes", "alg"),
    [
        ({"alg": "ES256"}, "ES384"),  # key declared for another algorithm
        ({"use": "enc"}, "ES384"),  # an encryption key
        ({}, "RS384"),  # RSA alg on an EC key
    ],
)
def test_key_must_fit_the_algorithm(jwk_changes: dict[str, Any], alg: str) -> None:
    fetch = Fetcher({"keys": [keys()["ES384"].public_jwk(**jwk_changes)]})
    with pytest.raises(JwksError, match="does not fit"):
        cache(fetch, Clock()).key_for("https://a/jwks", "ec-384", alg)


def test_symmetric_and_private_keys_are_ignored() -> None:
    document = {
        "keys": [
            {"kty": "oct", "kid": "shared", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "alg": "HS256"},
            {**keys()["ES384"].public_jwk(), "d": "private-part", "kid": "leaked"},
            "not a key",
            {"kty": "EC"},
        ]
    }
    assert parse_jwks(document).keys == {}
    with pytest.raises(JwksError, match="unknown kid"):
        cache(Fetcher(document), Clock()).key_for("https://a/jwks", "shared", "ES384")


def test_short_rsa_keys_are_refused() -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    weak = RSAAlgorithm.to_jwk(rsa.generate_private_key(65537, 1024).public_key(), as_dict=True)
    fetch = Fetcher({"keys": [{**weak, "kid": "weak"}]})
    with pytest.raises(JwksError, match="2048"):
        cache(fetch, Clock()).key_for("https://a/jwks", "weak", "RS384")


@pytest.mark.parametrize("document", [[], {"keys": "x"}, {"nokeys": []}, "text"])
def test_malformed_sets_are_refused(document: Any) -> None:
    with pytest.raises(JwksError):
        parse_jwks(document)


# --- fetching over HTTP ---------------------------------------------------------


@pytest.fixture
def server() -> Any:
    srv = JwksServer()
    yield srv
    srv.close()


def test_fetch_over_http(server: JwksServer) -> None:
    server.documents["/jwks.json"] = jwks("ES384")
    assert parse_jwks(fetch_jwks(server.url("/jwks.json"))).keys["ec-384"]


@pytest.mark.parametrize(
    ("document", "reason"),
    [
        (Response("gone", 404), "HTTP 404"),
        (Response("", 302, headers={"Location": "http://127.0.0.1:9/jwks.json"}), "HTTP 302"),
        (b"{not json", "not JSON"),
        (json.dumps({"keys": [], "pad": "x" * 200_000}).encode(), "too large"),
        (Response((b"x" * 1024 for _ in range(200)), 200, content_type="application/json"), "too large"),
    ],
)
def test_fetch_failures(server: JwksServer, document: Any, reason: str) -> None:
    server.documents["/jwks.json"] = document
    with pytest.raises(JwksError, match=reason):
        fetch_jwks(server.url("/jwks.json"))


def test_fetch_connection_refused() -> None:
    with pytest.raises(JwksError, match="ConnectionError"):
        fetch_jwks("http://127.0.0.1:9/jwks.json")


def test_trickling_jwks_is_cut_off(server: JwksServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    monkeypatch.setattr("cdshooks.jwks.CONNECT_TIMEOUT", 0.3)
    monkeypatch.setattr("cdshooks.jwks.READ_TIMEOUT", 0.5)

    def trickle() -> Any:
        for _ in range(100):
            yield b" "
            time.sleep(0.1)

    server.documents["/jwks.json"] = Response(trickle(), 200, content_type="application/json")
    started = time.monotonic()
    with pytest.raises(JwksError, match="too slow"):
        fetch_jwks(server.url("/jwks.json"))
    assert time.monotonic() - started < 1.5


# --- no lock held across a fetch --------------------------------------------------------


class GatedFetcher:
    """A key server that answers only when the test opens the gate (a slow or hanging JWKS endpoint)."""

    def __init__(self, document: Any) -> None:
        self.document = document
        self.gate = threading.Event()
        self.started = threading.Event()
        self.calls = 0

    def __call__(self, url: str) -> Any:
        self.calls += 1
        if self.calls > 1:  # the first fetch primes the cache; later ones hang until released
            self.started.set()
            assert self.gate.wait(30), "the test never opened the gate"
        return self.document


def in_thread(function: Any) -> tuple[threading.Thread, list[Any]]:
    results: list[Any] = []

    def run() -> None:
        try:
            results.append(function())
        except Exception as exc:
            results.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, results


def test_known_keys_verify_while_an_unknown_kid_refresh_hangs() -> None:
    """An unknown kid (no valid signature needed) makes one call wait for the key server, not everyone."""
    fetch, clock = GatedFetcher(jwks("ES384", "RS384")), Clock()
    keys_cache = cache(fetch, clock, min_refresh=30)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    clock.now += 31
    attacker, attacker_result = in_thread(lambda: keys_cache.key_for("https://a/jwks", "no-such-kid", "ES384"))
    assert fetch.started.wait(10), "the unknown kid did not trigger a refresh"
    valid, valid_result = in_thread(lambda: keys_cache.key_for("https://a/jwks", "rsa-384", "RS384"))
    valid.join(10)  # a hang guard: with the lock held across the fetch, this call would wait for the gate
    assert not valid.is_alive(), "a call with a known kid waited for the key server"
    assert attacker.is_alive()  # the refresh is still hanging: the valid call did not wait for it
    assert valid_result and not isinstance(valid_result[0], Exception)
    fetch.gate.set()
    attacker.join(10)
    assert isinstance(attacker_result[0], JwksError) and "unknown kid" in str(attacker_result[0])


def test_a_set_past_its_ttl_answers_from_the_cache_while_it_refreshes() -> None:
    fetch, clock = GatedFetcher(jwks("ES384")), Clock()
    spawned: list[Any] = []
    keys_cache = JwksCache(ttl=60, min_refresh=30, fetch=fetch, clock=clock, spawn=spawned.append)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    clock.now += 61
    assert keys_cache.key_for("https://a/jwks", "ec-384", "ES384")  # answered now, refresh handed off
    assert keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    assert len(spawned) == 1 and fetch.calls == 1  # one background refresh, not yet run
    fetch.gate.set()
    spawned[0]()
    assert fetch.calls == 2


def test_calls_waiting_on_the_same_unknown_kid_share_one_fetch() -> None:
    fetch, clock = GatedFetcher(jwks("ES384")), Clock()
    keys_cache = cache(fetch, clock, min_refresh=30)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    clock.now += 31
    fetch.document = {"keys": [*jwks("ES384")["keys"], keys()["jku"].public_jwk(kid="rotated")]}
    waiting = [in_thread(lambda: keys_cache.key_for("https://a/jwks", "rotated", "ES384")) for _ in range(4)]
    assert fetch.started.wait(10)
    fetch.gate.set()
    for thread, _ in waiting:
        thread.join(10)
    assert all(not isinstance(result[0], Exception) for _, result in waiting)
    assert fetch.calls == 2


def test_a_failing_refresh_keeps_known_keys_verifying() -> None:
    fetch, clock = Fetcher(jwks("ES384")), Clock()
    keys_cache = cache(fetch, clock, ttl=60, min_refresh=30)
    keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
    fetch.document = JwksError("JWKS fetch answered HTTP 503")
    for step in range(5):
        clock.now += 31 * step
        assert keys_cache.key_for("https://a/jwks", "ec-384", "ES384")
        with pytest.raises(JwksError, match="unknown kid"):
            keys_cache.key_for("https://a/jwks", "other", "ES384")
