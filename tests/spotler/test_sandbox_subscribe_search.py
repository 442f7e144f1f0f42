"""Subscribing matches on e-mail; searching answers `name=value`, paged on both base paths
(spotler-api.md §11, §12)."""

import pytest

from tests.spotler.sandbox_helpers import bits, error_of


def subscribe(api, **properties):
    return api.post("subscription/subscribe", json={"properties": properties})


def search(api, query: str, **params):
    return api.get("contact/search", params={"MPSearchQuery": query, "pageSize": 10, **params})


def test_subscribing_a_known_email_switches_the_permission_on_for_that_contact(api):
    api.upsert("c-1", email="anna@example.nl", firstName="Anna")

    response = subscribe(api, email="ANNA@example.nl", permissions=[{"bit": 2, "enabled": True}])

    assert response.status_code == 204
    contact = api.get("contact/c-1").json()
    assert bits(contact) == {1: False, 2: True, 3: False}
    assert contact["properties"]["firstName"] == "Anna"


def test_subscribing_a_new_email_creates_a_contact_without_external_id(spotler_sandbox, api):
    subscribe(api, email="new@example.nl", permissions=[{"bit": 1, "enabled": True}])

    (stored,) = spotler_sandbox.state()["contacts"]
    assert "externalId" not in stored
    assert stored["properties"]["email"] == "new@example.nl"
    assert bits(stored)[1] is True


def test_subscribing_without_a_valid_email_is_refused(api):
    assert error_of(subscribe(api, firstName="Anna")) == (400, "INVALID_PARAMS", "Email is invalid")
    assert error_of(subscribe(api, email="nope"))[2] == "Email is invalid"


def test_a_blacklisted_address_cannot_subscribe_again(api):
    api.upsert("c-1", email="anna@example.nl")
    api.put("contact/inactivate/c-1")

    response = subscribe(api, email="anna@example.nl", permissions=[{"bit": 1, "enabled": True}])

    assert error_of(response)[:2] == (400, "CONTACT_OPTOUT")


def test_an_anonymized_address_subscribing_again_becomes_a_new_contact(spotler_sandbox, api):
    api.upsert("c-1", email="anna@example.nl")
    api.put("contact/anonymize/c-1")

    response = subscribe(api, email="anna@example.nl", permissions=[{"bit": 1, "enabled": True}])

    assert response.status_code == 204
    assert spotler_sandbox.state()["counts"]["contacts"] == 2
    (found,) = search(api, "email=anna@example.nl").json()["contacts"]
    assert "externalId" not in found and bits(found)[1] is True
    assert spotler_sandbox.contact("c-1")["anonymized"] is True


def test_search_finds_a_contact_by_email_whatever_its_case(api):
    api.upsert("c-1", email="Anna@Example.nl")
    api.upsert("c-2", email="pieter@example.nl")

    body = search(api, "email=anna@example.NL").json()

    assert [c["externalId"] for c in body["contacts"]] == ["c-1"]
    assert body["paging"] == {}


def test_search_finds_a_contact_by_its_discount_code(api):
    api.upsert("c-1", email="anna@example.nl", discountCode="WELKOM-7Q2F")

    body = search(api, "discountCode=welkom-7q2f").json()

    assert [c["externalId"] for c in body["contacts"]] == ["c-1"]


def test_search_on_a_permission_finds_those_with_the_bit_on(api):
    api.upsert("c-1", permissions=[{"bit": 1, "enabled": True}])
    api.upsert("c-2", permissions=[{"bit": 1, "enabled": False}])

    assert [c["externalId"] for c in search(api, "permissions=1").json()["contacts"]] == ["c-1"]


@pytest.mark.parametrize("client", ["api", "api_v110"])
def test_search_is_paged_on_both_base_paths_and_the_last_page_has_no_after(request, api, client):
    for n in range(5):
        api.upsert(f"c-{n}", city="Utrecht")
    searcher = request.getfixturevalue(client)

    first = search(searcher, "city=Utrecht", pageSize=3).json()
    second = search(searcher, "city=Utrecht", pageSize=3, after=first["paging"]["after"]).json()

    assert [c["externalId"] for c in first["contacts"]] == ["c-0", "c-1", "c-2"]
    assert [c["externalId"] for c in second["contacts"]] == ["c-3", "c-4"]
    assert "after" not in second["paging"]
    timestamp = first["contacts"][0]["lastChanged"]
    assert isinstance(timestamp, int) == (client == "api_v110")


@pytest.mark.parametrize(
    "params",
    [
        {"pageSize": 10},
        {"MPSearchQuery": "email", "pageSize": 10},
        {"MPSearchQuery": "email=anna@example.nl"},
    ],
    ids=["no query", "no equals sign", "no page size"],
)
def test_a_search_without_a_usable_query_or_page_size_is_refused(api, params):
    assert error_of(api.get("contact/search", params=params))[:2] == (400, "INVALID_PARAMS")


def test_a_search_on_an_unknown_property_is_refused(api):
    assert error_of(search(api, "shoeSize=42"))[2] == "Property is invalid"
