"""Accepting the linked system's changes into the ledger.

Every accepted change writes the ledger and its outbox entry in one transaction, so the push
engine never misses a change and never pushes one that was rolled back. Replaying a call that
was already accepted changes nothing and queues nothing (`Outcome.changed` is False), so the
linked system may retry freely.

Decisions the API contract leaves open:
- DELETE erases the contact's personal data at once and keeps a tombstone (the SHA-256 of the
  external id, the dates, the orders, which hold no personal data). Replaying it is a no-op; a
  later PUT, order or inactivation of that id is refused (`ContactErased`), because silently
  re-creating an erased person is the worse mistake.
- Inactivation (blacklisting in Spotler) is one-way through this API; a later PUT still updates
  the ledger and queues an upsert, and the contact stays inactivated.
- An order is immutable: the same id with the same data is a replay; with different data it is
  refused (`OrderConflict`). Purchase dates only move outwards: the first purchase is the
  earliest order ever seen, the last purchase the latest, so a late, older order never moves the
  last purchase back.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from bounces.followups import forget_contact
from contacts.errors import (
    ContactErased,
    ContactNotFound,
    InvalidFields,
    OrderConflict,
)
from contacts.models import Change, Contact, Order, SyncStatus, hash_external_id
from contacts.source_fields import clean_external_id, clean_source_fields, hash_fields
from mapping.current import yes_no_problems
from spotlersync.moments import moment_range_problem
from sync.models import OutboxKind
from sync.outbox import queue_outbox_entry, write_with_upsert_entry


@dataclass(frozen=True)
class Outcome:
    contact: Contact
    changed: bool
    created: bool = False


@dataclass(frozen=True)
class OrderOutcome:
    order: Order
    contact: Contact
    changed: bool


def find_contact(*, external_id: str) -> Contact:
    """The ledger entry for `external_id`, erased or not; `ContactNotFound` when unknown."""
    contact = Contact.objects.filter(external_id_hash=hash_external_id(external_id)).first()
    if contact is None:
        raise ContactNotFound(external_id)
    return contact


def upsert_contact(*, external_id: str, raw_fields: Any) -> Outcome:
    """Create or replace the contact's source fields (a flat object, `email` required).

    The contact is read and locked first; a new one is INSERTed unless a concurrent call created
    it meanwhile (then it is locked and compared like any other), and a changed one gets only
    its changed columns written. On PostgreSQL the write and its outbox entry are one statement:
    BEGIN, SELECT ... FOR UPDATE, the write, COMMIT.
    """
    fields = clean_contact(external_id=external_id, raw_fields=raw_fields)
    fields_hash = hash_fields(fields)
    key = hash_external_id(external_id)
    with transaction.atomic():
        contact = lock_contact_by_hash(key)
        if contact is None:
            new = build_contact(
                external_id=external_id, fields=fields, now=timezone.now(), fields_hash=fields_hash
            )
            if insert_with_upsert_entry(new):
                return Outcome(contact=new, changed=True, created=True)
            contact = lock_contact_by_hash(key)  # created by a concurrent call meanwhile
        if contact.is_erased:
            raise ContactErased(external_id)
        if contact.fields_hash == fields_hash:
            return Outcome(contact=contact, changed=False)
        now = timezone.now()
        changed = copy_fields(contact, fields=fields, now=now, fields_hash=fields_hash)
        changed += mark_changed(contact, now=now)
        save_with_upsert_entry(contact, changed=changed)
    return Outcome(contact=contact, changed=True)


def clean_contact(*, external_id: Any, raw_fields: Any) -> dict[str, Any]:
    """The fields to store for `external_id`, or `InvalidFields`: the one check of every way in."""
    clean_external_id(external_id)
    if isinstance(raw_fields, dict) and raw_fields.get("external_id", external_id) != external_id:
        problem = "Differs from the external id in the URL; leave it out or send the same."
        raise InvalidFields({"external_id": problem})
    return clean_source_fields(raw_fields, check_values=yes_no_problems)


def copy_fields(
    contact: Contact, *, fields: dict[str, Any], now: datetime, fields_hash: str | None = None
) -> list[str]:
    """Replace the contact's source fields (in memory), noting `now` for each changed value;
    the names of the columns that changed. `fields_hash`: `hash_fields(fields)`, if known."""
    times = note_changed_fields(
        contact.field_changed_at, before=contact.fields, after=fields, now=now
    )
    # `fields` and its hash always: equal dicts may still differ in JSON (1 == True).
    changed = ["fields", "fields_hash"]
    if times is not contact.field_changed_at:
        changed.append("field_changed_at")
    columns = {
        "email": fields["email"],
        "language": text_or_blank(fields.get("language")),
        "account_manager": text_or_blank(fields.get("account_manager")),
    }
    changed += [name for name, value in columns.items() if getattr(contact, name) != value]
    contact.field_changed_at = times
    contact.fields = fields
    contact.fields_hash = fields_hash or hash_fields(fields)
    for name, value in columns.items():
        setattr(contact, name, value)
    return changed


def note_changed_fields(
    times: dict[str, str], *, before: dict[str, Any], after: dict[str, Any], now: datetime
) -> dict[str, str]:
    """`times` ({field: ISO moment}) with `now` for each field whose value differs.

    A field left out counts as changed; an equal value keeps its old time, so a shop that resends
    its whole record with one edit moves only that field's time. A field seen for the first time
    gets no time: its value is not known to have changed *after* anything (the consent rule reads
    that as "before" Spotler's change, so a new record never undoes an unsubscribe Spotler
    already holds). Values compare with their JSON type (`1` is not `true`), as the fields hash
    does.
    """
    missing = object()
    stamp = now.isoformat()
    changed = {
        name: stamp for name in before if not same_value(before[name], after.get(name, missing))
    }
    return {**times, **changed} if changed else times


def same_value(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def erase_contact(*, external_id: str) -> Outcome:
    """The customer was deleted: queue the anonymization in Spotler and erase it here."""
    with transaction.atomic():
        contact = lock_contact(external_id=external_id)
        if contact.is_erased:
            return Outcome(contact=contact, changed=False)
        queue_outbox_entry(contact=contact, kind=OutboxKind.ANONYMIZE)
        now = timezone.now()
        contact.external_id = None
        contact.fields = {}
        contact.fields_hash = ""
        contact.field_changed_at = {}
        contact.email = contact.language = contact.account_manager = ""
        contact.erased_at = now
        mark_changed(contact, now=now)
        contact.save()
        # What came back from Spotler about this person is personal data too.
        Change.objects.filter(external_id=external_id).delete()
        forget_contact(contact)  # its bounces and their follow-ups hold personal data too
    return Outcome(contact=contact, changed=True)


def inactivate_contact(*, external_id: str) -> Outcome:
    """Queue the contact's blacklisting in Spotler (once; a replay changes nothing)."""
    with transaction.atomic():
        contact = lock_contact(external_id=external_id)
        if contact.is_erased:
            raise ContactErased(external_id)
        if contact.inactivated_at is not None:
            return Outcome(contact=contact, changed=False)
        now = timezone.now()
        contact.inactivated_at = now
        mark_changed(contact, now=now)
        contact.save()
        queue_outbox_entry(contact=contact, kind=OutboxKind.INACTIVATE)
    return Outcome(contact=contact, changed=True)


