"""Rate limits of the public pages, per client address and per e-mail address, counted in the
shared cache by django-ratelimit (so they hold across web processes when the cache is Redis;
with the database cache the counts are close, not exact, under heavy concurrency).

A limited request is answered 429 with `Retry-After`; nothing says what was limited beyond
"too many tries", so the answer reveals nothing about an address.
"""

import hashlib
import math
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit.core import get_usage

from spotlersync.login_lockout import client_address


@dataclass(frozen=True)
class Limited:
    """A request over its limit, and the seconds until the window that counted it is over."""

    retry_after: int


def over_limit(
    request: HttpRequest, *, group: str, rate: str, value: str | None = None
) -> Limited | None:
    """Count this request against `rate` ("10/m") in `group`, for the client address (or for
    `value`, e.g. an e-mail address, kept hashed); a Limited when it is over the limit."""
    subject = value if value is not None else (client_address(request) or "unknown")
    digest = hashlib.sha256(subject.strip().lower().encode()).hexdigest()
    usage = get_usage(
        request, group=group, key=lambda _group, _request: digest, rate=rate, increment=True
    )
    if usage is None or not usage["should_limit"]:
        return None
    return Limited(retry_after=max(1, math.ceil(usage["time_left"])))


def retry_headers(limited: Limited) -> dict[str, str]:
    return {"Retry-After": str(limited.retry_after)}


def rate(name: str) -> str:
    """A rate from the settings (e.g. PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS = "10/m")."""
    return getattr(settings, name)
