"""Contacts in the sandbox behave like Spotler's: update and purge, per-bit permissions,
deduplication, blacklisting and anonymizing (spotler-api.md §3, §5, §8, §9, §13.3)."""

from datetime import datetime

import pytest

from tests.spotler.sandbox_helpers import bits, error_of


def insert(api, external_id: str, *, update: bool = False, purge: bool = False, **properties):
    return api.post(
        "contact",
        json={
            "update": update,
            "purge": purge,
            "contact": {"externalId": external_id, "properties": properties},
        },
    )


def test_an_inserted_contact_reads_back_with_its_properties_and_timestamps(api):
    assert insert(api, "c-1", email="anna@example.nl", firstName="Anna").status_code == 204

    contact = api.get("contact/c-1").json()

    assert contact["externalId"] == "c-1"
    assert contact["properties"]["email"] == "anna@example.nl"
    assert contact["properties"]["firstName"] == "Anna"
    assert datetime.fromisoformat(contact["created"]).utcoffset() is not None
    assert contact["lastChanged"] == contact["created"]
    assert contact["encryptedId"] and contact["temporary"] is False
    assert contact["channels"] == [{"name": "EMAIL", "value": True}]


def test_properties_without_a_value_are_left_out(api):
    api.upsert("c-1", email="anna@example.nl")

    properties = api.get("contact/c-1").json()["properties"]

    assert "firstName" not in properties and "city" not in properties


def test_inserting_an_existing_contact_without_update_is_refused(api):
    insert(api, "c-1", email="anna@example.nl")

    response = insert(api, "c-1", email="other@example.nl")

    assert error_of(response)[:2] == (400, "CONTACT_ALREADY_EXISTS")
    assert api.get("contact/c-1").json()["properties"]["email"] == "anna@example.nl"


def test_an_upsert_without_purge_keeps_the_properties_it_does_not_send(api):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna", city="Utrecht")

    api.upsert("c-1", city="Zwolle")

    properties = api.get("contact/c-1").json()["properties"]
    assert (properties["firstName"], properties["city"]) == ("Anna", "Zwolle")


def test_an_upsert_with_purge_clears_the_properties_it_does_not_send(api):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna", city="Utrecht")

    api.upsert("c-1", purge=True, email="anna@example.nl", city="Zwolle")

    properties = api.get("contact/c-1").json()["properties"]
    assert "firstName" not in properties
    assert properties["city"] == "Zwolle"


def test_a_null_value_clears_one_property(api):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna")

    api.upsert("c-1", firstName=None)

    assert "firstName" not in api.get("contact/c-1").json()["properties"]


def test_permission_bits_merge_per_bit(api):
    api.upsert("c-1", permissions=[{"bit": 1, "enabled": True}, {"bit": 3, "enabled": True}])

    api.upsert("c-1", permissions=[{"bit": 2, "enabled": True}, {"bit": 3, "enabled": False}])

    assert bits(api.get("contact/c-1").json()) == {1: True, 2: True, 3: False}


def test_permissions_come_back_with_every_bit_and_its_description(api):
    api.upsert("c-1", permissions=[{"bit": 2, "enabled": True}])

    permissions = api.get("contact/c-1").json()["properties"]["permissions"]

    assert permissions == [
        {"bit": 1, "enabled": False, "description": "Newsletter"},
        {"bit": 2, "enabled": True, "description": "Promotions"},
        {"bit": 3, "enabled": False, "description": "Surveys"},
    ]


def test_purge_replaces_the_whole_permission_set(api):
    api.upsert("c-1", permissions=[{"bit": 1, "enabled": True}, {"bit": 2, "enabled": True}])

    api.upsert("c-1", purge=True, permissions=[{"bit": 3, "enabled": True}])

    assert bits(api.get("contact/c-1").json()) == {1: False, 2: False, 3: True}


def test_an_invalid_email_is_refused_in_spotlers_words(api):
    response = insert(api, "c-1", email="anna-at-example")

    assert error_of(response) == (400, "INVALID_PARAMS", "Email is invalid")
    assert api.get("contact/c-1").status_code == 404


