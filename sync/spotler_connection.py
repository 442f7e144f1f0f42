"""The Spotler client the sync engine talks through: the settings' account, behind the shared
rate limit (sync/ratelimit.py). Pushes, pulls and backfills all get theirs here."""

import spotler
from sync.ratelimit import RateLimiter


def spotler_client() -> spotler.SpotlerClient:
    """A client that waits for a slot of the one rate limit before each call, and tells it
    about each retry (a 429 holds every worker back)."""
    limiter = RateLimiter()
    return spotler.client_from_settings(throttle=limiter.wait, on_retry=limiter.note_retry)
