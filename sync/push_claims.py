"""Claiming outbox rows for a push, and settling them with what Spotler answered.

A push worker claims a contact's pending entries with a token (`claim_contacts`), so no other
worker sends the same contact at the same moment; after the call it settles them
(`settle_entries`): done, failed, or pending again with a backoff. A claim older than the lease
(SYNC_PUSH_LEASE_SECONDS) belonged to a worker that died and is released.
"""

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from bounces import followups
from contacts.models import Contact, SyncStatus
from identity import guard
from sync.models import OutboxEntry, OutboxStatus
from sync.push_requests import quiet_period


@dataclass
class PushOutcome:
    """What became of one contact's push: what settling its claimed entries writes."""

    ok: bool
    transient: bool = False
    skipped: bool = False
    answer: str = ""
    payload: dict = field(default_factory=dict)
    # Made right after Spotler's answer; a batch's outcomes are settled after its last call.
    answered_at: datetime = field(default_factory=timezone.now)


def claim_contacts(*, limit: int, only: list[int] | None = None) -> tuple[str, list[int]]:
    """Take the oldest ready contacts no other worker holds; (claim token, contact ids).
    `only`: of these contacts alone (a temporary list pushes its own contacts first).

    A contact claimed less than SYNC_PUSH_QUIET_SECONDS ago is held back until that long after
    its claim (the push task waits for it: `wait_for_held_contacts`), so edits that keep coming
    while it is pushed go in one more call, with its latest state, instead of one call each.
    """
    now = timezone.now()
    OutboxEntry.objects.filter(status=OutboxStatus.IN_FLIGHT, claimed_at__lt=now - lease()).update(
        status=OutboxStatus.PENDING, claim=""
    )
    ready = OutboxEntry.objects.pending().filter(
        Q(not_before__isnull=True) | Q(not_before__lte=now)
    )
    if only is not None:
        ready = ready.filter(contact_id__in=only)
    candidates = list(
        dict.fromkeys(ready.order_by("id").values_list("contact_id", flat=True)[: limit * 4])
    )[:limit]
    if not candidates:
        return "", []
    token = uuid.uuid4().hex
    with transaction.atomic():
        by_email = guard.take_turn()  # under e-mail deduplication, claims take turns
        # PostgreSQL: rows another worker is claiming right now are skipped, not waited for.
        locked = [
            guard.Claimed(*row)
            for row in Contact.objects.select_for_update(skip_locked=True)
            .filter(pk__in=candidates)
            .values_list(*guard.CLAIMED_FIELDS)
        ]
        busy = set(
            OutboxEntry.objects.filter(contact_id__in=[c.pk for c in locked])
            .filter(Q(status=OutboxStatus.IN_FLIGHT) | Q(claimed_at__gt=now - quiet_period()))
            .values_list("contact_id", flat=True)
        )
        mine = [c for c in locked if c.pk not in busy]
        OutboxEntry.objects.filter(
            contact_id__in=[c.pk for c in mine], status=OutboxStatus.PENDING
        ).update(status=OutboxStatus.IN_FLIGHT, claimed_at=now, claim=token)
        # Held for review, merged or kept local only: not pushed (identity/guard.py).
        to_push = guard.screen_claimed(mine, token=token, by_email=by_email)
    return token, to_push


def settle_entries(*, token: str, contact: Contact, outcome: PushOutcome) -> None:
    """Write the outcome on the claimed entries and the contact, in one transaction."""
    now = timezone.now()
    entries = OutboxEntry.objects.filter(
        claim=token, contact=contact, status=OutboxStatus.IN_FLIGHT
    )
    with transaction.atomic():
        if outcome.ok:
            # Skipped (nothing to send) is done but was never accepted by Spotler: no lag.
            accepted_at = None if outcome.skipped else outcome.answered_at
            entries.update(
                status=OutboxStatus.DONE, last_error="", claim="", accepted_at=accepted_at
            )
        elif outcome.transient:
            attempts = max(entries.values_list("attempts", flat=True), default=0) + 1
            wait = backoff(attempts)
            entries.update(
                status=OutboxStatus.PENDING, claim="", attempts=attempts,
                last_error=outcome.answer, not_before=now + wait,
            )  # fmt: skip
        else:
            entries.update(status=OutboxStatus.FAILED, last_error=outcome.answer, claim="")
        _update_contact_state(contact, outcome=outcome, now=now)
        followups.settle_after_push(contact, outcome)  # closes or reopens a bounce follow-up


def lease() -> timedelta:
    """How old an in-flight claim is when its worker is taken to have died."""
    return timedelta(seconds=settings.SYNC_PUSH_LEASE_SECONDS)


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th transient failure in a row (even after the client's
    own retries), from SYNC_PUSH_BACKOFF_SECONDS; the last wait repeats."""
    waits = settings.SYNC_PUSH_BACKOFF_SECONDS
    return timedelta(seconds=waits[min(attempts, len(waits)) - 1])


def _update_contact_state(contact: Contact, *, outcome: PushOutcome, now: datetime) -> None:
    if outcome.transient:
        return  # still pending; the entry carries the reason and the next try
    if not outcome.ok:
        status, error = SyncStatus.FAILED, outcome.answer
    elif contact.erased_at:
        status, error = SyncStatus.ANONYMIZED, ""
    elif contact.inactivated_at:
        status, error = SyncStatus.INACTIVE, ""
    else:
        status, error = SyncStatus.SYNCED, ""
    # Only if no newer change arrived meanwhile: that one is still to be pushed.
    still_pending = OutboxEntry.objects.filter(
        contact=contact, status=OutboxStatus.PENDING
    ).exists()
    if still_pending and outcome.ok:
        status = SyncStatus.PENDING
    accepted = {"synced_at": now, "pushed_changed_at": contact.changed_at} if outcome.ok else {}
    Contact.objects.filter(pk=contact.pk).update(sync_status=status, sync_error=error, **accepted)
