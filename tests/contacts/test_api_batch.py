from contacts.models import Contact
from sync.models import OutboxEntry
from tests.contacts.conftest import anna


def item(external_id, **fields) -> dict:
    return {"external_id": external_id, **anna(**fields)}


def test_a_batch_accepts_every_valid_item(api):
    response = api.post("contacts/batch", {"contacts": [item("C1"), item("C2"), item("C3")]})

    assert response.status_code == 202
    body = response.json()
    assert (body["accepted"], body["rejected"]) == (3, 0)
    assert [r["status"] for r in body["results"]] == ["accepted"] * 3
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"C1", "C2", "C3"}
    assert OutboxEntry.objects.count() == 3
    # `external_id` names the contact; it is not one of its source fields.
    assert Contact.objects.get(external_id="C1").fields == anna()


def test_one_bad_item_is_rejected_and_the_others_are_accepted_whole(api):
    items = [
        item("C1"),
        item("C2", email="not-an-address"),
        item("C3", first_name="A\x00"),
        {"email": "x@example.com"},
        "not an object",
        item("C6"),
    ]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert (body["accepted"], body["rejected"]) == (2, 4)
    results = body["results"]
    assert [r["status"] for r in results] == [
        "accepted",
        "rejected",
        "rejected",
        "rejected",
        "rejected",
        "accepted",
    ]
    assert results[1]["error"]["fields"] == {
        "email": "“not-an-address” is not a valid e-mail address."
    }
    assert results[1]["error"]["status"] == 422
    assert "control character" in results[2]["error"]["fields"]["first_name"]
    assert set(results[3]["error"]["fields"]) == {"external_id"}
    # Nothing half-written: the rejected items left no contact and no outbox entry behind.
    assert set(Contact.objects.values_list("external_id", flat=True)) == {"C1", "C6"}
    assert OutboxEntry.objects.count() == 2


def test_a_batch_item_for_an_erased_contact_is_rejected_with_409(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    body = api.post("contacts/batch", {"contacts": [item("C1"), item("C2")]}).json()

    assert body["results"][0]["error"]["error"] == "contact_erased"
    assert body["results"][0]["error"]["status"] == 409
    assert body["results"][1]["status"] == "accepted"


def test_replaying_a_batch_queues_nothing_new(api):
    batch = {"contacts": [item("C1"), item("C2")]}
    api.post("contacts/batch", batch)

    body = api.post("contacts/batch", batch).json()

    assert [r["changed"] for r in body["results"]] == [False, False]
    assert OutboxEntry.objects.count() == 2


def test_a_batch_of_1000_is_accepted(api):
    items = [item(f"C{n}", email=f"c{n}@example.com") for n in range(1000)]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert body["accepted"] == 1000
    assert Contact.objects.count() == 1000


def test_a_batch_over_1000_is_refused_whole_with_a_way_forward(api):
    items = [item(f"C{n}") for n in range(1001)]

    response = api.post("contacts/batch", {"contacts": items})

    assert response.status_code == 413
    body = response.json()
    assert body["error"] == "batch_too_large"
    assert "at most 1000" in body["detail"] and "1001" in body["detail"]
    assert not Contact.objects.exists()


def test_a_batch_without_a_contacts_list_is_422(api):
    response = api.post("contacts/batch", {"contact": []})

    assert response.status_code == 422
    assert set(response.json()["fields"]) == {"contacts"}


def test_the_same_contact_twice_in_a_batch_ends_with_the_later_item(api):
    items = [item("C1", first_name="Anna"), item("C1", first_name="Anne")]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["changed"] for r in body["results"]] == [True, True]
    assert Contact.objects.get().fields["first_name"] == "Anne"
