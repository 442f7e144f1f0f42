"""Writing outbox entries. Callers hold the transaction that also changes the ledger."""

from django.db import transaction
from django.utils import timezone

from contacts.models import Contact
from spotlersync.bulk_sql import insert_rows
from spotlersync.cache_outage import CACHE_DOWN, warn_cache_down
from sync.models import OutboxEntry, OutboxKind, OutboxStatus
from sync.push_requests import request_push


def queue_outbox_entry(*, contact: Contact, kind: OutboxKind) -> OutboxEntry:
    """Record that `contact` owes Spotler a `kind` call; must run in the ledger's transaction."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("queue_outbox_entry must run inside the ledger's transaction.atomic")
    if kind == OutboxKind.ANONYMIZE:
        # Only the anonymization itself may still name the person (Spotler needs the id).
        contact.outbox_entries.update(external_id="")
        contact.outbox_entries.pending().update(status=OutboxStatus.SUPERSEDED)
    transaction.on_commit(ask_for_push)
    return OutboxEntry.objects.create(
        contact=contact, external_id=contact.external_id or "", kind=kind
    )


def queue_upserts(*, contacts: list[Contact]) -> None:
    """One upsert entry per contact, in one INSERT; must run in the ledger's transaction."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("queue_upserts must run inside the ledger's transaction.atomic")
    if not contacts:
        return
    transaction.on_commit(ask_for_push)
    if connection.vendor != "postgresql":
        OutboxEntry.objects.bulk_create(
            OutboxEntry(contact=c, external_id=c.external_id or "", kind=OutboxKind.UPSERT)
            for c in contacts
        )
        return
    # Only the contact and its external id differ from entry to entry: sent once each.
    now = timezone.now()
    columns = {
        "contact": [c.pk for c in contacts],
        "external_id": [c.external_id or "" for c in contacts],
    }
    same = {"kind": OutboxKind.UPSERT, "status": OutboxStatus.PENDING, "attempts": 0}
    same |= {"last_error": "", "claim": "", "created_at": now, "updated_at": now}
    insert_rows(OutboxEntry, columns=columns, same=same)


def ask_for_push() -> None:
    """Ask for a push once the change is committed. With Redis (cache and broker) down the
    change is in the outbox all the same: say so and carry on, and the one-minute "Push pending
    changes" schedule sends it once Redis is back."""
    try:
        request_push()
    except CACHE_DOWN as error:
        warn_cache_down("changes wait in the outbox for the scheduled push", error)
