"""Asking for a push, and waiting for held contacts, coordinated through the cache.

A change asks for a push (`request_push`); many changes in a row make one queued task, not one
each. A contact pushed moments ago is held back for its quiet period (sync/push_claims.py), and
one push task waits for it (`wait_for_held_contacts`) instead of each task waiting on its own.
Without the cache (Redis down, or the cache table missing) both still work, less frugally.

The outbox imports this module on every ingest: it stays free of the push engine itself.
"""

import contextlib
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from spotlersync.cache_outage import CACHE_DOWN, warn_cache_down
from sync import tasks
from sync.models import OutboxEntry

PUSH_REQUEST_KEY = "sync:push-requested"
PUSH_REQUEST_SECONDS = 30

HELD_WAIT_KEY = "sync:push-waits-for-held"
# Past the sleep itself; the mark of a waiter that died expires after this.
HELD_WAIT_SLACK_SECONDS = 10


def request_push() -> None:
    """Ask for a push soon; many changes in a row make one queued task, not one each.

    The task clears the request before it starts draining, so a change that arrives while it
    runs asks for (and gets) the next task.
    """
    try:
        first = cache.add(PUSH_REQUEST_KEY, 1, timeout=PUSH_REQUEST_SECONDS)
    except DatabaseError as error:  # the cache table is missing; the broker may work all the same
        warn_cache_down("every change queues a push task of its own meanwhile", error)
        first = True
    if first:
        async_task(tasks.push_pending_changes, group="push", q_options={"task_name": "push"})


def clear_push_request() -> None:
    try:
        cache.delete(PUSH_REQUEST_KEY)
    except CACHE_DOWN as error:  # nothing to clear: without the cache no request is kept
        warn_cache_down("push requests are not collapsed meanwhile", error)


def quiet_period() -> timedelta:
    return timedelta(seconds=settings.SYNC_PUSH_QUIET_SECONDS)


def held_until() -> datetime | None:
    """When the first contact held back by its quiet period may go; None if none is waiting."""
    now = timezone.now()
    ready = OutboxEntry.objects.pending().filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    claims = OutboxEntry.objects.filter(
        contact_id__in=ready.values("contact_id"), claimed_at__gt=now - quiet_period()
    ).values_list("contact_id", "claimed_at")
    last_claim: dict[int, datetime] = {}
    for contact_id, claimed_at in claims:
        last_claim[contact_id] = max(claimed_at, last_claim.get(contact_id, claimed_at))
    return min(last_claim.values()) + quiet_period() if last_claim else None


def wait_for_held_contacts(*, sleep: Callable[[float], None] = time.sleep) -> bool:
    """Sleep until the first held contact may go; True if the caller should drain again.

    False when none is held, or another push task already waits for them: one task waits, and
    it checks again after each wait, so a held change never waits for the minutely schedule.
    """
    until = held_until()
    if until is None:
        return False
    seconds = (until - timezone.now()).total_seconds()
    try:
        if not cache.add(HELD_WAIT_KEY, 1, timeout=seconds + HELD_WAIT_SLACK_SECONDS):
            return False
    except CACHE_DOWN as error:  # several tasks may wait at once meanwhile; each sends its own
        warn_cache_down("push tasks may wait for held contacts side by side meanwhile", error)
    try:
        sleep(max(0.0, seconds) + 0.01)  # not a moment early: it would find it still held
    finally:
        with contextlib.suppress(*CACHE_DOWN):
            cache.delete(HELD_WAIT_KEY)
    return True
