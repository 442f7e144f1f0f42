from django.db import connection

from contacts.api_schemas import BatchOut
from contacts.models import Contact
from spotlersync.email_addresses import RULE
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
        "email": f"“not-an-address” is not an e-mail address. {RULE}"
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


def test_the_same_item_twice_in_a_batch_is_applied_once_and_reported_as_a_replay(api):
    body = api.post("contacts/batch", {"contacts": [item("C1"), item("C1")]}).json()

    assert [r["changed"] for r in body["results"]] == [True, False]
    assert Contact.objects.count() == 1
    assert OutboxEntry.objects.count() == 1


def test_a_batch_mixing_new_changed_and_unchanged_contacts_queues_only_what_changed(api):
    api.post("contacts/batch", {"contacts": [item("C1"), item("C2")]})
    queued_before = OutboxEntry.objects.latest("id").id
    items = [item("C1"), item("C2", first_name="Annie"), item("C3")]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [(r["external_id"], r["changed"]) for r in body["results"]] == [
        ("C1", False),
        ("C2", True),
        ("C3", True),
    ]
    assert Contact.objects.get(external_id="C2").fields["first_name"] == "Annie"
    assert list(
        OutboxEntry.objects.filter(id__gt=queued_before).values_list(
            "contact__external_id", flat=True
        )
    ) == ["C2", "C3"]


def test_erased_contacts_in_a_batch_are_refused_however_often_they_appear(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")
    outbox_before = OutboxEntry.objects.count()

    body = api.post(
        "contacts/batch", {"contacts": [item("C1"), item("C2"), item("C1", first_name="X")]}
    ).json()

    assert [r["status"] for r in body["results"]] == ["rejected", "accepted", "rejected"]
    assert {r["error"]["error"] for r in body["results"] if r["status"] == "rejected"} == {
        "contact_erased"
    }
    erased = Contact.objects.erased().get()
    assert (erased.external_id, erased.fields) == (None, {})
    assert OutboxEntry.objects.count() == outbox_before + 1


def test_a_batch_of_1000_takes_a_few_dozen_queries_not_thousands(
    api, django_assert_max_num_queries
):
    api.post("contacts/batch", {"contacts": [item(f"C{n}") for n in range(0, 1000, 2)]})
    # Half of these exist (half of those change), half are new.
    items = [item(f"C{n}", first_name="Bea" if n % 4 else "Anna") for n in range(1000)]

    # About 10 on PostgreSQL; SQLite splits bulk inserts at its limit of bound parameters, so
    # there the count grows with the number of columns (41 with the outbox's accepted_at).
    with django_assert_max_num_queries(10 if connection.vendor == "postgresql" else 50):
        body = api.post("contacts/batch", {"contacts": items}).json()

    assert body["accepted"] == 1000
    assert Contact.objects.count() == 1000
    assert Contact.objects.filter(fields__first_name="Bea").count() == 750


def test_a_batch_item_that_is_not_an_object_is_rejected_saying_what_an_item_is(api):
    items = [None, 5, "x", item("C1")]

    body = api.post("contacts/batch", {"contacts": items}).json()

    assert [r["status"] for r in body["results"]] == ["rejected"] * 3 + ["accepted"]
    for result in body["results"][:3]:
        assert result["error"]["fields"] == {
            "_body": "Each item must be a JSON object with external_id and the contact's fields."
        }
        assert result["error"]["status"] == 422


def test_the_batch_answer_has_exactly_the_shape_the_openapi_document_gives(api):
    response = api.post("contacts/batch", {"contacts": [{"external_id": "C1", **anna()}, 42]})

    body = response.json()
    assert response.status_code == 202
    assert BatchOut.model_validate(body).model_dump(mode="json") == body
    assert body["results"][1]["error"]["status"] == 422