@pytest.mark.parametrize(
    "properties",
    [
        {"favouriteColour": "blue"},
        {"postalCode": "SW1A 1AA"},
        {"birthday": "12-04-1988"},
        {"lastPurchaseDate": "2025-10-28T19:42:00"},
        {"loyaltyPoints": "many"},
        {"totalSpent": "12.345"},
        {"gender": "male"},
        {"permissions": [{"bit": 9, "enabled": True}]},
        {"permissions": [{"bit": 1, "enabled": "yes"}]},
    ],
    ids=[
        "unknown property",
        "non-Dutch postcode",
        "date not ISO",
        "moment without offset",
        "int not a number",
        "money with three decimals",
        "gender not M/F/U",
        "unknown permission bit",
        "enabled not a boolean",
    ],
)
def test_an_invalid_property_is_refused_and_nothing_is_written(api, properties):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna")

    response = insert(api, "c-1", update=True, firstName="Changed", **properties)

    assert error_of(response) == (400, "INVALID_PARAMS", "Property is invalid")
    assert api.get("contact/c-1").json()["properties"]["firstName"] == "Anna"


def test_a_contact_without_external_id_is_refused(api):
    response = api.post("contact", json={"update": True, "contact": {"properties": {}}})

    assert error_of(response) == (400, "INVALID_PARAMS", "Contact without externalId found")


def test_getting_an_unknown_contact_is_404_given_contact_not_found(api):
    assert error_of(api.get("contact/nobody")) == (
        404,
        "CONTACT_NOT_FOUND",
        "Given contact not found",
    )


def test_put_changes_an_existing_contact(api):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna")

    response = api.put(
        "contact/c-1",
        json={"purge": False, "contact": {"externalId": "c-1", "properties": {"city": "Delft"}}},
    )

    assert response.status_code == 204
    properties = api.get("contact/c-1").json()["properties"]
    assert (properties["firstName"], properties["city"]) == ("Anna", "Delft")


def test_put_on_an_unknown_contact_is_404_and_creates_nothing(api):
    response = api.put("contact/nobody", json={"contact": {"properties": {"city": "Delft"}}})

    assert error_of(response) == (404, "CONTACT_NOT_FOUND", "Given contact not found")
    assert api.get("contact/nobody").status_code == 404


def test_an_external_id_with_a_slash_and_a_space_works_when_percent_encoded(api):
    api.upsert("shop/42 b", email="anna@example.nl")

    assert api.get("contact/shop%2F42%20b").json()["externalId"] == "shop/42 b"


def test_a_batch_answers_a_result_per_contact(api):
    api.upsert("c-2", email="old@example.nl")

    response = api.post(
        "contact/list",
        json={
            "update": False,
            "contacts": [
                {"externalId": "c-1", "properties": {"email": "anna@example.nl"}},
                {"externalId": "c-2", "properties": {"email": "pieter@example.nl"}},
                {"externalId": "c-3", "properties": {"email": "broken"}},
            ],
        },
    )

    assert response.status_code == 200
    assert [(r["externalId"], r["code"]) for r in response.json()] == [
        ("c-1", "OK"),
        ("c-2", "CONTACT_ALREADY_EXISTS"),
        ("c-3", "PROPERTY_INVALID"),
    ]
    assert api.get("contact/c-1").status_code == 200
    assert api.get("contact/c-3").status_code == 404


def test_a_batch_of_more_than_100_contacts_is_refused_whole(api):
    contacts = [{"externalId": f"c-{n}", "properties": {}} for n in range(101)]

    response = api.post("contact/list", json={"update": True, "contacts": contacts})

    assert error_of(response) == (400, "INVALID_PARAMS", "Too many contacts provided (max is 100)")
    assert api.get("contact/c-0").status_code == 404


def test_a_batch_with_a_contact_without_external_id_is_refused_whole(api):
    contacts = [{"externalId": "c-1", "properties": {}}, {"properties": {}}]

    response = api.post("contact/list", json={"update": True, "contacts": contacts})

    assert error_of(response) == (400, "INVALID_PARAMS", "Contact without externalId found")
    assert api.get("contact/c-1").status_code == 404


