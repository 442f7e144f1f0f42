"""Temporary lists against the sandbox: the budget (ours and other systems' lists), sending in
chunks with resume after a failure, deleting (in use, not found), expiry."""

from datetime import timedelta

import pytest
from django.utils import timezone

from lists import budget, lifecycle, send
from lists.models import TempList, TempListState
from tests.lists.helpers import contacts_in_spotler
from tests.queued_tasks import run_task, take_queued_tasks

pytestmark = pytest.mark.django_db


def sandbox_list(sandbox, spotler_id: str) -> dict | None:
    found = [t for t in sandbox.state()["templists"] if t["externalTemporaryListId"] == spotler_id]
    return found[0] if found else None


def run_queued() -> list:
    return [run_task(task) for task in take_queued_tasks() if task.get("group") == "lists"]


def test_a_list_is_made_sent_on_the_queue_and_complete_in_spotler(
    lists_sandbox, django_capture_on_commit_callbacks
):
    take_queued_tasks()
    ids = contacts_in_spotler(lists_sandbox, 3)
    with django_capture_on_commit_callbacks(execute=True):
        made = budget.create_list(name="Event guests", contact_ids=ids)

    assert sandbox_list(lists_sandbox, made.spotler_id)["contacts"] == []
    run_queued()

    made.refresh_from_db()
    assert (made.state, made.sent, made.total) == (TempListState.COMPLETE, 3, 3)
    assert sandbox_list(lists_sandbox, made.spotler_id)["contacts"] == ids
    assert made.expires_at > timezone.now() + timedelta(days=29)


def test_the_budget_counts_other_systems_lists_and_names_our_oldest_when_full(
    lists_sandbox, spotler_client, settings
):
    settings.SPOTLER_TEMPLIST_LIMIT = 3
    lists_sandbox.set(templist_limit=3)
    lists_sandbox.control("POST", "templists", {"consumer_key": "other-system", "count": 1})
    budget.create_list(name="Oldest of ours", contact_ids=[], client=spotler_client)
    budget.create_list(name="Newer of ours", contact_ids=[], client=spotler_client)

    seen = budget.read_budget(client=spotler_client)
    assert (seen.in_use, seen.free, len(seen.ours), len(seen.others)) == (3, 0, 2, 1)

    with pytest.raises(budget.BudgetExhausted) as refused:
        budget.create_list(name="One too many", contact_ids=[], client=spotler_client)

    assert "(2 ours, 1 other systems')" in str(refused.value)
    assert str(refused.value).index("Oldest of ours") < str(refused.value).index("Newer of ours")
    assert not TempList.objects.filter(name="One too many").exists()
    assert len(lists_sandbox.state()["templists"]) == 3
    assert lists_sandbox.requests()["POST templist"] == {"204": 2}  # refused before asking


def test_spotlers_own_too_many_lists_is_a_budget_refusal_too(
    lists_sandbox, spotler_client, settings
):
    settings.SPOTLER_TEMPLIST_LIMIT = 30  # we think there is room; Spotler's limit is lower
    lists_sandbox.set(templist_limit=1)
    budget.create_list(name="First", contact_ids=[], client=spotler_client)

    with pytest.raises(budget.BudgetExhausted, match="“First”"):
        budget.create_list(name="Second", contact_ids=[], client=spotler_client)
    assert list(TempList.objects.values_list("name", flat=True)) == ["First"]


def test_a_name_in_use_is_refused_before_spotler_is_asked(lists_sandbox, spotler_client):
    budget.create_list(name="Guests", contact_ids=[], client=spotler_client)

    with pytest.raises(budget.ListRefused, match="exists already"):
        budget.create_list(name="Guests", contact_ids=[], client=spotler_client)
    with pytest.raises(budget.ListRefused, match="name"):
        budget.create_list(name="  ", contact_ids=[], client=spotler_client)


