"""The one rate limit for every worker on every machine: slots reserved in the database.

`SPOTLER_RATE_LIMIT` calls per second are cut into slots of 1/limit seconds; a worker inserts
the slot it wants (the primary key lets only one worker have it) and waits for its moment.
A 429 from Spotler writes `Throttle.until`, and nobody takes a slot before then.
"""

import math
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

import spotler
from sync.models import RateSlot, Throttle

THROTTLE_ID = 1
LOOKAHEAD = 10_000  # slots a worker probes before giving up (minutes at any sane limit)
KEEP_SLOTS_SECONDS = 60


class RateLimiter:
    """`limiter.wait()` before each call to Spotler; `limiter.note_retry(event)` on each retry."""

    def __init__(
        self, *, per_second: float | None = None, sleep: Callable[[float], None] = time.sleep
    ):
        self.per_second = settings.SPOTLER_RATE_LIMIT if per_second is None else per_second
        self.sleep = sleep
        self._last_slot = 0

    def wait(self) -> None:
        if self.per_second <= 0:
            return
        start = self.reserve()
        delay = start - time.time()
        if delay > 0:
            self.sleep(delay)

    def reserve(self) -> float:
        """Reserve the next free slot; the UNIX time at which the caller may send."""
        earliest = max(time.time(), throttled_until_timestamp())
        slot = max(math.ceil(earliest * self.per_second), self._last_slot + 1)
        for _ in range(LOOKAHEAD):
            try:
                with transaction.atomic():
                    RateSlot.objects.create(slot=slot)
            except IntegrityError:
                slot = max(slot + 1, self._next_slot())
                continue
            if slot < self._next_slot():
                slot = self._next_slot() + 1  # its moment passed before it was ours: a later one
                continue
            self._last_slot = slot
            if slot % 500 == 0:
                forget_old_slots(per_second=self.per_second)
            return slot / self.per_second
        raise RuntimeError("no free slot to call Spotler in the next minutes")

    def _next_slot(self) -> int:
        """The first slot still to come. A slot is only ever taken before its moment: an insert
        may wait for another worker's transaction that holds the slot (a list is made in Spotler
        under the budget's lock), and meanwhile that worker called in it. Taken late, the slot
        (or those after it, passed too) would send at once, beside the slots to come, and if
        that transaction rolled back, two workers would have called in one slot."""
        return math.ceil(time.time() * self.per_second)

    def note_retry(self, event: spotler.RetryEvent) -> None:
        """A 429 slows every worker down until its Retry-After."""
        if event.error.status == 429:
            throttle_until(
                timezone.now() + timedelta(seconds=max(event.wait, 1.0)),
                reason=str(event.error)[:300],
            )


def throttle_until(moment: datetime, *, reason: str = "") -> None:
    now = timezone.now()
    with transaction.atomic():
        throttle, _ = Throttle.objects.select_for_update().get_or_create(
            pk=THROTTLE_ID, defaults={"until": now, "reason": reason}
        )
        added = max(0.0, (moment - max(throttle.until, now)).total_seconds())
        throttle.times += 1
        throttle.seconds_total += added
        fields = ["times", "seconds_total", "updated_at"]
        if throttle.until < moment:
            throttle.until, throttle.reason = moment, reason
            fields += ["until", "reason"]
        throttle.save(update_fields=fields)


def throttled_until() -> datetime | None:
    """When the current throttle ends; None when Spotler is not slowing us down."""
    until = Throttle.objects.filter(pk=THROTTLE_ID).values_list("until", flat=True).first()
    return until if until is not None and until > timezone.now() else None


def throttled_until_timestamp() -> float:
    until = throttled_until()
    return until.timestamp() if until else 0.0


def forget_old_slots(*, per_second: float) -> None:
    oldest_kept = math.floor((time.time() - KEEP_SLOTS_SECONDS) * per_second)
    RateSlot.objects.filter(slot__lt=oldest_kept).delete()
