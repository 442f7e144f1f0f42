"""A list whose worker died while sending it (no heartbeat for LISTS_STALE_MINUTES) is picked
up by the "Expire temporary lists" schedule and completed from its checkpoint; a list whose
worker is alive is left alone, and a worker that was only slow stops instead of sending beside
the one that took over."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from lists import budget, send, tasks
from lists.models import TempList, TempListState
from tests.helpers import sandbox_client
from tests.lists.helpers import contacts_in_spotler
from tests.queued_tasks import run_task, take_queued_tasks

pytestmark = pytest.mark.django_db


def queued_sends() -> list[dict]:
    return [t for t in take_queued_tasks() if t.get("group") == "lists"]


def in_sandbox(sandbox, list_id: str) -> list[str]:
    (found,) = [t for t in sandbox.state()["templists"] if t["externalTemporaryListId"] == list_id]
    return found["contacts"]


def left_sending(made: TempList, *, checkpoint: int, minutes_ago: float) -> None:
    """As a worker leaves a list it was sending when it died."""
    TempList.objects.filter(pk=made.pk).update(
        state=TempListState.SENDING,
        checkpoint=checkpoint,
        heartbeat_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_a_list_whose_worker_died_half_way_is_completed_by_the_schedule_each_contact_once(
    lists_sandbox, spotler_client, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.LISTS_STALE_MINUTES = 5
    monkeypatch.setattr(send, "CHUNK_SIZE", 2)
    take_queued_tasks()
    ids = contacts_in_spotler(lists_sandbox, 5)
    made = budget.create_list(name="Died half way", contact_ids=ids, client=spotler_client)
    # The worker added four contacts, but died before it wrote the second chunk's checkpoint.
    spotler_client.add_to_temporary_list(list_id=made.spotler_id, contact_ids=ids[:4])
    left_sending(made, checkpoint=2, minutes_ago=6)

    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.expire_temporary_lists()

    assert "queued again from contact 3" in summary
    assert TempList.objects.get(pk=made.pk).state == TempListState.DRAFT
    (queued,) = queued_sends()
    run_task(queued)

    made.refresh_from_db()
    assert (made.state, made.sent, made.total, made.error) == (TempListState.COMPLETE, 5, 5, "")
    assert in_sandbox(lists_sandbox, made.spotler_id) == ids  # each contact exactly once
    assert made.heartbeat_at > timezone.now() - timedelta(minutes=1)


def test_a_list_whose_worker_is_alive_is_left_alone(
    lists_sandbox, spotler_client, settings, django_capture_on_commit_callbacks
):
    settings.LISTS_STALE_MINUTES = 5
    take_queued_tasks()
    ids = contacts_in_spotler(lists_sandbox, 4)
    made = budget.create_list(name="Sending", contact_ids=ids, client=spotler_client)
    left_sending(made, checkpoint=2, minutes_ago=1)

    with django_capture_on_commit_callbacks(execute=True):
        summary = tasks.expire_temporary_lists()

    assert "queued again" not in summary
    assert [t for t in queued_sends() if t["args"] == (made.pk,)] == []
    made.refresh_from_db()
    assert (made.state, made.checkpoint) == (TempListState.SENDING, 2)


def test_a_list_whose_send_task_was_lost_is_queued_again(
    lists_sandbox, spotler_client, settings, django_capture_on_commit_callbacks
):
    take_queued_tasks()
    made = budget.create_list(name="Lost", contact_ids=[], client=spotler_client)
    TempList.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(minutes=9))

    with django_capture_on_commit_callbacks(execute=True):
        tasks.expire_temporary_lists()
    (queued,) = queued_sends()
    run_task(queued)

    assert TempList.objects.get(pk=made.pk).state == TempListState.COMPLETE
    with django_capture_on_commit_callbacks(execute=True):
        tasks.expire_temporary_lists()
    assert queued_sends() == []  # once


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="two workers at once need PostgreSQL's concurrency"
)
def test_a_slow_worker_whose_list_was_taken_over_stops_and_each_contact_is_sent_once(
    lists_sandbox, monkeypatch, settings
):
    """The first worker is slow (Spotler takes 300 ms a call), not dead: the schedule takes its
    list over all the same; the first stops at its next heartbeat, the second completes."""
    settings.LISTS_STALE_MINUTES = 5
    monkeypatch.setattr(send, "CHUNK_SIZE", 1)
    take_queued_tasks()
    client = sandbox_client(lists_sandbox, timeout=(2.0, 5.0))
    ids = contacts_in_spotler(lists_sandbox, 6)
    made = budget.create_list(name="Slow", contact_ids=ids, client=client)
    lists_sandbox.set(latency_ms=300)
    answers: list[str] = []

    def first_worker() -> None:
        try:
            answers.append(send.send_list(made.pk, client=client))
        finally:
            connection.close()  # this thread's own connection

    first = threading.Thread(target=first_worker)
    first.start()
    deadline = time.monotonic() + 10
    while TempList.objects.get(pk=made.pk).checkpoint < 1 and time.monotonic() < deadline:
        time.sleep(0.02)

    later = timezone.now() + timedelta(minutes=6)
    # (A heartbeat the first worker writes meanwhile makes the schedule pass; it acts next time.)
    while not send.recover_stalled_lists(now=later) and time.monotonic() < deadline:
        pass
    take_queued_tasks()
    second = send.send_list(made.pk, client=sandbox_client(lists_sandbox))
    first.join(timeout=30)

    assert answers == [f"list {made.pk} was taken over by another worker; this one stopped"]
    assert second == f"list {made.pk}: 6 contacts sent"
    made.refresh_from_db()
    assert (made.state, made.sent) == (TempListState.COMPLETE, 6)
    assert in_sandbox(lists_sandbox, made.spotler_id) == ids