def test_with_email_dedupe_a_new_external_id_with_a_known_email_merges_and_takes_over(
    spotler_sandbox, api
):
    spotler_sandbox.set(dedupe="email")
    api.upsert("shop-1", email="Anna@Example.nl", firstName="Anna", city="Utrecht")
    encrypted_id = api.get("contact/shop-1").json()["encryptedId"]

    api.upsert("crm-9", email="anna@example.nl", city="Zwolle")

    merged = api.get("contact/crm-9").json()
    assert merged["encryptedId"] == encrypted_id
    assert (merged["properties"]["firstName"], merged["properties"]["city"]) == ("Anna", "Zwolle")
    assert api.get("contact/shop-1").status_code == 404
    assert spotler_sandbox.state()["counts"]["contacts"] == 1


def test_with_external_id_dedupe_the_same_email_makes_two_contacts(spotler_sandbox, api):
    api.upsert("shop-1", email="anna@example.nl")

    api.upsert("crm-9", email="anna@example.nl")

    assert api.get("contact/shop-1").status_code == 200
    assert api.get("contact/crm-9").status_code == 200
    assert spotler_sandbox.state()["counts"]["contacts"] == 2


def test_inactivating_blacklists_the_contact_and_switches_its_email_channel_off(
    spotler_sandbox, api
):
    api.upsert("c-1", email="anna@example.nl", permissions=[{"bit": 1, "enabled": True}])

    response = api.put("contact/inactivate/c-1")

    assert response.status_code == 204 and not response.content
    assert spotler_sandbox.contact("c-1")["blacklisted"] is True
    contact = api.get("contact/c-1").json()
    assert contact["channels"] == [{"name": "EMAIL", "value": False}]
    assert bits(contact)[1] is True  # blacklisting overrides permissions, it does not change them


def test_anonymizing_erases_personal_data_and_refuses_later_writes(spotler_sandbox, api):
    api.upsert(
        "c-1",
        email="anna@example.nl",
        firstName="Anna",
        permissions=[{"bit": 1, "enabled": True}],
    )

    assert api.put("contact/anonymize/c-1").status_code == 204

    stored = spotler_sandbox.contact("c-1")
    assert stored["anonymized"] is True and stored["blacklisted"] is True
    assert "email" not in stored["properties"] and "firstName" not in stored["properties"]
    assert not any(bits(stored).values())
    response = insert(api, "c-1", update=True, email="anna@example.nl")
    assert error_of(response) == (400, "INVALID_STATE", "Contact is anonymized")
    assert api.put("contact/anonymize/c-1").status_code == 204


@pytest.mark.parametrize("action", ["inactivate", "anonymize"])
def test_inactivating_or_anonymizing_an_unknown_contact_is_404(api, action):
    assert error_of(api.put(f"contact/{action}/nobody"))[:2] == (404, "CONTACT_NOT_FOUND")


def test_a_wrong_method_on_a_known_path_is_405(api):
    assert api.delete("contact/c-1").status_code == 405


def test_an_unknown_endpoint_is_404(api):
    assert error_of(api.get("order/o-1"))[:2] == (404, "RESOURCE_NOT_FOUND")


def test_a_body_that_is_not_json_is_refused_saying_so(api):
    response = api.session.post(
        f"{api.base_url}/contact",
        data=b"{not json",
        headers={"Content-Type": "application/json"},
        auth=api.auth(),
        timeout=10,
    )

    status, error_type, message = error_of(response)
    assert (status, error_type) == (400, "INVALID_PARAMS")
    assert message.startswith("Request body is not valid JSON")


def test_the_property_catalogue_lists_types_and_permission_bits(api):
    catalogue = {p["name"]: p for p in api.get("contact/properties/list").json()}

    assert catalogue["email"]["type"] == "email"
    assert catalogue["birthday"]["type"] == "birthdate"
    assert catalogue["postalCode"]["type"] == "postcode"
    assert catalogue["phoneNumber"]["type"] == "mobNr"
    assert catalogue["lastPurchaseDate"]["type"] == "dateTime"
    assert catalogue["totalSpent"]["type"] == "money"
    assert catalogue["loyaltyPoints"]["type"] == "int"
    assert catalogue["taal"]["type"] == "string"
    assert catalogue["permissions"]["entries"] == [
        {"bit": 1, "description": "Newsletter", "rank": 1},
        {"bit": 2, "description": "Promotions", "rank": 2},
        {"bit": 3, "description": "Surveys", "rank": 3},
    ]
    assert catalogue["profileFields"]["type"] == "set"
