"""Marketers and Admins search Spotler itself by property values and see each contact's place in
the ledger."""

import pytest
from django.urls import reverse

from contacts.models import Contact, SyncStatus
from tests.lists.helpers import ledger_has
from tests.public.lookup_helpers import in_spotler


@pytest.fixture
def spotler_account(lists_sandbox, catalogue):
    in_spotler(lists_sandbox, "C-1", email="c-1@example.nl", city="Utrecht", customerType="retail")
    in_spotler(lists_sandbox, "C-2", email="c-2@example.nl", city="utrecht", customerType="retail")
    in_spotler(lists_sandbox, "C-3", email="c-3@example.nl", city="Utrecht", customerType="b2b")
    in_spotler(lists_sandbox, None, email="form@example.nl", city="Utrecht")
    in_spotler(lists_sandbox, "C-4", email="c-4@example.nl", city="Zwolle", customerType="retail")
    ledger_has(["C-1", "C-2"])
    Contact.objects.filter(external_id="C-2").update(
        sync_status=SyncStatus.FAILED, sync_error="Email is invalid"
    )
    return lists_sandbox


def search(client, *pairs):
    query = [("property", p) for p, _ in pairs]
    values = [("value", v) for _, v in pairs]
    params = "&".join(f"{k}={v}" for pair in zip(query, values, strict=True) for k, v in pair)
    return client.get(f"{reverse('public:search-spotler')}?{params}")


def rows(response) -> list[str]:
    text = response.content.decode()
    return [part.split("</tr>")[0] for part in text.split('data-testid="search-result"')[1:]]


def test_the_contacts_found_show_whether_and_how_they_are_in_the_ledger(client_as, spotler_account):
    response = search(client_as("marketer"), ("city", "Utrecht"))
    found = {row.split("<td>")[1].split("</td>")[0]: row for row in rows(response)}
    assert set(found) == {"C-1", "C-2", "C-3", "—"}
    assert 'href="/contacts/C-1/"' in found["C-1"] and ">synced<" in found["C-1"]
    assert ">failed<" in found["C-2"] and "Email is invalid" in found["C-2"]
    assert "not in the ledger" in found["C-3"]
    assert "made in Spotler itself" in found["—"] and "form@example.nl" in found["—"]


def test_several_conditions_must_all_hold(client_as, spotler_account):
    response = search(client_as("admin"), ("city", "Utrecht"), ("customerType", "retail"))
    ids = sorted(row.split("<td>")[1].split("</td>")[0] for row in rows(response))
    assert ids == ["C-1", "C-2"]
    assert "it is asked for the <strong>first</strong> condition" in response.content.decode()


def test_a_value_of_the_wrong_type_is_explained_and_spotler_is_not_asked(
    client_as, spotler_account
):
    before = spotler_account.requests().get("GET contact/search", {})
    response = search(client_as("marketer"), ("loyaltyPoints", "lots"))
    assert "The value for loyaltyPoints is not a whole number." in response.content.decode()
    assert spotler_account.requests().get("GET contact/search", {}) == before


def test_spotler_down_or_throttling_is_said_in_words(client_as, spotler_account):
    client = client_as("marketer")
    spotler_account.set(error_rate=1.0)
    down = search(client, ("city", "Utrecht"))
    assert down.status_code == 200
    assert "Spotler could not be reached or failed" in down.content.decode()
    spotler_account.set(error_rate=0.0)
    spotler_account.control("POST", "burst429", {"count": 1, "retry_after": 7})
    busy = search(client, ("city", "Utrecht"))
    assert busy.status_code == 200
    assert "Spotler is busy and asked us to slow down. Try again in 7 seconds." in (
        busy.content.decode()
    )


def test_without_a_catalogue_the_page_says_to_refresh_it(client_as, db):
    response = client_as("marketer").get(reverse("public:search-spotler"))
    assert "Refresh it on the" in response.content.decode()


def test_marketers_find_the_search_in_the_menu_and_account_managers_do_not(client_as, db):
    assert 'data-testid="nav-search"' in client_as("marketer").get("/").content.decode()
    assert 'data-testid="nav-search"' not in client_as("accountmanager").get("/").content.decode()
