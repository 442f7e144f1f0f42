"""Contacts of a list that Spotler does not have yet are pushed before the list names them.

Spotler adds only contacts it has to a temporary list; one unknown id and it refuses the whole
chunk ("One or more contacts could not be found", spotler-api.md §10). So before sending, the
contacts of the list not yet in Spotler (`Contact.synced_at` empty) are pushed by the push
engine itself (sync/push.py, with its claims, settling, timeline and backoff), not a second
push path: a contact without a pending change gets one queued (sync/outbox.py), then batches
of the list's own contacts are pushed (ahead of any backlog in the outbox) until every such
contact is in Spotler, refused for good, or the wait runs out.

A contact Spotler refused for good (its push failed: a value Spotler rejects) is left out of
the list and counted; one Spotler could not take for now (Spotler down) keeps the list waiting
for at most LISTS_PUSH_WAIT_SECONDS; lists/send.py then fails the list with Spotler's words,
to be resumed.
"""

import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min, Q
from django.utils import timezone

import spotler
from contacts.models import Contact
from lists.selection import NOT_PUSHED
from sync.models import OutboxEntry, OutboxStatus
from sync.outbox import queue_upserts
from sync.push import push_one_batch

# `IN (...)` in parts: SQLite takes at most 32,766 parameters in one query.
ID_CHUNK = 10_000
# While none of the list's contacts is ready to push (held for their quiet period, or pushed by
# another worker), look again after this long.
POLL_SECONDS = 0.5
BATCH = 100  # a batch per heartbeat: one call of 100 contacts when Spotler is well


@dataclass
class PushFirst:
    """How pushing a list's missing contacts ended."""

    pushed: int = 0  # reached Spotler
    failed: list[str] = field(default_factory=list)  # refused for good: left out of the list
    waiting: int = 0  # still not in Spotler when the wait ran out
    reason: str = ""  # Spotler's words for why the waiting ones are not in yet
    retry_at: datetime | None = None  # when the push engine tries them again
    stopped: bool = False  # the list was taken over (the heartbeat moved): stop at once


def missing_from_spotler(external_ids: list[str]) -> dict[str, int]:
    """The contacts of `external_ids` Spotler does not have yet: external id → contact pk."""
    found: dict[str, int] = {}
    for part in _chunks(external_ids):
        rows = Contact.objects.filter(external_id__in=part, synced_at__isnull=True)
        found.update(rows.values_list("external_id", "pk"))
    return found


def count_missing(external_ids: list[str]) -> int:
    """How many of `external_ids` Spotler does not have yet (to be pushed first)."""
    return sum(
        Contact.objects.filter(external_id__in=part, synced_at__isnull=True).count()
        for part in _chunks(external_ids)
    )


def push_missing(
    missing: dict[str, int],
    *,
    wait_until: datetime,
    beat: Callable[[int], bool],
    client: spotler.SpotlerClient | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> PushFirst:
    """Push the `missing` contacts (external id → pk) through the push engine until each is in
    Spotler or refused for good, or `wait_until`. `beat(waiting)` is called after each batch
    and each pause; False from it means the list was taken over, and pushing stops."""
    result = PushFirst()
    if not missing:
        return result
    _queue_changes_for_unqueued(list(missing.values()))
    waiting = dict(missing)
    while True:
        pushed, failed, waiting = _settled(waiting)
        result.pushed += len(pushed)
        result.failed += failed
        if not beat(len(waiting)):
            result.stopped = True
            break
        if not waiting or timezone.now() >= wait_until:
            break
        # The list's own contacts, not the whole outbox: they do not wait behind a backlog.
        if any(
            push_one_batch(limit=BATCH, client=client, only=part) is not None
            for part in _chunks(list(waiting.values()))
        ):
            continue  # settle and beat after each batch
        # Nothing ready: ours wait for their quiet period, their backoff after a failure Spotler
        # called transient (Spotler down), or another worker pushes them right now.
        retry_at = _next_try(waiting.values())
        if retry_at is not None and retry_at > wait_until:
            break  # they are not tried again before the wait runs out: no point sleeping
        sleep(POLL_SECONDS)
    result.waiting = len(waiting)
    if waiting:
        result.reason = _last_error(waiting.values())
        result.retry_at = _next_try(waiting.values())
    return result


def _queue_changes_for_unqueued(pks: list[int]) -> None:
    """A change to push for each contact that has none pending (it was never pushed, or its
    last push was cleared): the push engine pushes what the outbox holds."""
    for part in _chunks(pks):
        queued = set(
            OutboxEntry.objects.filter(
                contact_id__in=part, status__in=(OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
            ).values_list("contact_id", flat=True)
        )
        # A contact whose push failed before is left out, not pushed again (selection.py); so
        # is one held for review, merged into another or kept local only (identity/guard.py).
        unqueued = [pk for pk in part if pk not in queued]
        contacts = list(
            Contact.objects.filter(pk__in=unqueued)
            .exclude(sync_status__in=NOT_PUSHED)
            .exclude(external_id__isnull=True)
            .exclude(external_id="")
        )
        if contacts:
            with transaction.atomic():
                queue_upserts(contacts=contacts)


def _settled(waiting: dict[str, int]) -> tuple[list[str], list[str], dict[str, int]]:
    """Of the contacts waiting: those now in Spotler, those whose push failed for good (no
    change of theirs pending, still not in Spotler), and those still waiting."""
    pks = list(waiting.values())
    in_spotler: set[int] = set()
    pending: set[int] = set()
    for part in _chunks(pks):
        in_spotler.update(
            Contact.objects.filter(pk__in=part, synced_at__isnull=False).values_list(
                "pk", flat=True
            )
        )
        pending.update(
            OutboxEntry.objects.filter(
                contact_id__in=part, status__in=(OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
            ).values_list("contact_id", flat=True)
        )
    pushed = [i for i, pk in waiting.items() if pk in in_spotler]
    failed = [i for i, pk in waiting.items() if pk not in in_spotler and pk not in pending]
    still = {i: pk for i, pk in waiting.items() if pk in pending and pk not in in_spotler}
    return pushed, failed, still


def _next_try(pks: Iterable[int]) -> datetime | None:
    """When the first of these contacts is pushed again after a failure Spotler called
    transient; None when one of them is ready now, or being pushed."""
    now = timezone.now()
    first = None
    for part in _chunks(list(pks)):
        entries = OutboxEntry.objects.filter(
            contact_id__in=part, status__in=(OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT)
        )
        if entries.filter(
            Q(status=OutboxStatus.IN_FLIGHT) | Q(not_before__isnull=True) | Q(not_before__lte=now)
        ).exists():
            return None
        at = entries.aggregate(at=Min("not_before"))["at"]
        if at is not None and (first is None or at < first):
            first = at
    return first


def _last_error(pks: Iterable[int]) -> str:
    for part in _chunks(list(pks)):
        error = (
            OutboxEntry.objects.filter(contact_id__in=part)
            .exclude(last_error="")
            .order_by("-pk")
            .values_list("last_error", flat=True)
            .first()
        )
        if error:
            return error
    return ""


def _chunks(items: list) -> Iterator[list]:
    for start in range(0, len(items), ID_CHUNK):
        yield items[start : start + ID_CHUNK]


def wait_until(seconds: float) -> datetime:
    return timezone.now() + timedelta(seconds=seconds)
