"""Contacts of a list that Spotler does not have yet are pushed first, by the push engine, and
then named in the list; a contact Spotler refuses is left out and counted; while Spotler
cannot take them the list fails visibly with Spotler's words, and resumes."""

import pytest
from django.test import Client

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus, TokenScope
from identity.models import DedupeMode, SpotlerAccount
from lists import budget, send
from lists.models import TempList, TempListState
from mapping.versions import current_version, save_version
from sync.models import OutboxEntry, OutboxStatus, SyncRun
from tests.contacts.conftest import ApiClient, make_token
from tests.lists.helpers import contacts_in_spotler
from tests.queued_tasks import run_task, take_queued_tasks

pytestmark = pytest.mark.django_db(transaction=True)

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


@pytest.fixture
def api(client, lists_sandbox, catalogue, settings) -> ApiClient:
    settings.API_RATE_LIMIT = 0
    take_queued_tasks()
    return ApiClient(client, make_token(TokenScope.WRITE))


def run_queued() -> list:
    return [run_task(task) for task in take_queued_tasks() if task.get("group") == "lists"]


def spotler_has(sandbox, external_id: str) -> bool:
    return any(c["externalId"] == external_id for c in sandbox.state()["contacts"])


def in_sandbox(sandbox, list_id: str) -> list[str]:
    (found,) = [t for t in sandbox.state()["templists"] if t["externalTemporaryListId"] == list_id]
    return found["contacts"]


def new_in_ledger(external_id: str, **fields) -> None:
    """A contact the shop just sent: in the ledger, its push still pending."""
    upsert_contact(
        external_id=external_id,
        raw_fields={**ANNA, "email": f"{external_id.lower()}@example.nl", **fields},
    )


def with_postcode_mapped(admin_user) -> None:
    rows = [*current_version().rows, {"source_fields": ["postcode"], "property": "postalCode",
            "type": "postcode"}]  # fmt: skip
    save_version(rows=rows, author=admin_user)


def test_a_contact_not_yet_in_spotler_is_pushed_first_and_then_named_in_the_list(
    api, lists_sandbox
):
    ids = contacts_in_spotler(lists_sandbox, 2)
    new_in_ledger("OTHER-1")  # an older change in the outbox, not of the list
    new_in_ledger("NEW-1")
    assert not spotler_has(lists_sandbox, "NEW-1")

    made = api.post("lists", {"name": "Guests", "external_ids": [*ids, "NEW-1"]}).json()
    assert (made["counts"]["total"], made["counts"]["to_push"]) == (3, 1)
    assert sum(made["counts"]["left_out"].values()) == 0
    run_queued()

    done = api.get(f"lists/{made['id']}").json()
    assert done["state"] == "complete"
    assert (done["counts"]["sent"], done["counts"]["to_push"]) == (3, 0)
    assert done["counts"]["pushed_first"] == 1
    assert in_sandbox(lists_sandbox, made["id"]) == [*ids, "NEW-1"]
    assert lists_sandbox.contact("NEW-1")["properties"]["email"] == "new-1@example.nl"
    # Pushed by the push engine: settled as any push, with a run in the sync history.
    contact = Contact.objects.get(external_id="NEW-1")
    assert contact.sync_status == SyncStatus.SYNCED and contact.synced_at is not None
    assert OutboxEntry.objects.get(contact=contact).status == OutboxStatus.DONE
    assert SyncRun.objects.filter(kind="push", sent=1).exists()
    # The list's own contacts go first: the rest of the outbox is left to the push task.
    assert Contact.objects.get(external_id="OTHER-1").sync_status == SyncStatus.PENDING