def record_order(
    *, external_id: str, contact_external_id: str, ordered_at: datetime, value: Decimal
) -> OrderOutcome:
    """Record an order and widen the contact's first/last purchase dates to include it."""
    clean_external_id(external_id)
    date_problem = moment_range_problem(ordered_at, name="date")
    if date_problem:
        raise InvalidFields({"date": date_problem})
    # Kept in UTC: an offset such as +23:59 is valid ISO 8601 but more than PostgreSQL stores.
    ordered_at = ordered_at.astimezone(UTC)
    with transaction.atomic():
        contact = lock_contact(external_id=contact_external_id)
        if contact.is_erased:
            raise ContactErased(contact_external_id)
        existing = Order.objects.filter(external_id=external_id).first()
        if existing is not None:
            if (existing.contact_id, existing.ordered_at, existing.value) != (
                contact.pk,
                ordered_at,
                value,
            ):
                raise OrderConflict(external_id)
            return OrderOutcome(order=existing, contact=contact, changed=False)
        order = create_order(
            external_id=external_id, contact=contact, ordered_at=ordered_at, value=value
        )
        before = purchase_dates(contact)
        if widen_purchase_dates(contact, ordered_at=ordered_at):
            now = timezone.now()
            contact.field_changed_at = note_changed_fields(
                contact.field_changed_at, before=before, after=purchase_dates(contact), now=now
            )
            mark_changed(contact, now=now)
            contact.save()
            queue_outbox_entry(contact=contact, kind=OutboxKind.UPSERT)
    return OrderOutcome(order=order, contact=contact, changed=True)


