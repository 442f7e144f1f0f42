from datetime import UTC, datetime
from decimal import Decimal

from django.urls import reverse

from contacts import ingest
from contacts.models import Contact


def test_an_admin_reads_a_contact_with_its_orders_but_cannot_edit_it(client_as):
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})
    ingest.record_order(
        external_id="O1",
        contact_external_id="C1",
        ordered_at=datetime(2026, 3, 1, tzinfo=UTC),
        value=Decimal("12.50"),
    )
    client = client_as("admin")
    url = reverse("admin:contacts_contact_change", args=[Contact.objects.get().pk])

    page = client.get(url).content.decode()

    assert "anna@example.com" in page and "O1" in page
    assert 'name="_save"' not in page
    assert client.post(url, {"email": "x@example.com"}).status_code == 403


def test_the_outbox_is_listed_in_the_admin(client_as):
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})

    page = client_as("admin").get(reverse("admin:sync_outboxentry_changelist")).content.decode()

    assert "upsert" in page.lower()
