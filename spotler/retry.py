"""When and how long the client waits before sending a failed call again (tenacity).

Transient failures (429, 5xx, no answer) are retried a bounded number of times with
exponential backoff and jitter; a `Retry-After` Spotler sends is honoured, up to a cap.
Permanent failures are never retried (spotler-api.md §13.1).
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_any,
    stop_before_delay,
    wait_exponential_jitter,
)

from spotler.errors import SpotlerError

logger = logging.getLogger("spotler.client")


@dataclass(frozen=True)
class RetryPolicy:
    """How many times, and how patiently, transient failures are retried.

    `max_retries` counts the calls after the first one. Waits start at `base_delay` seconds
    and double up to `max_delay`, plus up to `base_delay` of jitter. A `Retry-After` longer
    than `max_retry_after` is not waited out: the error is raised at once, carrying it, so a
    queue can put the work off instead of holding a worker. No retry starts once
    `max_elapsed` seconds have passed since the first try (a queue task has a time limit
    too). `sleep` is how waiting is done.
    """

    max_retries: int = 4
    base_delay: float = 1.0
    max_delay: float = 30.0
    max_retry_after: float = 60.0
    max_elapsed: float = 180.0
    sleep: Callable[[float], None] = time.sleep


@dataclass(frozen=True)
class RetryEvent:
    """Told to `on_retry` before each wait: which call failed, how, and the wait ahead."""

    operation: str
    attempt: int
    wait: float
    error: SpotlerError


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date."""
    if not value or not value.strip():
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def _error(state: RetryCallState) -> SpotlerError | None:
    exc = state.outcome.exception() if state.outcome else None
    return exc if isinstance(exc, SpotlerError) else None


def build_retrying(
    policy: RetryPolicy,
    *,
    operation: str,
    on_retry: Callable[[RetryEvent], None] | None,
) -> Retrying:
    """A tenacity `Retrying` for one call, described by `operation` ("GET contact/1")."""
    backoff = wait_exponential_jitter(
        multiplier=policy.base_delay, max=policy.max_delay, jitter=policy.base_delay
    )

    def wait(state: RetryCallState) -> float:
        error = _error(state)
        if error is not None and error.retry_after is not None:
            return error.retry_after
        return backoff(state)

    def retry_after_too_long(state: RetryCallState) -> bool:
        error = _error(state)
        return bool(error and error.retry_after and error.retry_after > policy.max_retry_after)

    def before_sleep(state: RetryCallState) -> None:
        error = _error(state)
        delay = state.next_action.sleep if state.next_action else 0.0
        logger.warning(
            "Spotler %s failed (%s); retry %d of %d in %.1f s",
            operation,
            error,
            state.attempt_number,
            policy.max_retries,
            delay,
        )
        if on_retry is not None and error is not None:
            try:
                on_retry(RetryEvent(operation, state.attempt_number, delay, error))
            except Exception:  # a broken hook must not turn a retry into a crash
                logger.exception("The on_retry hook failed for Spotler %s", operation)

    return Retrying(
        stop=stop_any(
            stop_after_attempt(policy.max_retries + 1),
            stop_before_delay(policy.max_elapsed),
            retry_after_too_long,
        ),
        wait=wait,
        retry=retry_if_exception(lambda exc: isinstance(exc, SpotlerError) and exc.transient),
        before_sleep=before_sleep,
        sleep=policy.sleep,
        reraise=True,
    )
