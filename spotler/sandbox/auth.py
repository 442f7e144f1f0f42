"""OAuth 1.0a two-legged HMAC-SHA1 checks, done by oauthlib's server-side functions.

Spotler signs with the consumer key and secret only; query parameters are part of the
signature, a JSON body is not (spotler-api.md §2.2). The signature is recomputed with
oauthlib (an implementation independent of our client's signing), so a client bug in
signing shows here as a 401 that says which check failed.
"""

import heapq
import threading
import time
from collections.abc import Callable

from oauthlib.common import Request as OAuthRequest
from oauthlib.oauth1.rfc5849 import signature

from spotler.sandbox.errors import not_authorized

# How far oauth_timestamp may be from the sandbox's clock, either way (OAuth servers commonly
# allow five minutes; Spotler does not document its value).
TIMESTAMP_WINDOW_SECONDS = 300
REQUIRED = (
    "oauth_consumer_key",
    "oauth_signature_method",
    "oauth_timestamp",
    "oauth_nonce",
    "oauth_signature",
)


class NonceMemory:
    """The nonces each consumer key used, kept only while their timestamp is acceptable.

    A replay must carry the original timestamp (it is signed), so a nonce can be forgotten
    once that timestamp is too old: memory stays bounded by the traffic of the window.
    """

    def __init__(self, window: float) -> None:
        self._window = window
        self._lock = threading.Lock()
        self._seen: set[tuple[str, str]] = set()
        self._expiries: list[tuple[float, str, str]] = []

    def __len__(self) -> int:
        return len(self._seen)

    def first_use(self, consumer_key: str, nonce: str, timestamp: float, now: float) -> bool:
        """Remember the nonce; False when this key already used it within the window."""
        with self._lock:
            while self._expiries and self._expiries[0][0] < now:
                _, key, old_nonce = heapq.heappop(self._expiries)
                self._seen.discard((key, old_nonce))
            if (consumer_key, nonce) in self._seen:
                return False
            self._seen.add((consumer_key, nonce))
            heapq.heappush(self._expiries, (timestamp + self._window, consumer_key, nonce))
            return True

    def clear(self) -> None:
        with self._lock:
            self._seen.clear()
            self._expiries.clear()


class SignatureChecker:
    """Checks one request's OAuth signature; `verify` returns the consumer key or raises 401."""

    def __init__(
        self,
        secret_for: Callable[[str], str | None],
        *,
        window: float = TIMESTAMP_WINDOW_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secret_for = secret_for
        self._window = window
        self._clock = clock
        self.nonces = NonceMemory(window)

    def verify(self, *, method: str, uri: str, query: str, authorization: str | None) -> str:
        """`uri` is the request's absolute URI as the client addressed it (raw path)."""
        params = _collect(query, authorization)
        oauth = _oauth_parameters(params)
        consumer_key = oauth["oauth_consumer_key"]
        secret = self._secret_for(consumer_key)
        if secret is None:
            raise not_authorized(f"Unknown consumer key {consumer_key!r}")
        timestamp = self._check_timestamp(oauth["oauth_timestamp"])
        request = OAuthRequest(uri, http_method=method)
        request.params = [(k, v) for k, v in params if k != "oauth_signature"]
        request.signature = oauth["oauth_signature"]
        if not signature.verify_hmac_sha1(request, client_secret=secret):
            raise not_authorized(
                "Invalid signature: the request was not signed with this consumer key's "
                "secret, or was changed after signing (method, URL or query parameters)"
            )
        if not self.nonces.first_use(consumer_key, oauth["oauth_nonce"], timestamp, self._clock()):
            raise not_authorized("Nonce already used: this request was sent before (a replay)")
        return consumer_key

    def _check_timestamp(self, value: str) -> float:
        if not value.isdigit():
            raise not_authorized(f"Invalid oauth_timestamp {value!r}: expected whole seconds")
        timestamp = int(value)
        skew = abs(self._clock() - timestamp)
        if skew > self._window:
            raise not_authorized(
                f"Stale timestamp: oauth_timestamp is {skew:.0f} seconds away from the "
                f"server's clock (at most {self._window:.0f} allowed); check the clock"
            )
        return timestamp


def _collect(query: str, authorization: str | None) -> list[tuple[str, str]]:
    headers = {"Authorization": authorization} if authorization else None
    try:
        return signature.collect_parameters(
            uri_query=query, headers=headers, exclude_oauth_signature=False
        )
    except ValueError as exc:
        if authorization and not authorization.lower().startswith("oauth "):
            raise not_authorized("The Authorization header is not an OAuth header") from exc
        raise not_authorized(f"Could not read the OAuth parameters: {exc}") from exc


def _oauth_parameters(params: list[tuple[str, str]]) -> dict[str, str]:
    names = [name for name, _ in params if name.startswith("oauth_")]
    if not names:
        raise not_authorized(
            "No OAuth credentials: sign the request with OAuth 1.0a HMAC-SHA1 "
            "(consumer key and secret) in the Authorization header"
        )
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise not_authorized(f"OAuth parameter(s) given more than once: {', '.join(twice)}")
    oauth = {name: value for name, value in params if name.startswith("oauth_")}
    missing = [name for name in REQUIRED if not oauth.get(name)]
    if missing:
        raise not_authorized(f"Missing OAuth parameter(s): {', '.join(missing)}")
    _check_method_and_version(oauth)
    return oauth


def _check_method_and_version(oauth: dict[str, str]) -> None:
    method = oauth["oauth_signature_method"]
    if method != "HMAC-SHA1":
        raise not_authorized(f"Unsupported oauth_signature_method {method!r}: use HMAC-SHA1")
    if oauth.get("oauth_version", "1.0") != "1.0":
        raise not_authorized(f"Unsupported oauth_version {oauth['oauth_version']!r}: use 1.0")
    if oauth.get("oauth_token"):
        raise not_authorized("Two-legged OAuth: sign with the consumer key only, without a token")
