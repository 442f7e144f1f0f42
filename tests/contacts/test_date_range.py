from datetime import UTC, datetime
from decimal import Decimal

import pytest

from contacts.models import Contact, Order
from mapping.current import mapping_in_force
from mapping.render import render_contact
from mapping.source import source_fields_of
from sync.models import OutboxEntry
from tests.contacts.conftest import anna

RANGE = "date must lie between 1900-01-01 and 2999-12-31."


def order(date: str, external_id: str = "O1") -> dict:
    return {"external_id": external_id, "contact_external_id": "C1", "date": date, "value": "1"}


@pytest.mark.parametrize(
    "date",
    [
        "9999-12-31T23:59:59-14:00",  # cannot even become UTC
        "0001-01-01T00:00:00+14:00",  # nor this one
        "9999-12-31T23:30:00Z",  # stored, but past the end of time in Amsterdam
        "3000-01-01T00:00:00+01:00",
        "1899-12-31T23:59:59Z",
    ],
)
def test_an_order_date_outside_the_years_1900_to_2999_is_refused_naming_the_field(api, date):
    api.put("contacts/C1", anna())
    queued = OutboxEntry.objects.count()

    response = api.post("orders", order(date))

    assert response.status_code == 422, response.content
    body = response.json()
    assert body["error"] == "invalid_fields"
    assert body["fields"] == {"date": RANGE}
    assert not Order.objects.exists()
    assert Contact.objects.get().last_purchase_at is None
    assert OutboxEntry.objects.count() == queued


@pytest.mark.parametrize(
    "date",
    [
        "1900-01-01T00:00:00+14:00",  # written in 1900, but 1899-12-31 in UTC
        "2999-12-31T23:59:59-14:00",  # 3000-01-01 in UTC
    ],
)
def test_an_order_date_outside_the_range_in_utc_is_refused_too(api, date):
    api.put("contacts/C1", anna())

    response = api.post("orders", order(date))

    assert response.status_code == 422
    assert response.json()["fields"] == {
        "date": "date must lie between 1900-01-01 and 2999-12-31, also in UTC."
    }
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    "date",
    [
        "2999-12-31T23:59:59+14:00",
        "1900-01-01T00:00:00-14:00",
        "1900-01-01T00:00:00Z",
        "2026-11-22T10:00:00Z",
    ],
)
def test_an_order_date_within_the_range_is_accepted_and_its_purchase_dates_can_be_sent(
    api, client_as, date
):
    api.put("contacts/C1", anna())

    response = api.post("orders", order(date))

    assert response.status_code == 202, response.content
    # ... every page that shows it in local time still opens ...
    assert client_as("marketer").get("/contacts/C1/").status_code == 200
    # ... and the push sends both purchase dates (the mapping converts what the ledger keeps).
    rendered = render_contact(
        external_id="C1",
        fields=source_fields_of(Contact.objects.get()),
        mapping=mapping_in_force(),
    )
    assert rendered.problems == []
    assert {"firstPurchaseDate", "lastPurchaseDate"} <= rendered.payload["properties"].keys()


def test_a_purchase_date_stored_before_the_rule_does_not_break_the_contact_page(api, client_as):
    api.put("contacts/C1", anna())
    end_of_time = datetime(9999, 12, 31, 23, 30, tzinfo=UTC)  # past 9999 in Amsterdam time
    contact = Contact.objects.get()
    Order.objects.create(
        external_id="O1", contact=contact, ordered_at=end_of_time, value=Decimal(1)
    )
    Contact.objects.filter(pk=contact.pk).update(
        first_purchase_at=end_of_time, last_purchase_at=end_of_time
    )

    response = client_as("marketer").get("/contacts/C1/")

    assert response.status_code == 200
    assert response.content.decode().count("31 Dec 9999 23:30 UTC") == 3
