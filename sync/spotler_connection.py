"""The Spotler client the sync engine talks through: the settings' account, behind the shared
rate limit (sync/ratelimit.py). Pushes, pulls and backfills all get theirs here; a page or an
API call someone waits on gets `waiting_client`."""

from collections.abc import Callable

import spotler
from sync.ratelimit import RateLimiter

# (connect, read) seconds for a call someone waits on: an error is shown rather than waited out.
WAITING_TIMEOUT = (2.0, 10.0)


def spotler_client() -> spotler.SpotlerClient:
    """A client that waits for a slot of the one rate limit before each call, and tells it
    about each retry (a 429 holds every worker back)."""
    limiter = RateLimiter()
    return spotler.client_from_settings(throttle=limiter.wait, on_retry=limiter.note_retry)


def waiting_client(*, on_send: Callable[[], None] | None = None) -> spotler.SpotlerClient:
    """A client for a call a person (or an API caller) waits on: one try, short timeouts, behind
    the same rate limit. `on_send`, when given, is told each time a request leaves, after its
    slot came (to time the round trip without the wait for the slot)."""
    limiter = RateLimiter()

    def throttle() -> None:
        limiter.wait()
        if on_send is not None:
            on_send()

    return spotler.client_from_settings(
        retry=spotler.RetryPolicy(max_retries=0), throttle=throttle, timeout=WAITING_TIMEOUT
    )
