import threading
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contacts import ingest
from contacts.errors import ContactErased
from contacts.models import Contact
from sync.models import OutboxEntry, OutboxKind
from sync.outbox import queue_outbox_entry
from tests.conftest import transactional
from tests.helpers import postgresql_only, run_at_once, wait_for


@transactional
def test_an_outbox_entry_cannot_be_written_outside_the_ledgers_transaction():
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})

    with pytest.raises(RuntimeError, match="inside the ledger's transaction"):
        queue_outbox_entry(contact=Contact.objects.get(), kind=OutboxKind.UPSERT)


def test_a_rolled_back_change_leaves_neither_ledger_nor_outbox_behind(db):
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})
        1 / 0  # noqa: B018  (anything failing later in the caller's transaction)

    assert not Contact.objects.exists()
    assert not OutboxEntry.objects.exists()


def test_every_accepted_change_has_its_outbox_entry(db):
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@new.example"})
    ingest.inactivate_contact(external_id="C1")
    ingest.erase_contact(external_id="C1")

    kinds = list(OutboxEntry.objects.values_list("kind", "status"))
    assert kinds == [
        ("upsert", "superseded"),
        ("upsert", "superseded"),
        ("inactivate", "superseded"),
        ("anonymize", "pending"),
    ]


@postgresql_only
@transactional
def test_two_writes_of_one_new_contact_at_once_lose_nothing():
    emails = ["first@example.com", "second@example.com"]

    errors = run_at_once(
        *[
            lambda email=email: ingest.upsert_contact(external_id="C1", raw_fields={"email": email})
            for email in emails
        ]
    )

    assert errors == []
    contact = Contact.objects.get(external_id="C1")
    assert contact.email in emails
    assert OutboxEntry.objects.filter(contact=contact, kind=OutboxKind.UPSERT).count() == 2


@postgresql_only
@transactional
def test_two_orders_of_one_contact_at_once_both_count_towards_the_purchase_dates():
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})
    early, late = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)

    errors = run_at_once(
        *[
            lambda n=n, date=date: ingest.record_order(
                external_id=f"O{n}", contact_external_id="C1", ordered_at=date, value=Decimal(1)
            )
            for n, date in enumerate([late, early])
        ]
    )

    assert errors == []
    contact = Contact.objects.get(external_id="C1")
    assert (contact.first_purchase_at, contact.last_purchase_at) == (early, late)


@postgresql_only
@transactional
def test_a_delete_racing_a_put_never_leaves_personal_data_behind():
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})

    errors = run_at_once(
        lambda: ingest.upsert_contact(external_id="C1", raw_fields={"email": "new@example.com"}),
        lambda: ingest.erase_contact(external_id="C1"),
    )

    # Either order is fine: the PUT came first and was then erased, or it came second and was
    # refused because the contact was already erased.
    assert all(isinstance(error, ContactErased) for error in errors)
    contact = Contact.objects.get()
    assert (contact.external_id, contact.email, contact.fields) == (None, "", {})
    assert OutboxEntry.objects.pending().get().kind == OutboxKind.ANONYMIZE


@postgresql_only
@transactional
def test_a_put_that_meets_an_uncommitted_creation_of_its_contact_waits_and_then_changes_it():
    # The second PUT finds no contact (the first's is not committed), so it tries to create it,
    # waits on the first's unique key, finds it taken once it commits, and then updates it.
    inserted, release = threading.Event(), threading.Event()

    def first():
        with transaction.atomic():
            ingest.upsert_contact(external_id="C1", raw_fields={"email": "first@example.com"})
            inserted.set()
            release.wait(10)

    def second():
        inserted.wait(10)
        ingest.upsert_contact(external_id="C1", raw_fields={"email": "second@example.com"})

    def second_waits_for_the_lock():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE %s",
                ['%INSERT INTO "contacts_contact"%'],
            )
            return cursor.fetchone()[0] == 1

    threads = [threading.Thread(target=run_then_close, args=(call,)) for call in (first, second)]
    for thread in threads:
        thread.start()
    assert wait_for(second_waits_for_the_lock, seconds=10)
    release.set()
    for thread in threads:
        thread.join(20)

    contact = Contact.objects.get(external_id="C1")
    assert contact.email == "second@example.com"
    assert contact.field_changed_at.keys() == {"email"}
    entries = OutboxEntry.objects.filter(contact=contact, kind=OutboxKind.UPSERT)
    assert [e.external_id for e in entries] == ["C1", "C1"]


def run_then_close(call):
    try:
        call()
    finally:
        connection.close()


@postgresql_only
@transactional
def test_a_put_writes_the_contact_and_its_outbox_entry_in_one_statement():
    ingest.upsert_contact(external_id="C0", raw_fields={"email": "bram@example.com"})  # warm-up

    def statements(email):
        with CaptureQueriesContext(connection) as sent:
            ingest.upsert_contact(external_id="C1", raw_fields={"email": email})
        return [query["sql"].split()[0] for query in sent.captured_queries]

    # The lock, then one write (of the contact and its entry): one round trip each.
    assert statements("anna@example.com") == ["BEGIN", "SELECT", "WITH", "COMMIT"]  # new
    assert statements("anna@new.example") == ["BEGIN", "SELECT", "WITH", "COMMIT"]  # changed
    assert statements("anna@new.example") == ["BEGIN", "SELECT", "COMMIT"]  # replay
    contact = Contact.objects.get(external_id="C1")
    assert contact.email == "anna@new.example"
    assert list(contact.outbox_entries.values_list("kind", "status", "external_id")) == [
        ("upsert", "pending", "C1"),
        ("upsert", "pending", "C1"),
    ]