def test_a_failure_half_way_is_visible_with_spotlers_reason_and_resumes_from_the_checkpoint(
    lists_sandbox, spotler_client, monkeypatch
):
    monkeypatch.setattr(send, "CHUNK_SIZE", 2)
    ids = contacts_in_spotler(lists_sandbox, 4)
    ids.insert(2, "NOT-IN-SPOTLER")  # the second chunk names a contact Spotler lacks
    made = budget.create_list(name="Half way", contact_ids=ids, client=spotler_client)

    send.send_list(made.pk, client=spotler_client)

    made.refresh_from_db()
    assert (made.state, made.sent) == (TempListState.FAILED, 2)
    assert "One or more contacts could not be found" in made.error
    assert made.can_resume
    assert sandbox_list(lists_sandbox, made.spotler_id)["contacts"] == ids[:2]

    lists_sandbox.control(
        "POST",
        "contacts",
        {"externalId": "NOT-IN-SPOTLER", "properties": {"email": "late@example.nl"}},
    )
    assert send.resume_list(list_pk=made.pk)
    send.send_list(made.pk, client=spotler_client)

    made.refresh_from_db()
    assert (made.state, made.sent, made.error) == (TempListState.COMPLETE, 5, "")
    assert sandbox_list(lists_sandbox, made.spotler_id)["contacts"] == ids


def test_a_list_in_use_is_deleted_later_by_the_schedule(lists_sandbox, spotler_client):
    made = budget.create_list(name="In a mailing", contact_ids=[], client=spotler_client)
    TempList.objects.filter(pk=made.pk).update(state=TempListState.COMPLETE)
    lists_sandbox.control("POST", f"templists/{made.spotler_id}/in-use", {"in_use": True})

    assert lifecycle.request_delete(list_pk=made.pk)
    lifecycle.delete_list(made.pk, client=spotler_client)

    made.refresh_from_db()
    assert made.state == TempListState.DELETE_PENDING_IN_USE
    assert "Temporary list in use" in made.error
    assert lifecycle.expire_temporary_lists() == "no list to delete"  # not due yet

    lists_sandbox.control("POST", f"templists/{made.spotler_id}/in-use", {"in_use": False})
    later = made.next_delete_at + timedelta(seconds=1)
    assert "1 of 1 lists deleted" in lifecycle.expire_temporary_lists(now=later)

    made.refresh_from_db()
    assert made.state == TempListState.DELETED
    assert sandbox_list(lists_sandbox, made.spotler_id) is None


def test_a_list_spotler_answers_404_for_counts_as_deleted_and_theirs_stays(
    lists_sandbox, spotler_client
):
    made = budget.create_list(name="Gone", contact_ids=[], client=spotler_client)
    (theirs,) = lists_sandbox.control("POST", "templists", {"count": 1})["created"]
    TempList.objects.filter(pk=made.pk).update(spotler_id=theirs)

    lifecycle.request_delete(list_pk=made.pk)
    lifecycle.delete_list(made.pk, client=spotler_client)

    assert TempList.objects.get(pk=made.pk).state == TempListState.DELETED
    assert sandbox_list(lists_sandbox, theirs) is not None  # the sandbox said 404


def test_expired_lists_are_deleted_and_free_the_budget(lists_sandbox, spotler_client):
    past = timezone.now() - timedelta(minutes=1)
    old = budget.create_list(name="Old", contact_ids=[], expires_at=past, client=spotler_client)
    kept = budget.create_list(name="Kept", contact_ids=[], client=spotler_client)
    TempList.objects.update(state=TempListState.COMPLETE)

    assert "1 of 1 lists deleted (1 expired" in lifecycle.expire_temporary_lists()

    assert TempList.objects.get(pk=old.pk).state == TempListState.DELETED
    assert TempList.objects.get(pk=kept.pk).state == TempListState.COMPLETE
    assert budget.read_budget(client=spotler_client).in_use == 1
