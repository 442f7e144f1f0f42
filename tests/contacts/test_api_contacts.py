from contacts.models import Contact, Order, SyncStatus
from sync.models import OutboxEntry, OutboxKind, OutboxStatus
from tests.contacts.conftest import anna


def test_put_creates_the_contact_and_queues_one_upsert(api):
    response = api.put("contacts/C1", anna(newsletter=True, account_manager="jan@shop.example"))

    assert response.status_code == 202
    body = response.json()
    assert body["external_id"] == "C1"
    assert body["changed"] is True
    assert body["sync_status"] == "pending"
    assert body["fields"] == anna(newsletter=True, account_manager="jan@shop.example")
    contact = Contact.objects.get(external_id="C1")
    assert (contact.email, contact.language, contact.account_manager) == (
        "anna@example.com",
        "nl",
        "jan@shop.example",
    )
    entry = OutboxEntry.objects.get()
    assert (entry.contact, entry.kind, entry.status) == (contact, OutboxKind.UPSERT, "pending")


def test_replaying_the_same_put_changes_nothing_and_queues_nothing(api):
    api.put("contacts/C1", anna())
    contact = Contact.objects.get()

    replay = api.put("contacts/C1", dict(reversed(anna().items())))

    assert replay.status_code == 202
    assert replay.json()["changed"] is False
    assert OutboxEntry.objects.count() == 1
    assert Contact.objects.get().changed_at == contact.changed_at


def test_a_put_with_different_fields_replaces_them_and_queues_another_upsert(api):
    api.put("contacts/C1", anna(newsletter=True))

    response = api.put("contacts/C1", {"email": "anna@new.example"})

    assert response.json()["changed"] is True
    assert response.json()["fields"] == {"email": "anna@new.example"}
    assert Contact.objects.get().language == ""
    assert OutboxEntry.objects.filter(kind=OutboxKind.UPSERT).count() == 2


def test_a_change_after_a_failed_push_makes_the_contact_pending_again(api):
    api.put("contacts/C1", anna())
    Contact.objects.update(sync_status=SyncStatus.FAILED, sync_error="Invalid email")

    body = api.put("contacts/C1", anna(first_name="Anne")).json()

    assert body["sync_status"] == "pending"


def test_get_shows_source_fields_sync_status_and_spotlers_last_error(api, read_api):
    api.put("contacts/C1", anna())
    Contact.objects.update(sync_status=SyncStatus.FAILED, sync_error="Email address is blocked")

    response = read_api.get("contacts/C1")

    assert response.status_code == 200
    body = response.json()
    assert body["fields"] == anna()
    assert body["sync_status"] == "failed"
    assert body["sync_error"] == "Email address is blocked"
    assert "changed" in body


def test_get_of_an_unknown_contact_is_404_and_says_how_to_create_it(read_api):
    response = read_api.get("contacts/NOPE")

    assert response.status_code == 404
    body = response.json()
    assert body["error"] == "contact_not_found"
    assert "PUT /api/v1/contacts/NOPE" in body["detail"]
    assert body["fields"] == {}


def test_delete_erases_personal_data_keeps_a_tombstone_and_queues_an_anonymization(api):
    api.put("contacts/C1", anna())
    api.post(
        "orders",
        {
            "external_id": "O1",
            "contact_external_id": "C1",
            "date": "2026-01-05T10:00:00+01:00",
            "value": "10.00",
        },
    )

    response = api.delete("contacts/C1")

    assert response.status_code == 202
    body = response.json()
    assert body["changed"] is True
    assert body["fields"] == {} and body["email"] == ""
    assert body["erased_at"] is not None
    contact = Contact.objects.get()
    assert contact.external_id is None
    assert "anna" not in str(Contact.objects.values().get()).lower()
    assert contact.first_purchase_at is not None  # dates stay: they are not personal data
    assert Order.objects.filter(contact=contact).exists()
    anonymize = OutboxEntry.objects.get(kind=OutboxKind.ANONYMIZE)
    assert anonymize.external_id == "C1" and anonymize.status == OutboxStatus.PENDING
    # Upserts still waiting would push the erased data: they are superseded.
    assert not OutboxEntry.objects.filter(kind=OutboxKind.UPSERT, status="pending").exists()
    assert list(OutboxEntry.objects.exclude(external_id="")) == [anonymize]


def test_replaying_a_delete_is_a_no_op(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    replay = api.delete("contacts/C1")

    assert replay.status_code == 202
    assert replay.json()["changed"] is False
    assert OutboxEntry.objects.filter(kind=OutboxKind.ANONYMIZE).count() == 1


def test_a_put_after_a_delete_is_refused_because_the_person_was_erased(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    response = api.put("contacts/C1", anna())

    assert response.status_code == 409
    assert response.json()["error"] == "contact_erased"
    assert "new external id" in response.json()["detail"]
    assert Contact.objects.get().fields == {}


def test_get_of_an_erased_contact_shows_the_tombstone(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    body = api.get("contacts/C1").json()

    assert body["external_id"] == "C1"
    assert body["erased_at"] is not None
    assert body["fields"] == {}


def test_delete_of_an_unknown_contact_is_404(api):
    assert api.delete("contacts/NOPE").status_code == 404
    assert not OutboxEntry.objects.exists()


def test_inactivate_queues_a_blacklisting_once(api):
    api.put("contacts/C1", anna())

    first = api.post("contacts/C1/inactivate")
    replay = api.post("contacts/C1/inactivate")

    assert first.status_code == replay.status_code == 202
    assert first.json()["changed"] is True and first.json()["inactivated_at"]
    assert replay.json()["changed"] is False
    assert OutboxEntry.objects.filter(kind=OutboxKind.INACTIVATE).count() == 1


def test_inactivate_of_an_unknown_contact_is_404(api):
    assert api.post("contacts/NOPE/inactivate").status_code == 404


def test_inactivate_of_an_erased_contact_is_409(api):
    api.put("contacts/C1", anna())
    api.delete("contacts/C1")

    assert api.post("contacts/C1/inactivate").status_code == 409


def test_markup_is_stored_verbatim_but_never_sent_back_as_live_markup(api):
    hostile = '<script>alert("x")</script> & <b>'

    response = api.put("contacts/C1", anna(first_name=hostile))

    assert Contact.objects.get().fields["first_name"] == hostile
    assert response.json()["fields"]["first_name"] == hostile
    assert b"<script>" not in response.content
    assert b"\\u003Cscript\\u003E" in response.content