def create_order(
    *, external_id: str, contact: Contact, ordered_at: datetime, value: Decimal
) -> Order:
    try:
        with transaction.atomic():
            return Order.objects.create(
                external_id=external_id, contact=contact, ordered_at=ordered_at, value=value
            )
    except IntegrityError:
        # The same order id arrived for another contact at the same moment.
        raise OrderConflict(external_id) from None


def widen_purchase_dates(contact: Contact, *, ordered_at: datetime) -> bool:
    changed = False
    if contact.first_purchase_at is None or ordered_at < contact.first_purchase_at:
        contact.first_purchase_at = ordered_at
        changed = True
    if contact.last_purchase_at is None or ordered_at > contact.last_purchase_at:
        contact.last_purchase_at = ordered_at
        changed = True
    return changed


def purchase_dates(contact: Contact) -> dict[str, datetime | None]:
    """The ledger's own fields, under the names the mapping reads them by."""
    return {
        "first_purchase_at": contact.first_purchase_at,
        "last_purchase_at": contact.last_purchase_at,
    }


def lock_contact(*, external_id: str) -> Contact:
    """The contact, locked until the transaction ends; `ContactNotFound` when unknown."""
    contact = lock_contact_by_hash(hash_external_id(external_id))
    if contact is None:
        raise ContactNotFound(external_id)
    return contact


