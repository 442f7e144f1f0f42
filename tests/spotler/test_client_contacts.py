"""The client's contact calls against the sandbox over real HTTP (spotler-api.md §4, §5, §8,
§9, §11, §12)."""

from datetime import UTC, date, datetime

import pytest

from spotler import BatchCode, Contact, Inactivation, SpotlerError
from tests.spotler.client_helpers import count, make_client


@pytest.fixture(params=[False, True], ids=["unversioned", "1.1.0"])
def client(request, spotler_sandbox):
    with make_client(spotler_sandbox, v110=request.param) as spotler_client:
        yield spotler_client


def anna(**changes) -> Contact:
    fields = {
        "external_id": "cust-1",
        "properties": {"email": "anna@example.nl", "firstName": "Anna"},
        "permissions": {1: True},
    }
    return Contact(**(fields | changes))


def test_the_property_list_names_the_permission_bits(client):
    properties = {p.name: p for p in client.list_properties()}

    assert properties["email"].type == "email"
    permissions = properties["permissions"]
    assert permissions.type == "set"
    assert permissions.bits and all(isinstance(bit, int) for bit in permissions.bits)
    assert all(entry.description for entry in permissions.entries)


def test_an_upserted_contact_reads_back_with_its_properties_and_permissions(client):
    client.upsert_contact(anna())

    contact = client.get_contact("cust-1")

    assert contact.external_id == "cust-1"
    assert contact.properties["email"] == "anna@example.nl"
    assert contact.properties["firstName"] == "Anna"
    assert contact.permissions[1] is True
    assert contact.encrypted_id
    assert contact.created.tzinfo is not None
    assert contact.last_changed.tzinfo is not None
    assert abs((datetime.now(UTC) - contact.last_changed).total_seconds()) < 300


def test_upserting_again_updates_the_same_contact(client):
    client.upsert_contact(anna())
    client.upsert_contact(anna(properties={"email": "anna@example.nl", "firstName": "Annie"}))

    assert client.get_contact("cust-1").properties["firstName"] == "Annie"


def test_purge_clears_the_properties_not_sent_and_merge_keeps_them(client):
    client.upsert_contact(anna(properties={"email": "anna@example.nl", "firstName": "Anna"}))
    client.upsert_contact(anna(properties={"email": "anna@example.nl"}), purge=False)
    assert client.get_contact("cust-1").properties.get("firstName") == "Anna"

    client.upsert_contact(anna(properties={"email": "anna@example.nl"}), purge=True)
    assert "firstName" not in client.get_contact("cust-1").properties


def test_property_values_of_date_types_are_sent_in_spotlers_formats(client):
    bought = datetime(2024, 4, 1, 12, 30, tzinfo=UTC)
    properties = {"email": "anna@example.nl", "lastPurchaseDate": bought}

    client.upsert_contact(anna(properties=properties | {"birthday": date(1990, 5, 17)}))

    stored = client.get_contact("cust-1").properties
    assert datetime.fromisoformat(stored["lastPurchaseDate"]) == bought
    assert stored["birthday"].startswith("1990-05-17")


def test_inserting_an_existing_contact_without_update_is_refused_once(client, spotler_sandbox):
    client.upsert_contact(anna())

    with pytest.raises(SpotlerError) as caught:
        client.upsert_contact(anna(), update=False)

    assert caught.value.status == 400 and caught.value.permanent
    assert count(spotler_sandbox, "POST contact", 400) == 1


def test_an_invalid_email_is_refused_in_spotlers_words(client):
    with pytest.raises(SpotlerError) as caught:
        client.upsert_contact(anna(properties={"email": "not an address"}))

    error = caught.value
    assert error.status == 400 and error.permanent and error.error_type
    assert str(error) == f"Spotler answered 400 {error.error_type}: {error.message}"
    assert "mail" in error.message.lower()


def test_a_property_spotler_does_not_know_is_refused(client):
    with pytest.raises(SpotlerError) as caught:
        client.upsert_contact(anna(properties={"email": "anna@example.nl", "shoeSize": "42"}))

    assert caught.value.status == 400 and caught.value.permanent
    assert caught.value.message == "Property is invalid"


def test_a_contact_without_an_external_id_is_refused_before_sending(client, spotler_sandbox):
    with pytest.raises(ValueError, match="external_id"):
        client.upsert_contact(Contact(properties={"email": "anna@example.nl"}))

    assert count(spotler_sandbox, "POST contact") == 0


def test_250_contacts_are_upserted_in_batches_of_100(client, spotler_sandbox):
    contacts = [
        Contact(external_id=f"cust-{n}", properties={"email": f"c{n}@example.nl"})
        for n in range(250)
    ]

    results = client.upsert_contacts(contacts)

    assert len(results) == 250 and all(r.ok for r in results)
    assert [r.external_id for r in results] == [c.external_id for c in contacts]
    assert count(spotler_sandbox, "POST contact/list", 200) == 3
    assert client.get_contact("cust-249").properties["email"] == "c249@example.nl"


