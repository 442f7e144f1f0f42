"""The ledger notes when each source field's value last changed (the consent rule reads it)."""

from datetime import datetime

from contacts import csv_import
from contacts.models import Contact, CsvImport
from tests.contacts.conftest import anna
from tests.contacts.helpers import upload_and_map


def change_times(external_id: str = "C1") -> dict[str, datetime]:
    contact = Contact.objects.get(external_id=external_id)
    return {name: datetime.fromisoformat(at) for name, at in contact.field_changed_at.items()}


def test_a_new_contact_has_no_change_times_yet(api):
    # Its values are not known to have changed after anything (say, an unsubscribe in Spotler).
    api.put("contacts/C1", anna(newsletter=True))

    assert change_times() == {}


def test_only_the_fields_whose_value_changed_get_a_new_time(api):
    api.put("contacts/C1", anna(newsletter=False))
    api.put("contacts/C1", anna(newsletter=True))
    before = change_times()
    assert set(before) == {"newsletter"}

    api.put("contacts/C1", anna(newsletter=True, first_name="Anne"))

    after = change_times()
    assert set(after) == {"newsletter", "first_name"}
    assert after["newsletter"] == before["newsletter"]
    assert after["first_name"] > before["newsletter"]


def test_a_replayed_put_changes_no_time(api):
    api.put("contacts/C1", anna(newsletter=True))
    before = Contact.objects.get(external_id="C1").field_changed_at

    api.put("contacts/C1", {**anna(newsletter=True)})

    assert Contact.objects.get(external_id="C1").field_changed_at == before


def test_a_field_left_out_or_sent_as_another_type_counts_as_changed(api):
    api.put("contacts/C1", anna(newsletter=True, vip=1))

    api.put("contacts/C1", anna(vip=True))

    times = change_times()
    assert "newsletter" in times  # left out: the shop no longer says "yes"
    assert "vip" in times  # 1 and true are not the same JSON value
    assert "first_name" not in times


def test_a_batch_dates_only_what_changed_in_each_contact(api):
    items = [{"external_id": f"C{n}", **anna(newsletter=True)} for n in range(3)]
    api.post("contacts/batch", {"contacts": items})
    assert all(change_times(f"C{n}") == {} for n in range(3))

    items[1] = {**items[1], "newsletter": False}
    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["changed"] for r in body["results"]] == [False, True, False]
    assert change_times("C0") == change_times("C2") == {}
    assert set(change_times("C1")) == {"newsletter"}


def test_a_csv_import_dates_the_fields_it_changes(client_as):
    admin = client_as("admin")
    first = "id;email;newsletter\nC1;anna@example.com;yes\nC2;bram@example.com;yes\n"
    csv_import.run_import(import_id=upload_and_map(admin, first).pk)
    assert change_times("C1") == change_times("C2") == {}

    second = "id;email;newsletter\nC1;anna@example.com;yes\nC2;bram@example.com;no\n"
    csv_import.run_import(import_id=upload_and_map(admin, second).pk)

    assert CsvImport.objects.latest("id").changed_count == 1
    assert change_times("C1") == {}
    assert set(change_times("C2")) == {"newsletter"}


def test_an_order_dates_the_purchase_date_it_moves(api):
    api.put("contacts/C1", anna())
    order = {"contact_external_id": "C1", "value": "10.00"}
    api.post("orders", {**order, "external_id": "O1", "date": "2026-03-01T10:00:00Z"})
    first = change_times()
    assert {"first_purchase_at", "last_purchase_at"} <= set(first)

    api.post("orders", {**order, "external_id": "O2", "date": "2026-05-01T10:00:00Z"})

    after = change_times()
    assert after["last_purchase_at"] > first["last_purchase_at"]
    assert after["first_purchase_at"] == first["first_purchase_at"]


def test_an_erased_contact_keeps_no_change_times(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    assert Contact.objects.erased().get().field_changed_at == {}