def test_a_contact_whose_push_spotler_refuses_is_left_out_counted_and_the_rest_complete(
    api, lists_sandbox, admin_user, admin_client: Client
):
    with_postcode_mapped(admin_user)
    ids = contacts_in_spotler(lists_sandbox, 2)
    new_in_ledger("BAD-1", postcode="not a postcode")
    new_in_ledger("NEW-1", postcode="3511 AB")

    made = api.post("lists", {"name": "Guests", "external_ids": [*ids, "BAD-1", "NEW-1"]})
    body = made.json()
    assert body["counts"]["to_push"] == 2
    run_queued()

    done = api.get(f"lists/{body['id']}").json()
    assert done["state"] == "complete", done["error"]
    assert done["counts"]["total"] == done["counts"]["sent"] == 3
    assert done["counts"]["left_out"]["push_failed"] == 1
    assert done["counts"]["pushed_first"] == 1
    assert in_sandbox(lists_sandbox, body["id"]) == [*ids, "NEW-1"]
    assert not spotler_has(lists_sandbox, "BAD-1")
    bad = Contact.objects.get(external_id="BAD-1")
    assert bad.sync_status == SyncStatus.FAILED and bad.sync_error.startswith("Spotler: “")

    found = TempList.objects.get(spotler_id=body["id"])
    page = admin_client.get(f"/lists/{found.pk}/").content.decode()
    assert "1 contact could not be pushed to Spotler and is left out" in page
    assert "1 contact was pushed to Spotler first" in page
    assert "1 could not be pushed to Spotler" in page  # the left-out line


def test_a_contact_held_for_review_is_left_out_and_never_merged_into_spotlers_contact(
    api, lists_sandbox
):
    """Under e-mail deduplication the second new id of an address is held (identity/guard.py):
    the list goes on without it, and Spotler's contact of that address keeps its own id."""
    lists_sandbox.set(dedupe="email")
    SpotlerAccount.objects.create(pk=1, dedupe_mode=DedupeMode.EMAIL)
    ids = contacts_in_spotler(lists_sandbox, 2)
    new_in_ledger("NEW-2", email="c-1@example.nl")  # C-1's address, as another customer

    made = api.post("lists", {"name": "Guests", "external_ids": [*ids, "NEW-2"]}).json()
    assert made["counts"]["to_push"] == 1
    run_queued()

    done = api.get(f"lists/{made['id']}").json()
    assert done["state"] == "complete", done["error"]
    assert done["counts"]["left_out"]["push_failed"] == 1
    assert in_sandbox(lists_sandbox, made["id"]) == ids
    assert spotler_has(lists_sandbox, "C-1")
    assert not spotler_has(lists_sandbox, "NEW-2")
    assert Contact.objects.get(external_id="NEW-2").sync_status == SyncStatus.HELD


def test_while_spotler_cannot_take_them_the_list_fails_with_spotlers_words_and_resumes(
    lists_sandbox, catalogue, spotler_client, admin_client: Client
):
    ids = contacts_in_spotler(lists_sandbox, 2)
    new_in_ledger("NEW-1")
    made = budget.create_list(name="Guests", contact_ids=[*ids, "NEW-1"], client=spotler_client)
    assert made.to_push == 1

    lists_sandbox.set(error_rate=1.0, error_statuses=[503])
    answer = send.send_list(made.pk, client=spotler_client, push_wait_seconds=5)

    made.refresh_from_db()
    assert made.state == TempListState.FAILED, answer
    assert (made.sent, made.to_push, made.total) == (0, 1, 3)
    assert "1 contact of the list is not in Spotler yet" in made.error
    assert "it is tried again from" in made.error
    assert "Spotler: “" in made.error and "(503 " in made.error
    assert made.can_resume
    assert in_sandbox(lists_sandbox, made.spotler_id) == []  # nothing named it meanwhile
    page = admin_client.get(f"/lists/{made.pk}/").content.decode()
    assert "Resume from contact 1" in page
    assert "1 contact not yet in Spotler is pushed first" in page

    lists_sandbox.set(error_rate=0.0)
    OutboxEntry.objects.update(not_before=None)  # its backoff is over
    assert send.resume_list(list_pk=made.pk)
    send.send_list(made.pk, client=spotler_client)

    made.refresh_from_db()
    assert (made.state, made.sent, made.error) == (TempListState.COMPLETE, 3, "")
    assert (made.to_push, made.pushed_first) == (0, 1)
    assert in_sandbox(lists_sandbox, made.spotler_id) == [*ids, "NEW-1"]


def test_the_page_says_how_many_contacts_are_pushed_first_while_they_are(
    lists_sandbox, admin_client: Client
):
    made = TempList.objects.create(
        name="Pushing", spotler_id="spotlersync-000000000001", contact_ids=["A", "B"],
        state=TempListState.PUSHING, to_push=12,
    )  # fmt: skip

    part = admin_client.get(f"/lists/{made.pk}/progress/").content.decode()

    assert "Pushing 12 contacts to Spotler first" in part
    assert 'hx-trigger="every 2s"' in part  # the page follows it
