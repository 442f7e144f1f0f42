"""The ledger notes when each source field's value last changed (the consent rule reads it)."""

from datetime import datetime

from contacts import csv_import
from contacts.models import Contact, CsvImport
from tests.contacts.conftest import anna
from tests.contacts.test_csv_import import upload_and_map


def change_times(external_id: str = "C1") -> dict[str, datetime]:
    contact = Contact.objects.get(external_id=external_id)
    return {name: datetime.fromisoformat(at) for name, at in contact.field_changed_at.items()}


def test_a_new_contact_dates_every_field_it_arrives_with(api):
    api.put("contacts/C1", anna(newsletter=True))

    times = change_times()
    assert set(times) == {"email", "first_name", "language", "newsletter"}
    assert len(set(times.values())) == 1
    assert times["email"] == Contact.objects.get(external_id="C1").changed_at


def test_only_the_fields_whose_value_changed_get_a_new_time(api):
    api.put("contacts/C1", anna(newsletter=True))
    before = change_times()

    api.put("contacts/C1", anna(newsletter=True, first_name="Anne"))

    after = change_times()
    assert after["first_name"] > before["first_name"]
    assert {k: v for k, v in after.items() if k != "first_name"} == {
        k: v for k, v in before.items() if k != "first_name"
    }


def test_a_replayed_put_changes_no_time(api):
    api.put("contacts/C1", anna(newsletter=True))
    before = Contact.objects.get(external_id="C1").field_changed_at

    api.put("contacts/C1", {**anna(newsletter=True)})

    assert Contact.objects.get(external_id="C1").field_changed_at == before


def test_a_field_left_out_or_sent_as_another_type_counts_as_changed(api):
    api.put("contacts/C1", anna(newsletter=True, vip=1))
    before = change_times()

    api.put("contacts/C1", anna(vip=True))

    after = change_times()
    assert after["newsletter"] > before["newsletter"]  # left out: the shop no longer says "yes"
    assert after["vip"] > before["vip"]  # 1 and true are not the same JSON value
    assert after["first_name"] == before["first_name"]


def test_a_batch_dates_only_what_changed_in_each_contact(api):
    items = [{"external_id": f"C{n}", **anna(newsletter=True)} for n in range(3)]
    api.post("contacts/batch", {"contacts": items})
    before = {n: change_times(f"C{n}") for n in range(3)}

    items[1] = {**items[1], "newsletter": False}
    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["changed"] for r in body["results"]] == [False, True, False]
    after = {n: change_times(f"C{n}") for n in range(3)}
    assert after[0] == before[0] and after[2] == before[2]
    assert after[1]["newsletter"] > before[1]["newsletter"]
    assert after[1]["email"] == before[1]["email"]


def test_a_csv_import_dates_the_fields_it_changes(client_as):
    admin = client_as("admin")
    first = "id;email;newsletter\nC1;anna@example.com;yes\nC2;bram@example.com;yes\n"
    csv_import.run_import(import_id=upload_and_map(admin, first).pk)
    before = {n: change_times(f"C{n}") for n in (1, 2)}
    assert set(before[1]) == {"email", "newsletter"}

    second = "id;email;newsletter\nC1;anna@example.com;yes\nC2;bram@example.com;no\n"
    csv_import.run_import(import_id=upload_and_map(admin, second).pk)

    assert CsvImport.objects.latest("id").changed_count == 1
    after = {n: change_times(f"C{n}") for n in (1, 2)}
    assert after[1] == before[1]
    assert after[2]["newsletter"] > before[2]["newsletter"]
    assert after[2]["email"] == before[2]["email"]


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