def lock_contact_by_hash(external_id_hash: str) -> Contact | None:
    """The contact whose external id has this hash (erased or not), locked until the transaction
    ends; None when there is none. On PostgreSQL a fixed statement, not compiled per call."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        return Contact.objects.select_for_update().filter(external_id_hash=external_id_hash).first()
    reader = _contact_reader(connection)
    with connection.cursor() as cursor:
        cursor.execute(reader.sql, [external_id_hash])
        row = cursor.fetchone()
    return None if row is None else reader.contact(row, connection)


@dataclass(frozen=True)
class _ContactReader:
    """`SELECT <every column> ... FOR UPDATE` of one contact by its external id hash, and the
    model instance of its row, as the ORM would make it (its converters applied)."""

    sql: str
    names: list[str]
    converters: list[tuple[int, list, Any]]  # (column index, converters, expression)

    def contact(self, row: tuple, connection: Any) -> Contact:
        values = list(row)
        for index, converters, expression in self.converters:
            for converter in converters:
                values[index] = converter(values[index], expression, connection)
        return Contact.from_db(connection.alias, self.names, values)


_READERS: dict[str, _ContactReader] = {}


def _contact_reader(connection: Any) -> _ContactReader:
    reader = _READERS.get(connection.alias)
    if reader is None:
        quote = connection.ops.quote_name
        table = Contact._meta.db_table
        fields = Contact._meta.concrete_fields
        converters = []
        for index, field in enumerate(fields):
            expression = field.get_col(table)
            found = connection.ops.get_db_converters(expression) + field.get_db_converters(
                connection
            )
            if found:
                converters.append((index, found, expression))
        sql = (
            f"SELECT {', '.join(quote(f.column) for f in fields)} "  # noqa: S608 (model names)
            f"FROM {quote(table)} WHERE {quote('external_id_hash')} = %s FOR UPDATE"
        )
        reader = _READERS[connection.alias] = _ContactReader(
            sql, [f.attname for f in fields], converters
        )
    return reader


def insert_with_upsert_entry(contact: Contact) -> bool:
    """INSERT the new `contact` and its upsert entry unless its external id is taken (by a live
    or an erased contact); True when it was inserted. On PostgreSQL one statement, `INSERT ...
    ON CONFLICT DO NOTHING RETURNING id` with the entry's INSERT from what it returns: a
    concurrent creation of the same contact waits for the other transaction and then finds it
    taken, with no savepoint to roll back to.
    """
    connection = transaction.get_connection()
    quote = connection.ops.quote_name
    columns = [f for f in Contact._meta.concrete_fields if not f.primary_key and not f.generated]
    values = [f.get_db_prep_save(f.pre_save(contact, True), connection) for f in columns]
    sql = (
        f"INSERT INTO {quote(Contact._meta.db_table)} "  # noqa: S608 (names from the model)
        f"({', '.join(quote(f.column) for f in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({quote('external_id_hash')}) DO NOTHING RETURNING {quote('id')}"
    )
    if connection.vendor == "postgresql":
        pk = write_with_upsert_entry(sql, values, external_id=contact.external_id or "")
    else:
        with connection.cursor() as cursor:  # SQLite 3.35 and later
            cursor.execute(sql, values)
            row = cursor.fetchone()
        pk = None if row is None else row[0]
    if pk is None:
        return False
    contact.pk = pk
    contact._state.adding = False
    contact._state.db = connection.alias
    if connection.vendor != "postgresql":
        queue_outbox_entry(contact=contact, kind=OutboxKind.UPSERT)
    return True


def save_with_upsert_entry(contact: Contact, *, changed: list[str]) -> None:
    """Write the `changed` columns of the locked `contact` and queue its upsert entry; on
    PostgreSQL one statement (`WITH written AS (UPDATE ... RETURNING id) INSERT ...`)."""
    connection = transaction.get_connection()
    if connection.vendor != "postgresql":
        contact.save(update_fields=changed)
        queue_outbox_entry(contact=contact, kind=OutboxKind.UPSERT)
        return
    quote = connection.ops.quote_name
    fields = [Contact._meta.get_field(name) for name in changed]
    assignments = ", ".join(f"{quote(f.column)} = %s" for f in fields)
    values = [f.get_db_prep_save(getattr(contact, f.attname), connection) for f in fields]
    sql = (
        f"UPDATE {quote(Contact._meta.db_table)} SET {assignments} "  # noqa: S608 (model names)
        f"WHERE {quote('id')} = %s RETURNING {quote('id')}"
    )
    write_with_upsert_entry(sql, [*values, contact.pk], external_id=contact.external_id or "")


def build_contact(
    *, external_id: str, fields: dict[str, Any], now: datetime, fields_hash: str | None = None
) -> Contact:
    """A new, unsaved ledger entry holding `fields`."""
    contact = Contact(
        external_id=external_id,
        external_id_hash=hash_external_id(external_id),
        changed_at=now,
        created_at=now,
        sync_status=SyncStatus.PENDING,
    )
    copy_fields(contact, fields=fields, now=now, fields_hash=fields_hash)
    return contact


def mark_changed(contact: Contact, *, now: datetime | None = None) -> list[str]:
    """Note the change (in memory); the names of the columns that changed."""
    changed = ["changed_at"]
    if contact.sync_status != SyncStatus.PENDING:
        changed.append("sync_status")
    contact.changed_at = now or timezone.now()
    contact.sync_status = SyncStatus.PENDING
    return changed


def text_or_blank(value: Any) -> str:
    return value if isinstance(value, str) else ""
