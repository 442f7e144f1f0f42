"""What the contact page shows of the sync: every call that touched the contact, newest first."""

from dataclasses import dataclass

from django.db import transaction

from contacts.models import Contact, SyncStatus
from identity.guard import KEPT_OUT
from identity.release import is_held
from sync.models import OutboxEntry, OutboxKind, OutboxStatus, SyncEvent, SyncEventKind
from sync.outbox import queue_outbox_entry

EVENTS_SHOWN = 50


@dataclass(frozen=True)
class Timeline:
    events: list[SyncEvent]
    waiting: list[OutboxEntry]  # pending, in flight (the next try for a retry) or held for review


def contact_timeline(contact: Contact) -> Timeline:
    events = list(contact.sync_events.select_related("run")[:EVENTS_SHOWN])
    waiting = list(
        contact.outbox_entries.filter(
            status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT, OutboxStatus.HELD]
        ).order_by("id")
    )
    return Timeline(events=events, waiting=waiting)


class CannotPush(Exception):
    pass


def push_contact_now(*, contact: Contact) -> OutboxEntry:
    """Queue the contact's current state for Spotler (also how a failed contact is retried)."""
    if contact.is_erased:
        raise CannotPush("This contact was erased; there is nothing left to push.")
    if contact.identity_decision in KEPT_OUT or is_held(contact):
        raise CannotPush(
            "This contact is held for review or kept out of Spotler by an Admin; answer with "
            "its send, merge or keep-local buttons instead."
        )
    with transaction.atomic():
        # A retry starts afresh: earlier failures of this contact are settled by this push.
        contact.outbox_entries.filter(status=OutboxStatus.FAILED).update(
            status=OutboxStatus.SUPERSEDED
        )
        return queue_outbox_entry(contact=contact, kind=OutboxKind.UPSERT)


def dismiss_failure(*, contact: Contact, user, reason: str) -> None:
    """Someone looked at a failed contact and decided not to fix it; kept, with who and why."""
    reason = reason.strip()
    if not reason:
        raise CannotPush("Say why the failure is dismissed, for whoever looks at it next.")
    if "\x00" in reason:  # PostgreSQL cannot store it
        raise CannotPush("Remove the NUL character from the reason; it cannot be stored.")
    if contact.sync_status != SyncStatus.FAILED:
        raise CannotPush("Only a failed contact can have its failure dismissed.")
    who = user.get_username()
    with transaction.atomic():
        contact.outbox_entries.filter(status=OutboxStatus.FAILED).update(
            status=OutboxStatus.DISMISSED
        )
        note = f"Dismissed by {who}: {reason} (Spotler had said: {contact.sync_error})"
        Contact.objects.filter(pk=contact.pk).update(
            sync_status=SyncStatus.DISMISSED, sync_error=note[:2000]
        )
        SyncEvent.objects.create(
            contact=contact, kind=SyncEventKind.DISMISS, ok=True, answer=note[:2000]
        )
