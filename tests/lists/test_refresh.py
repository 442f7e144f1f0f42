"""Refreshing a temporary list against the sandbox: new contacts are added to the list in
Spotler; when a contact must leave (unsubscribed), the list is replaced by a new one and the old
one deleted once the new one is complete; a replacement needs one free slot of the budget.
On the pages and through the API."""

import threading

import pytest
from django.db import connection
from django.urls import reverse

from contacts.batch import upsert_contacts
from contacts.models import TokenScope
from lists import budget, lifecycle, refresh, send
from lists.models import TempList, TempListState
from lists.selection import SelectionFilters, select_contacts
from tests.contacts.conftest import ApiClient, make_token
from tests.lists.helpers import contacts_in_spotler, ledger_has
from tests.queued_tasks import run_task, take_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

DUTCH = SelectionFilters(language="nl")


def run_queued() -> list:
    """Run the lists' queued tasks, and those they queue in turn (a delete after a send)."""
    done = []
    while tasks := [t for t in take_queued_tasks() if t.get("group") == "lists"]:
        done += [run_task(task) for task in tasks]
    return done


def in_sandbox(sandbox, spotler_id: str) -> dict | None:
    found = [t for t in sandbox.state()["templists"] if t["externalTemporaryListId"] == spotler_id]
    return found[0] if found else None


def complete_list(name: str = "Dutch guests") -> TempList:
    """A list of the Dutch contacts, sent and complete in the sandbox."""
    take_queued_tasks()
    made = budget.create_list(
        name=name, contact_ids=select_contacts(DUTCH).ids, filters=DUTCH.as_dict()
    )
    run_queued()
    made.refresh_from_db()
    assert made.state == TempListState.COMPLETE
    return made


def send_newsletter_permission(external_id: str, *, on: bool) -> None:
    """The shop sends the contact again, with its newsletter permission (bit 1) on or off."""
    item = {"external_id": external_id, "email": f"{external_id.lower()}@example.nl"}
    item["language"] = "nl"  # as it was (the selections here are by language)
    (result,) = upsert_contacts(items=[{**item, "newsletter": on}])
    assert result.error is None


def unsubscribe(external_id: str) -> None:
    send_newsletter_permission(external_id, on=False)


def test_a_refresh_that_finds_only_new_contacts_adds_them_to_the_list_in_spotler(lists_sandbox):
    contacts_in_spotler(lists_sandbox, 3)
    made = complete_list()
    before = list(made.contact_ids)
    new = contacts_in_spotler(lists_sandbox, 2, start=10)
    contacts_in_spotler(lists_sandbox, 1, language="de", start=20)  # not in the selection

    outcome = refresh.refresh_list(list_pk=made.pk)

    assert (outcome.refreshed.pk, outcome.added, outcome.leaving) == (made.pk, 2, 0)
    assert outcome.describe(made.name) == "2 contacts added to “Dutch guests”; they are being sent."
    run_queued()
    made.refresh_from_db()
    assert (made.state, made.sent, made.total) == (TempListState.COMPLETE, 5, 5)
    assert made.refreshed_at is not None
    in_spotler = in_sandbox(lists_sandbox, made.spotler_id)["contacts"]
    assert (in_spotler[:3], sorted(in_spotler[3:])) == (before, new)
    assert len(lists_sandbox.state()["templists"]) == 1

    again = refresh.refresh_list(list_pk=made.pk)
    assert (
        again.describe(made.name) == "No change: “Dutch guests” holds its selection's 5 contacts."
    )
    assert take_queued_tasks() == []


def test_a_contact_who_unsubscribed_makes_the_refresh_replace_the_list(lists_sandbox):
    ids = contacts_in_spotler(lists_sandbox, 3)
    made = complete_list()
    unsubscribe(ids[1])
    new = contacts_in_spotler(lists_sandbox, 1, start=10)

    outcome = refresh.refresh_list(list_pk=made.pk)

    replacement = outcome.refreshed
    assert (outcome.leaving, outcome.added) == (1, 0)
    assert replacement.name.startswith("Dutch guests (refreshed 20")
    assert replacement.replaces == made
    assert (replacement.filters, replacement.expires_at) == (made.filters, made.expires_at)
    assert sorted(replacement.contact_ids) == sorted([ids[0], ids[2], *new])
    assert replacement.left_out["permissions_off"] == 1
    assert outcome.describe(made.name).startswith(
        f"1 contact must leave “Dutch guests”, and Spotler can only add to a list: it is "
        f"replaced by “{replacement.name}” (3 contacts), and the old list is deleted once the "
        "new one is complete."
    )
    made.refresh_from_db()
    assert made.state == TempListState.COMPLETE  # kept until the new one is complete
    with pytest.raises(refresh.RefreshRefused, match="is being replaced by"):
        refresh.refresh_list(list_pk=made.pk)

    run_queued()  # the new list is sent; then the old one is deleted

    replacement.refresh_from_db()
    made.refresh_from_db()
    assert replacement.state == TempListState.COMPLETE
    assert made.state == TempListState.DELETED
    in_spotler = in_sandbox(lists_sandbox, replacement.spotler_id)["contacts"]
    assert in_spotler == replacement.contact_ids
    assert in_sandbox(lists_sandbox, made.spotler_id) is None

    # Refreshed again, the replacement is named after the first list, not "(refreshed …)" twice.
    unsubscribe(ids[0])
    second = refresh.refresh_list(list_pk=replacement.pk).refreshed
    assert second.name.startswith("Dutch guests (refreshed 20")
    assert second.name.count("refreshed") == 1
    assert sorted(second.contact_ids) == sorted([ids[2], *new])


