from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.db import transaction

from contacts import ingest
from contacts.errors import ContactErased
from contacts.models import Contact
from sync.models import OutboxEntry, OutboxKind
from sync.outbox import queue_outbox_entry
from tests.conftest import transactional
from tests.helpers import postgresql_only, run_at_once


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
