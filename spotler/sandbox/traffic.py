"""What can happen to an API request before Spotler handles it: rate limits, bursts of 429,
added latency, injected 5xx and hangs (spotler-api.md §0.3, §13.1).
"""

import math
import random
import threading
import time
from collections.abc import Callable

from spotler.sandbox.config import SandboxSettings
from spotler.sandbox.errors import ApiError


def too_many_requests(message: str, retry_after: int) -> ApiError:
    """429 with `Retry-After` in whole seconds and an ErrorResponse body."""
    return ApiError(429, "TOO_MANY_REQUESTS", message, headers=(("Retry-After", str(retry_after)),))


class RateLimiter:
    """A token bucket per consumer key: `rate` requests per second, bursts of up to `rate`.

    A bucket (not a sliding window) so that a client limiter that spaces its calls evenly, or
    a token bucket of the same rate, is never refused.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def admit(self, consumer_key: str, rate: float) -> float | None:
        """None when the request may pass, else the seconds until it would."""
        if rate <= 0:
            return None
        capacity = max(rate, 1.0)
        with self._lock:
            moment = self._clock()
            tokens, since = self._buckets.get(consumer_key, (capacity, moment))
            tokens = min(capacity, tokens + (moment - since) * rate)
            if tokens >= 1:
                self._buckets[consumer_key] = (tokens - 1, moment)
                return None
            self._buckets[consumer_key] = (tokens, moment)
            return (1 - tokens) / rate

    def clear(self) -> None:
        with self._lock:
            self._buckets.clear()


class Traffic:
    """The per-request hazards, and the pauses that reset and shutdown cut short."""

    def __init__(self) -> None:
        self.limiter = RateLimiter()
        self._condition = threading.Condition()
        self._burst_left = 0
        self._burst_retry_after = 1
        # Fault injection is a simulation, not security: a plain PRNG is right here.
        self._random = random.Random()  # noqa: S311
        self.generation = 0
        self.stopped = False

    def start_burst(self, count: int, retry_after: int) -> None:
        with self._condition:
            self._burst_left = count
            self._burst_retry_after = retry_after

    def burst_left(self) -> int:
        return self._burst_left

    def take_burst(self) -> None:
        """Raise 429 while a burst from `/_sandbox/burst429` lasts."""
        with self._condition:
            if self._burst_left <= 0:
                return
            self._burst_left -= 1
            retry_after = self._burst_retry_after
        raise too_many_requests(
            "Too many requests (a burst of 429s set up in the sandbox)", retry_after
        )

    def check_rate(self, consumer_key: str, settings: SandboxSettings) -> None:
        wait = self.limiter.admit(consumer_key, settings.rate_limit)
        if wait is not None:
            raise too_many_requests(
                f"Rate limit of {settings.rate_limit:g} requests per second exceeded "
                f"for consumer key {consumer_key!r}",
                max(1, math.ceil(wait)),
            )

    def draw_fault(self, settings: SandboxSettings) -> str | int | None:
        """This request's fault: "hang", a 5xx status to answer with, or None for none."""
        if settings.hang_rate and self._random.random() < settings.hang_rate:
            return "hang"
        if settings.error_rate and self._random.random() < settings.error_rate:
            return self._random.choice(settings.error_statuses)
        return None

    def pause(self, seconds: float, *, generation: int) -> bool:
        """Sleep; False when a reset or shutdown cut the sleep short."""
        if seconds <= 0:
            return self.generation == generation and not self.stopped
        with self._condition:
            return not self._condition.wait_for(
                lambda: self.generation != generation or self.stopped, timeout=seconds
            )

    def reset(self) -> None:
        """Forget bursts and buckets, and end every pause in progress."""
        with self._condition:
            self._burst_left = 0
            self.generation += 1
            self._condition.notify_all()
        self.limiter.clear()

    def stop(self) -> None:
        with self._condition:
            self.stopped = True
            self._condition.notify_all()