def test_the_schedule_deletes_a_replaced_list_the_send_did_not_get_to(lists_sandbox):
    ids = contacts_in_spotler(lists_sandbox, 2)
    made = complete_list()
    unsubscribe(ids[0])
    replacement = refresh.refresh_list(list_pk=made.pk).refreshed
    take_queued_tasks()
    send.send_list(replacement.pk)  # the worker stopped before it deleted the old list

    assert TempList.objects.get(pk=made.pk).state == TempListState.COMPLETE
    assert "1 replaced" in lifecycle.expire_temporary_lists()

    assert TempList.objects.get(pk=made.pk).state == TempListState.DELETED
    assert in_sandbox(lists_sandbox, made.spotler_id) is None
    assert lifecycle.expire_temporary_lists() == "no list to delete"


def test_a_replacement_when_the_budget_is_full_is_refused_and_nothing_changes(
    lists_sandbox, settings
):
    settings.SPOTLER_TEMPLIST_LIMIT = 2
    lists_sandbox.control("POST", "templists", {"consumer_key": "crm", "count": 1})
    ids = contacts_in_spotler(lists_sandbox, 3)
    made = complete_list()
    unsubscribe(ids[0])
    before = lists_sandbox.requests().get("POST templist")

    with pytest.raises(refresh.ReplacementNeedsSlot) as refused:
        refresh.refresh_list(list_pk=made.pk)

    words = str(refused.value)
    assert words.startswith("All 2 temporary lists of the Spotler account are in use")
    assert "“Dutch guests” (spotlersync-" in words  # our oldest list, as any full budget says
    assert "replaces it" in words and "needs one free slot" in words
    made.refresh_from_db()
    assert (made.state, sorted(made.contact_ids), made.refreshed_at) == (
        TempListState.COMPLETE,
        ids,
        None,
    )
    assert list(TempList.objects.values_list("name", flat=True)) == ["Dutch guests"]
    assert lists_sandbox.requests().get("POST templist") == before  # Spotler not asked
    before = in_sandbox(lists_sandbox, made.spotler_id)["contacts"]
    assert before == made.contact_ids

    # Adding needs no slot: a full budget does not stop a refresh that only adds.
    send_newsletter_permission(ids[0], on=True)
    new = contacts_in_spotler(lists_sandbox, 1, start=10)
    assert refresh.refresh_list(list_pk=made.pk).added == 1
    run_queued()
    assert in_sandbox(lists_sandbox, made.spotler_id)["contacts"] == [*before, *new]


def test_only_a_complete_list_is_refreshed(lists_sandbox):
    contacts_in_spotler(lists_sandbox, 2)
    take_queued_tasks()
    made = budget.create_list(
        name="Still sending", contact_ids=select_contacts(DUTCH).ids, filters=DUTCH.as_dict()
    )

    with pytest.raises(refresh.RefreshRefused, match="Only a complete list can be refreshed"):
        refresh.refresh_list(list_pk=made.pk)
    assert TempList.objects.get(pk=made.pk).refreshed_at is None


def test_a_marketer_refreshes_a_list_on_its_page_and_follows_the_replacement(
    lists_sandbox, client_as
):
    ids = contacts_in_spotler(lists_sandbox, 3)
    made = complete_list()
    browser = client_as("marketer")
    page = browser.get(reverse("lists:list-detail", args=[made.pk])).content.decode()
    assert 'data-testid="refresh-form"' in page and "needs one free slot" in page

    contacts_in_spotler(lists_sandbox, 1, start=10)
    answer = browser.post(reverse("lists:list-refresh", args=[made.pk]), follow=True)
    assert "1 contact added to “Dutch guests”" in answer.content.decode()
    page = browser.get(reverse("lists:list-detail", args=[made.pk])).content.decode()
    assert "It can be refreshed once it is complete." in page
    run_queued()

    unsubscribe(ids[0])
    answer = browser.post(reverse("lists:list-refresh", args=[made.pk]), follow=True)
    replacement = TempList.objects.get(replaces=made)
    assert answer.redirect_chain[-1][0] == reverse("lists:list-detail", args=[replacement.pk])
    page = answer.content.decode()
    assert "1 contact must leave “Dutch guests”" in page
    assert f"replaced by “{replacement.name}”" in page
    assert 'data-testid="list-replaces"' in page and "deleted once this list is complete" in page
    old_page = browser.get(reverse("lists:list-detail", args=[made.pk])).content.decode()
    assert 'data-testid="list-replaced-by"' in old_page
    assert 'data-testid="list-being-replaced"' in old_page
    assert 'data-testid="refresh-form"' not in old_page

    run_queued()
    old_page = browser.get(reverse("lists:list-detail", args=[made.pk])).content.decode()
    assert "Deleted" in old_page and replacement.name in old_page

    account_manager = client_as("account_manager")
    assert account_manager.post(reverse("lists:list-refresh", args=[made.pk])).status_code == 403


