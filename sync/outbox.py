"""Writing outbox entries. Callers hold the transaction that also changes the ledger."""

from typing import Any

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
        contact.outbox_entries.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.HELD]).update(
            status=OutboxStatus.SUPERSEDED
        )
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
    columns = {
        "contact": [c.pk for c in contacts],
        "external_id": [c.external_id or "" for c in contacts],
    }
    insert_rows(OutboxEntry, columns=columns, same=new_upsert_entry(timezone.now()))


def new_upsert_entry(now: Any) -> dict[str, Any]:
    """The columns of a new upsert entry (field name: value) other than its contact and its
    external id."""
    return {
        "kind": OutboxKind.UPSERT.value,
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "last_error": "",
        "claim": "",
        "created_at": now,
        "updated_at": now,
    }


# Filled on first use: (the INSERT's text after its column list, the entry's column names).
_ENTRY_SQL: list[str] = []


def write_with_upsert_entry(sql: str, params: list[Any], *, external_id: str) -> int | None:
    """Run `sql`, a data-modifying statement on the ledger ending in `RETURNING id` (of at most
    one contact), and queue an upsert entry for the contact it returns *in the same statement*
    (a PostgreSQL data-modifying `WITH`): one round trip for the change and its entry. The
    contact's id, or None when `sql` wrote no row (and so queued nothing). Must run in the
    ledger's transaction, as `queue_outbox_entry` must.
    """
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        raise RuntimeError("write_with_upsert_entry must run inside the ledger's transaction")
    now = timezone.now()
    same = new_upsert_entry(now)
    if not _ENTRY_SQL:
        quote = connection.ops.quote_name
        fields = [OutboxEntry._meta.get_field(name) for name in ["contact", "external_id", *same]]
        names = ", ".join(quote(f.column) for f in fields)
        casts = ", ".join(f"%s::{f.db_type(connection)}" for f in fields[1:])
        _ENTRY_SQL.append(
            f"INSERT INTO {quote(OutboxEntry._meta.db_table)} ({names}) "  # noqa: S608 (model)
            f"SELECT written.id, {casts} FROM written RETURNING {quote('contact_id')}"
        )
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH written AS ({sql}) {_ENTRY_SQL[0]}", [*params, external_id, *same.values()]
        )
        row = cursor.fetchone()
    if row is None:
        return None
    transaction.on_commit(ask_for_push)
    return row[0]


def ask_for_push() -> None:
    """Ask for a push once the change is committed. With Redis (cache and broker) down the
    change is in the outbox all the same: say so and carry on, and the one-minute "Push pending
    changes" schedule sends it once Redis is back."""
    try:
        request_push()
    except CACHE_DOWN as error:
        warn_cache_down("changes wait in the outbox for the scheduled push", error)
