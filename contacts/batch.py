"""Accepting many contacts at once: `POST /api/v1/contacts/batch` and the CSV import.

The answers are those of applying each item with `ingest.upsert_contact`, one after the other,
but in a handful of statements instead of several per item:

1. every item is checked first, with the same cleaner as PUT; a bad item gets its own error and
   is not written;
2. the existing contacts of the good items are loaded and locked in one query (in primary-key
   order, so two batches touching the same contacts wait for each other instead of deadlocking);
3. each good item is applied in memory, in order: new, changed (its fields hash differs) or
   unchanged (a replay); an item for an erased contact is refused (`ContactErased`);
4. new contacts, changed contacts and one outbox entry per changed item are written with bulk
   statements, in one transaction: an item is written whole or not at all.

Decisions the API contract leaves open:
- The same external id twice in one batch: the items apply in order, as if sent one after the
  other. Each gets its own result (the later one is `changed: false` only if it repeats the
  earlier), the ledger ends with the later item's fields, and each changed item queues its own
  outbox entry, as sequential PUTs would (the push engine makes one Spotler call of them).
- Two writers creating the same new contact at once (PostgreSQL): the second INSERT waits for the
  first writer's commit, then fails on the unique key; the whole step is rolled back to its
  savepoint and recomputed against the committed contact, so neither write is lost.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from contacts.errors import BODY, ContactErased, IngestError, InvalidFields
from contacts.ingest import Outcome, build_contact, clean_contact, copy_fields, mark_changed
from contacts.models import Contact, SyncStatus, hash_external_id
from contacts.source_fields import hash_fields
from spotlersync.bulk_sql import insert_rows, update_rows
from sync.outbox import queue_upserts

MAX_BATCH = 1000
NOT_AN_OBJECT = "Each item must be a JSON object with external_id and the contact's fields."
# A concurrent creation of one of our new contacts costs one retry; more than a few in a row
# would be a bug, not a race.
ATTEMPTS = 3
# The columns a batch writes that differ from contact to contact; the others (times, status)
# are the same for all.
CHANGED_FIELDS = [
    "fields",
    "fields_hash",
    "field_changed_at",
    "email",
    "language",
    "account_manager",
]
NEW_FIELDS = ["external_id", "external_id_hash", *CHANGED_FIELDS]
UPDATED_FIELDS = [*CHANGED_FIELDS, "changed_at", "sync_status"]


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    external_id: Any
    outcome: Outcome | None = None
    error: IngestError | None = None


@dataclass(frozen=True)
class GoodItem:
    index: int
    external_id: str
    key: str  # hash of the external id: how the ledger finds live and erased contacts alike
    fields: dict[str, Any]
    fields_hash: str


def upsert_contacts(*, items: list[Any]) -> list[BatchItemResult]:
    """Create or replace each item's contact; a bad item is reported and stops nothing else."""
    results: dict[int, BatchItemResult] = {}
    good: list[GoodItem] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            error = InvalidFields({BODY: NOT_AN_OBJECT})
            results[index] = BatchItemResult(index=index, external_id=None, error=error)
            continue
        external_id = item.get("external_id")
        try:
            fields = clean_contact(external_id=external_id, raw_fields=item)
        except IngestError as error:
            results[index] = BatchItemResult(index=index, external_id=external_id, error=error)
            continue
        key = hash_external_id(external_id)
        good.append(GoodItem(index, external_id, key, fields, hash_fields(fields)))
    if good:
        results.update((result.index, result) for result in write_items(good))
    return [results[index] for index in range(len(items))]


def write_items(good: list[GoodItem]) -> list[BatchItemResult]:
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return apply_items(good, now=timezone.now())
        except IntegrityError:
            # Someone else created one of our new contacts and committed; go again, it now
            # counts as an existing contact.
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def apply_items(good: list[GoodItem], *, now: datetime) -> list[BatchItemResult]:
    """Apply the items in order in memory, then write what changed; runs in a transaction."""
    contacts = lock_contacts(keys={item.key for item in good})
    new: dict[str, Contact] = {}
    changed: dict[str, Contact] = {}
    queued: list[Contact] = []
    results = []
    for item in good:
        contact = contacts.get(item.key)
        created = contact is None
        if created:
            contact = contacts[item.key] = new[item.key] = build_contact(
                external_id=item.external_id,
                fields=item.fields,
                now=now,
                fields_hash=item.fields_hash,
            )
        elif contact.is_erased:
            error = ContactErased(item.external_id)
            results.append(BatchItemResult(item.index, item.external_id, error=error))
            continue
        elif contact.fields_hash == item.fields_hash:
            outcome = Outcome(contact=contact, changed=False)
            results.append(BatchItemResult(item.index, item.external_id, outcome=outcome))
            continue
        else:
            copy_fields(contact, fields=item.fields, now=now, fields_hash=item.fields_hash)
            mark_changed(contact, now=now)
            if item.key not in new:
                changed[item.key] = contact
        queued.append(contact)
        outcome = Outcome(contact=contact, changed=True, created=created)
        results.append(BatchItemResult(item.index, item.external_id, outcome=outcome))
    # Inserted in one fixed order, so two batches creating the same new contacts wait for each
    # other instead of deadlocking.
    insert_new(sorted(new.values(), key=lambda c: c.external_id_hash), now=now)
    write_changed(list(changed.values()), now=now)
    queue_upserts(contacts=queued)
    return results


def insert_new(contacts: list[Contact], *, now: datetime) -> None:
    """INSERT these new contacts in one statement, each column sent once (PostgreSQL)."""
    if not contacts:
        return
    if transaction.get_connection().vendor != "postgresql":
        Contact.objects.bulk_create(contacts)
        return
    columns = {name: [getattr(c, name) for c in contacts] for name in NEW_FIELDS}
    same = {"changed_at": now, "created_at": now, "sync_status": SyncStatus.PENDING}
    same["sync_error"] = ""
    same["identity_decision"] = ""  # NOT NULL with no database default, as every text column
    rows = insert_rows(Contact, columns=columns, same=same, returning=("external_id_hash", "id"))
    ids = dict(rows)
    for contact in contacts:
        contact.pk = ids[contact.external_id_hash]
        contact._state.adding = False


def write_changed(contacts: list[Contact], *, now: datetime) -> None:
    """Save the changed columns of these existing, locked contacts in one statement.

    On PostgreSQL an UPDATE from one array per column; elsewhere an INSERT that always meets its
    own row, and so updates it (`bulk_update` says the same with a CASE per column over every
    row, which costs Django about 2 ms per contact to build).
    """
    if not contacts:
        return
    if transaction.get_connection().vendor != "postgresql":
        Contact.objects.bulk_create(
            contacts, update_conflicts=True, unique_fields=["id"], update_fields=UPDATED_FIELDS
        )
        return
    columns = {name: [getattr(c, name) for c in contacts] for name in ["pk", *CHANGED_FIELDS]}
    update_rows(
        Contact, columns=columns, same={"changed_at": now, "sync_status": SyncStatus.PENDING}
    )


def lock_contacts(*, keys: set[str]) -> dict[str, Contact]:
    """The contacts with these external id hashes, erased or not, locked until the commit."""
    locked = Contact.objects.select_for_update().filter(external_id_hash__in=keys).order_by("pk")
    return {contact.external_id_hash: contact for contact in locked}
