from datetime import UTC, datetime
from decimal import Decimal

from contacts.models import Contact, Order
from sync.models import OutboxEntry
from tests.contacts.conftest import anna


def order(external_id: str, date: str, value: str = "49.95", contact: str = "C1") -> dict:
    return {
        "external_id": external_id,
        "contact_external_id": contact,
        "date": date,
        "value": value,
    }


def purchases() -> tuple[datetime, datetime]:
    contact = Contact.objects.get(external_id="C1")
    return contact.first_purchase_at, contact.last_purchase_at


def test_the_first_order_sets_both_purchase_dates_and_queues_an_upsert(api):
    api.put("contacts/C1", anna())

    response = api.post("orders", order("O1", "2026-03-01T10:00:00+01:00"))

    assert response.status_code == 202
    body = response.json()
    assert body["changed"] is True
    assert body["order"]["value"] == "49.95"
    assert body["contact"]["first_purchase_at"] == body["contact"]["last_purchase_at"]
    assert purchases() == (datetime(2026, 3, 1, 9, tzinfo=UTC),) * 2
    assert Order.objects.get().value == Decimal("49.95")
    assert OutboxEntry.objects.count() == 2  # the PUT's and the order's


def test_a_later_order_moves_only_the_last_purchase(api):
    api.put("contacts/C1", anna())
    api.post("orders", order("O1", "2026-03-01T10:00:00+01:00"))

    api.post("orders", order("O2", "2026-05-01T10:00:00+02:00"))

    assert purchases() == (datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 5, 1, 8, tzinfo=UTC))


def test_a_late_older_order_never_moves_the_last_purchase_back(api):
    api.put("contacts/C1", anna())
    api.post("orders", order("O2", "2026-05-01T08:00:00Z"))

    api.post("orders", order("O1", "2026-03-01T09:00:00Z"))

    assert purchases() == (datetime(2026, 3, 1, 9, tzinfo=UTC), datetime(2026, 5, 1, 8, tzinfo=UTC))


def test_an_order_between_the_first_and_last_changes_no_date_and_queues_nothing(api):
    api.put("contacts/C1", anna())
    api.post("orders", order("O1", "2026-03-01T09:00:00Z"))
    api.post("orders", order("O3", "2026-05-01T08:00:00Z"))
    queued = OutboxEntry.objects.count()

    response = api.post("orders", order("O2", "2026-04-01T08:00:00Z"))

    assert response.json()["changed"] is True  # the order itself is new
    assert OutboxEntry.objects.count() == queued
    assert Order.objects.count() == 3


def test_replaying_an_order_is_a_no_op(api):
    api.put("contacts/C1", anna())
    api.post("orders", order("O1", "2026-03-01T10:00:00+01:00"))
    queued = OutboxEntry.objects.count()

    # The same instant written in another time zone is the same order.
    replay = api.post("orders", order("O1", "2026-03-01T09:00:00Z", value="49.950"))

    assert replay.status_code == 202
    assert replay.json()["changed"] is False
    assert Order.objects.count() == 1
    assert OutboxEntry.objects.count() == queued


def test_the_same_order_id_with_other_data_is_a_conflict(api):
    api.put("contacts/C1", anna())
    api.put("contacts/C2", anna(email="bob@example.com"))
    api.post("orders", order("O1", "2026-03-01T10:00:00+01:00"))

    other_value = api.post("orders", order("O1", "2026-03-01T10:00:00+01:00", value="1.00"))
    other_contact = api.post("orders", order("O1", "2026-03-01T10:00:00+01:00", contact="C2"))

    assert other_value.status_code == other_contact.status_code == 409
    assert other_value.json()["error"] == "order_conflict"
    assert Order.objects.get().value == Decimal("49.95")
    assert Contact.objects.get(external_id="C2").first_purchase_at is None


def test_an_order_for_an_unknown_contact_is_404_and_writes_nothing(api):
    response = api.post("orders", order("O1", "2026-03-01T10:00:00+01:00", contact="NOPE"))

    assert response.status_code == 404
    assert response.json()["error"] == "contact_not_found"
    assert not Order.objects.exists()


def test_an_order_for_an_erased_contact_is_409(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    response = api.post("orders", order("O1", "2026-03-01T10:00:00+01:00"))

    assert response.status_code == 409
    assert not Order.objects.exists()


def test_an_order_value_with_too_many_decimals_is_422(api):
    api.put("contacts/C1", anna())

    response = api.post("orders", order("O1", "2026-03-01T10:00:00+01:00", value="1.005"))

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"value"}
