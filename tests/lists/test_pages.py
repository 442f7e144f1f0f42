"""The lists pages: a Marketer previews a selection by language, sends it, sees it against the
budget, and deletes it; other systems' lists are shown, counted and never deletable."""

import pytest
from django.urls import reverse

from contacts.models import Contact
from lists.models import TempList, TempListState
from tests.lists.helpers import contacts_in_spotler, ledger_has
from tests.queued_tasks import run_task, take_queued_tasks

pytestmark = pytest.mark.django_db


def run_queued() -> None:
    for task in take_queued_tasks():
        if task.get("group") == "lists":
            run_task(task)


def test_a_marketer_sends_a_selection_by_language_sees_it_and_deletes_it(
    lists_sandbox, client_as, django_capture_on_commit_callbacks
):
    take_queued_tasks()
    dutch = contacts_in_spotler(lists_sandbox, 3, language="nl")
    contacts_in_spotler(lists_sandbox, 2, language="de", start=10)
    ledger_has(["GONE-1"], language="nl")
    Contact.objects.filter(external_id="GONE-1").update(inactivated_at="2024-01-01T00:00Z")
    lists_sandbox.control("POST", "templists", {"count": 1})
    browser = client_as("marketer")

    preview = browser.get(reverse("lists:list-new"), {"language": "nl"}).content.decode()
    assert "<strong>3</strong> contacts would be sent" in preview
    assert "1 left out: inactive" in preview
    assert "1 of 30</strong> temporary lists in use" in preview

    with django_capture_on_commit_callbacks(execute=True):
        sent = browser.post(reverse("lists:list-new"), {"language": "nl", "name": "Dutch guests"})
    made = TempList.objects.get(name="Dutch guests")
    assert sent.url == reverse("lists:list-detail", args=[made.pk])
    run_queued()

    page = browser.get(reverse("lists:list-list")).content.decode()
    assert "2 of 30</strong> temporary lists in use in the Spotler account (1 ours, 1 other" in page
    assert "3 of 3" in page and "Complete" in page
    assert "other-system-1 <small>(another system's)</small>" in page
    stored = {t["externalTemporaryListId"]: t for t in lists_sandbox.state()["templists"]}
    assert sorted(stored[made.spotler_id]["contacts"]) == dutch

    with django_capture_on_commit_callbacks(execute=True):
        browser.post(reverse("lists:list-delete"), {"spotler_id": [made.spotler_id]})
    run_queued()
    assert TempList.objects.get(pk=made.pk).state == TempListState.DELETED
    assert "1 of 30</strong>" in browser.get(reverse("lists:list-list")).content.decode()


def test_another_systems_list_cannot_be_deleted_from_our_page(lists_sandbox, client_as):
    (theirs,) = lists_sandbox.control("POST", "templists", {"count": 1})["created"]
    browser = client_as("marketer")

    answer = browser.post(reverse("lists:list-delete"), {"spotler_id": [theirs]}, follow=True)

    assert "is not one of our lists; only its system can delete it" in answer.content.decode()
    assert [t["externalTemporaryListId"] for t in lists_sandbox.state()["templists"]] == [theirs]
    page = browser.get(reverse("lists:list-list")).content.decode()
    assert f'value="{theirs}"' not in page


def test_a_failed_list_shows_spotlers_reason_and_offers_to_resume(lists_sandbox, client_as):
    made = TempList.objects.create(
        name="Broken", spotler_id="spotlersync-x", state=TempListState.FAILED,
        contact_ids=["A", "B", "C"], checkpoint=1,
        error="Spotler answered 400 INVALID_PARAMS: One or more contacts could not be found",
    )  # fmt: skip
    page = client_as("admin").get(reverse("lists:list-detail", args=[made.pk])).content.decode()

    assert "Failed: 1 of 3 contacts sent" in page
    assert "One or more contacts could not be found" in page
    assert "Resume from contact 2" in page


def test_a_lists_page_follows_its_sending_until_the_list_is_complete(client_as):
    made = TempList.objects.create(
        name="Guests", spotler_id="spotlersync-y", state=TempListState.SENDING,
        contact_ids=["A", "B", "C", "D"], checkpoint=2,
    )  # fmt: skip
    browser = client_as("marketer")
    progress = reverse("lists:list-progress", args=[made.pk])

    page = browser.get(reverse("lists:list-detail", args=[made.pk])).content.decode()
    assert f'hx-get="{progress}"' in page  # asks for its state again while sending
    assert "Sending: 2 of 4 contacts sent." in page

    TempList.objects.filter(pk=made.pk).update(state=TempListState.COMPLETE, checkpoint=4)
    part = browser.get(progress).content.decode()
    assert "Complete: 4 of 4 contacts sent." in part
    assert "hx-get" not in part  # done: the page stops asking