@pytest.fixture
def api(client, lists_sandbox, settings) -> ApiClient:
    settings.API_RATE_LIMIT = 0
    take_queued_tasks()
    return ApiClient(client, make_token(TokenScope.WRITE))


def test_a_list_made_through_the_api_is_refreshed_from_the_ids_it_was_named_by(
    api, lists_sandbox, settings
):
    ids = contacts_in_spotler(lists_sandbox, 3)
    late = "C-LATE"
    made = api.post("lists", {"name": "Guests", "external_ids": [*ids, ids[0], late]}).json()
    assert TempList.objects.get(spotler_id=made["id"]).named_ids == [*ids, late]
    assert made["counts"]["unknown_ids"] == 1
    run_queued()

    # The ledger and Spotler come to know the late contact: the refresh adds it.
    lists_sandbox.control(
        "POST", "contacts", {"externalId": late, "properties": {"email": "late@example.nl"}}
    )
    ledger_has([late])

    added = api.post(f"lists/{made['id']}/refresh", {})
    assert added.status_code == 202, added.json()
    body = added.json()
    assert (body["id"], body["state"], body["counts"]["total"]) == (made["id"], "draft", 4)
    assert (body["unknown_ids"], body["replaces"], body["refreshed_at"] is not None) == (
        [],
        None,
        True,
    )
    busy = api.post(f"lists/{made['id']}/refresh", {})
    assert (busy.status_code, busy.json()["error"]) == (409, "list_not_complete")
    assert "Only a complete list can be refreshed" in busy.json()["detail"]
    run_queued()
    assert in_sandbox(lists_sandbox, made["id"])["contacts"] == [*ids, late]

    unsubscribe(ids[2])
    settings.SPOTLER_TEMPLIST_LIMIT = 1
    full = api.post(f"lists/{made['id']}/refresh", {})
    assert (full.status_code, full.json()["error"]) == (409, "list_budget_exhausted")
    assert "needs one free slot" in full.json()["detail"]

    settings.SPOTLER_TEMPLIST_LIMIT = 30
    replaced = api.post(f"lists/{made['id']}/refresh", {})
    assert replaced.status_code == 202, replaced.json()
    new = replaced.json()
    assert new["id"] != made["id"] and new["replaces"] == made["id"]
    assert new["name"].startswith("Guests (refreshed ")
    assert (new["counts"]["total"], new["counts"]["left_out"]["permissions_off"]) == (3, 1)
    old = api.get(f"lists/{made['id']}").json()
    assert (old["state"], old["replaced_by"]) == ("complete", new["id"])

    run_queued()
    assert api.get(f"lists/{made['id']}").json()["state"] == "deleted"
    assert api.get(f"lists/{new['id']}").json()["state"] == "complete"
    assert in_sandbox(lists_sandbox, new["id"])["contacts"] == [ids[0], ids[1], late]
    assert in_sandbox(lists_sandbox, made["id"]) is None


def test_another_systems_list_is_not_refreshed_through_the_api(api, lists_sandbox):
    (theirs,) = lists_sandbox.control("POST", "templists", {"count": 1})["created"]

    refused = api.post(f"lists/{theirs}/refresh", {})

    assert (refused.status_code, refused.json()["error"]) == (403, "not_our_list")
    assert "only lists made here can be refreshed" in refused.json()["detail"]
    assert api.post("lists/nobody-s-list/refresh", {}).status_code == 404


def test_two_refreshes_of_one_list_at_the_same_moment_make_one_replacement(lists_sandbox):
    """PostgreSQL only (row locks): the second is told the list is being replaced already."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite runs one writer at a time")
    ids = contacts_in_spotler(lists_sandbox, 3)
    made = complete_list()
    unsubscribe(ids[0])
    lists_sandbox.set(latency_ms=100)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def refresh_now() -> None:
        try:
            start.wait()
            outcomes.append(refresh.refresh_list(list_pk=made.pk).refreshed.name)
        except refresh.RefreshRefused as refusal:
            outcomes.append(str(refusal))
        finally:
            connection.close()

    threads = [threading.Thread(target=refresh_now) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    replacement = TempList.objects.get(replaces=made)
    assert replacement.name in outcomes
    (refusal,) = [o for o in outcomes if o != replacement.name]
    # Refused in the budget's lock, or (had it come later) before it: both say so.
    assert refusal.startswith("“Dutch guests” is being replaced")
    assert TempList.objects.count() == 2
    assert len(lists_sandbox.state()["templists"]) == 2
