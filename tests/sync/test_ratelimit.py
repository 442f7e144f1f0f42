import contextlib
import itertools
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from spotler import RetryEvent, SpotlerError
from sync.models import RateSlot
from sync.ratelimit import RateLimiter, throttle_until, throttled_until
from tests.conftest import transactional


@transactional
def test_workers_together_never_get_more_slots_per_second_than_the_limit():
    """Four workers (threads with their own connections) ask for 60 turns at 10 per second."""
    starts: list[float] = []
    lock = threading.Lock()

    def worker():
        limiter = RateLimiter(per_second=10, sleep=lambda s: None)
        for _ in range(15):
            start = limiter.reserve()
            with lock:
                starts.append(start)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(starts)) == 60  # no two workers got the same moment
    per_second = Counter(int(s) for s in starts)
    assert max(per_second.values()) <= 10
    assert RateSlot.objects.count() == 60


def test_a_429_makes_every_worker_wait_until_its_retry_after(db):
    first = RateLimiter(per_second=10, sleep=lambda s: None)
    other = RateLimiter(per_second=10, sleep=lambda s: None)
    error = SpotlerError(429, "TOO_MANY_REQUESTS", "Slow down", permanent=False, retry_after=3)
    first.note_retry(RetryEvent(operation="POST contact", attempt=1, wait=3.0, error=error))
    until = throttled_until()
    assert until is not None
    assert until - timezone.now() > timedelta(seconds=2)
    assert other.reserve() >= until.timestamp()


def test_a_throttle_is_never_shortened_and_ends_by_itself(db):
    soon = timezone.now() + timedelta(seconds=30)
    throttle_until(soon)
    throttle_until(timezone.now() + timedelta(seconds=5))
    assert throttled_until() == soon
    throttle_until(timezone.now() - timedelta(seconds=1))
    assert throttled_until() == soon
    from sync.models import Throttle

    Throttle.objects.update(until=timezone.now() - timedelta(seconds=1))
    assert throttled_until() is None


def test_no_limit_means_no_waiting_and_no_slots(db):
    waited = []
    RateLimiter(per_second=0, sleep=waited.append).wait()
    assert waited == []
    assert RateSlot.objects.count() == 0


def test_a_worker_sleeps_until_its_slot_and_slots_are_evenly_spaced(db):
    waited = []
    limiter = RateLimiter(per_second=2, sleep=waited.append)  # time stands still here
    for _ in range(3):
        limiter.wait()
    assert len(waited) >= 2
    gaps = [round(b - a, 1) for a, b in itertools.pairwise(waited)]
    assert set(gaps) == {0.5}


@transactional
@pytest.mark.parametrize("outcome", ["made", "refused"])
def test_workers_that_waited_for_a_slot_held_in_a_transaction_never_call_late_or_in_it(outcome):
    """A list is made in Spotler under the budget's lock: its worker's slot is taken in a
    transaction that stays open while it calls, and rolls back if the list is refused. Workers
    trying that slot wait for the transaction; afterwards none may take a moment that passed
    meanwhile (they would all call at once), nor the list's own slot, freed by a rollback."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    throttle_until(timezone.now() + timedelta(seconds=0.5))  # everyone aims at one moment
    holding, list_slot, given = threading.Event(), [], []

    def list_maker():
        with contextlib.suppress(RuntimeError), transaction.atomic():
            list_slot.append(RateLimiter(per_second=10, sleep=lambda s: None).reserve())
            holding.set()
            time.sleep(1.5)  # calling Spotler, twice, with the budget locked
            if outcome == "refused":
                raise RuntimeError("the budget is exhausted")
        connection.close()

    def worker():
        start = RateLimiter(per_second=10, sleep=lambda s: None).reserve()
        given.append((start, time.time()))
        connection.close()

    threads = [threading.Thread(target=list_maker)]
    threads[0].start()
    holding.wait(5)
    threads += [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert len(given) == 3
    assert all(start >= at for start, at in given), given  # none calls late, at once
    starts = {start for start, _ in given}
    assert len(starts) == 3 and list_slot[0] not in starts