def test_a_batch_with_a_contact_without_external_id_sends_nothing(client, spotler_sandbox):
    contacts = [Contact(external_id="cust-1"), Contact(properties={"email": "x@example.nl"})]

    with pytest.raises(ValueError, match="external_id"):
        client.upsert_contacts(contacts)

    assert count(spotler_sandbox, "POST contact/list") == 0


def test_a_bad_contact_in_a_batch_does_not_refuse_the_others(client):
    contacts = [
        Contact(external_id="cust-1", properties={"email": "good@example.nl"}),
        Contact(external_id="cust-2", properties={"email": "not an address"}),
    ]

    good, bad = client.upsert_contacts(contacts)

    assert good.ok
    assert not bad.ok and bad.code != BatchCode.OK and bad.message
    assert client.get_contact("cust-1") is not None


def test_update_changes_only_what_is_sent(client):
    client.upsert_contact(anna(permissions={1: True, 2: True}))

    client.update_contact(Contact(external_id="cust-1", permissions={2: False}))

    contact = client.get_contact("cust-1")
    assert contact.permissions[1] is True and contact.permissions[2] is False
    assert contact.properties["firstName"] == "Anna"


def test_updating_an_unknown_contact_is_a_permanent_404(client, spotler_sandbox):
    with pytest.raises(SpotlerError) as caught:
        client.update_contact(Contact(external_id="nobody", properties={"firstName": "X"}))

    assert caught.value.status == 404 and caught.value.error_type == "CONTACT_NOT_FOUND"
    assert caught.value.permanent and caught.value.attempts == 1


def test_an_update_with_an_invalid_email_is_refused(client):
    client.upsert_contact(anna())

    with pytest.raises(SpotlerError) as caught:
        client.update_contact(Contact(external_id="cust-1", properties={"email": "nope"}))

    assert caught.value.status == 400 and caught.value.message == "Email is invalid"
    assert client.get_contact("cust-1").properties["email"] == "anna@example.nl"


def test_getting_an_unknown_contact_gives_none(client):
    assert client.get_contact("nobody") is None


@pytest.mark.parametrize("external_id", ["klant/12", "a b+c@d.nl", "é&?=#%"])
def test_external_ids_with_reserved_characters_address_the_right_contact(client, external_id):
    client.upsert_contact(anna(external_id=external_id))

    assert client.get_contact(external_id).external_id == external_id
    client.update_contact(Contact(external_id=external_id, properties={"firstName": "B"}))
    assert client.get_contact(external_id).properties["firstName"] == "B"


def test_inactivate_blacklists_the_contact(client, spotler_sandbox):
    client.upsert_contact(anna())

    assert client.inactivate_contact("cust-1") == Inactivation.INACTIVATED

    assert count(spotler_sandbox, "GET contact/properties/list") == 0
    assert spotler_sandbox.control("GET", "contacts/cust-1")["blacklisted"] is True
    assert client.get_contact("cust-1").channels == {"EMAIL": False}


def test_inactivating_an_unknown_contact_is_a_permanent_404(client):
    with pytest.raises(SpotlerError) as caught:
        client.inactivate_contact("nobody")

    assert caught.value.status == 404 and caught.value.permanent


def test_anonymize_erases_the_contacts_personal_data(client, spotler_sandbox):
    client.upsert_contact(anna())

    client.anonymize_contact("cust-1")

    contact = client.get_contact("cust-1")
    assert contact is None or "email" not in contact.properties
    assert spotler_sandbox.control("GET", "contacts/cust-1")["anonymized"] is True


def test_anonymizing_an_unknown_contact_is_a_permanent_404(client):
    with pytest.raises(SpotlerError) as caught:
        client.anonymize_contact("nobody")

    assert caught.value.status == 404 and caught.value.permanent


def test_a_subscriber_without_an_external_id_is_found_by_email(client):
    client.subscribe(
        Contact(
            properties={"email": "new+news@example.nl", "firstName": "Nina"}, permissions={1: True}
        )
    )

    (found,) = client.search_contacts(property_name="email", value="new+news@example.nl")
    assert found.properties["firstName"] == "Nina"
    assert found.permissions[1] is True


def test_subscribing_an_invalid_email_is_refused(client):
    with pytest.raises(SpotlerError) as caught:
        client.subscribe(Contact(properties={"email": "nope"}))

    assert caught.value.status == 400 and caught.value.permanent


@pytest.mark.parametrize("email", ["a+b@example.nl", "x=y@example.nl", "o'brien&co@example.nl"])
def test_search_percent_encodes_the_value(client, email):
    client.upsert_contact(anna(properties={"email": email}))
    client.upsert_contact(Contact(external_id="cust-2", properties={"email": "other@example.nl"}))

    found = list(client.search_contacts(property_name="email", value=email))

    assert [c.external_id for c in found] == ["cust-1"]


def test_search_pages_through_every_match(client, spotler_sandbox):
    client.upsert_contacts(
        Contact(external_id=f"cust-{n}", properties={"email": f"c{n}@example.nl", "city": "Delft"})
        for n in range(7)
    )

    pages = list(client.iter_search_pages(property_name="city", value="Delft", page_size=3))

    assert sum(len(p.items) for p in pages) == 7
    assert len({c.external_id for p in pages for c in p.items}) == 7
    assert pages[-1].after is None
