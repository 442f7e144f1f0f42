"""How one call reaches Spotler: signing, headers, timeouts, retries, and reading the answer.

OAuth 1.0a two-legged HMAC-SHA1 (consumer key and secret, no token) with the credentials in
the `Authorization` header and the query parameters signed (spotler-api.md §2.2);
`Accept: application/json`, and `Content-Type: application/json` only with a body (§2.3);
an explicit (connect, read) timeout on every request.
"""

import logging
import time
from collections.abc import Callable
from typing import Any

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_TYPE_AUTH_HEADER
from requests_oauthlib import OAuth1

from spotler.errors import SpotlerError, error_from_exception, error_from_response
from spotler.parsing import UnexpectedShape
from spotler.retry import RetryEvent, RetryPolicy, build_retrying, parse_retry_after

logger = logging.getLogger("spotler.client")

DEFAULT_TIMEOUT = (5.0, 30.0)  # seconds: (connect, read)
USER_AGENT = "spotlersync"


class Transport:
    """Sends calls to one base URL with one credential; keeps a `requests.Session` open."""

    def __init__(
        self,
        *,
        base_url: str,
        consumer_key: str,
        consumer_secret: str,
        timeout: tuple[float, float] = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        on_retry: Callable[[RetryEvent], None] | None = None,
        throttle: Callable[[], None] | None = None,
    ) -> None:
        if not base_url:
            raise ValueError("a Spotler base URL is needed")
        self.base_url = base_url.rstrip("/")
        self.consumer_key = consumer_key
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self.throttle = throttle
        self.session = requests.Session()
        # The secret lives only in this signer, whose own repr masks it.
        self.session.auth = OAuth1(
            consumer_key,
            client_secret=consumer_secret,
            signature_method=SIGNATURE_HMAC_SHA1,
            signature_type=SIGNATURE_TYPE_AUTH_HEADER,
        )
        self.session.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})

    def __repr__(self) -> str:
        return f"Transport(base_url={self.base_url!r}, consumer_key={self.consumer_key!r})"

    def call(self, method: str, path: str, *, params: dict | None = None, body: Any = None) -> Any:
        """Send one call, retrying transient failures; its JSON answer, None when empty.

        Raises SpotlerError, whose `attempts` says how many times the call was sent.
        """
        operation = f"{method} {path}"
        attempts = 0
        try:
            for attempt in build_retrying(self.retry, operation=operation, on_retry=self.on_retry):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    response = self._send(method, path, params, body, operation)
        except SpotlerError as error:
            error.attempts = attempts
            raise
        return _json_body(response, operation)

    def prepare_request(
        self, method: str, path: str, *, params: dict | None = None, body: Any = None
    ) -> requests.PreparedRequest:
        """The signed request `call` would send, unsent."""
        request = requests.Request(method, self._url(path), params=params, json=body)
        return self.session.prepare_request(request)

    def close(self) -> None:
        self.session.close()

    def _url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def _send(
        self, method: str, path: str, params: dict | None, body: Any, operation: str
    ) -> requests.Response:
        if self.throttle is not None:
            self.throttle()
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                self._url(path),
                params=params,
                json=body,
                timeout=self.timeout,
                # A redirect means a wrong base URL; following it could drop the signature.
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            logger.debug("Spotler %s: no answer (%s)", operation, exc.__class__.__name__)
            raise error_from_exception(exc, operation=operation, timeout=self.timeout) from exc
        elapsed_ms = (time.monotonic() - started) * 1000
        logger.debug("Spotler %s: %s in %.0f ms", operation, response.status_code, elapsed_ms)
        if 200 <= response.status_code < 300:
            return response
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise error_from_response(response, retry_after=retry_after)


def read_answer(parse: Callable[[Any], Any], body: Any, operation: str) -> Any:
    """`parse(body)`, or a permanent SpotlerError when the body is not what we expect."""
    try:
        return parse(body)
    except (UnexpectedShape, KeyError, TypeError, ValueError) as exc:
        raise _unreadable(200, operation, exc) from exc


def _json_body(response: requests.Response, operation: str) -> Any:
    if not response.content or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError as exc:
        raise _unreadable(response.status_code, operation, exc) from exc


def _unreadable(status: int, operation: str, exc: Exception) -> SpotlerError:
    message = f"an answer to {operation} the client cannot read ({exc})"
    return SpotlerError(status, None, message, True)
