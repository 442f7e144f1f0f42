"""Owners hear about new follow-ups as they chose: not at all, at once, or in a daily digest."""

from datetime import timedelta

from django.core import mail
from django.utils import timezone
from django_q.brokers import get_broker

from bounces.models import FollowUp, NotificationPreference
from bounces.notify import send_digests
from bounces.tasks import mail_new_followups, send_bounce_digests
from tests.bounces.helpers import bounce, manager, pull, pushed_contact
from tests.queued_tasks import run_task, take_queued_tasks


def sanne_choosing(choice: str):
    sanne = manager("sanne", first_name="Sanne", last_name="Bakker", email="sanne@shop.example")
    NotificationPreference.objects.create(user=sanne, choice=choice)
    return sanne


def run_queued_mail() -> None:
    """What the queue's worker does with the mail the pull queued."""
    for task in take_queued_tasks():
        if task["func"] is mail_new_followups:
            run_task(task)


def test_an_owner_who_chose_immediate_mail_gets_one_per_new_followup_from_the_queue(
    spotler_client, spotler_sandbox, django_capture_on_commit_callbacks
):
    sanne_choosing("immediate")
    pushed_contact(spotler_client, account_manager="sanne")
    bounce(spotler_sandbox)
    get_broker().purge_queue()

    with django_capture_on_commit_callbacks(execute=True):
        pull(spotler_client)

    # The pull only queues the mail: a slow mail server cannot hold it up.
    assert mail.outbox == []
    [task] = [t for t in take_queued_tasks() if t["func"] is mail_new_followups]
    assert run_task(task) == "1 mail(s) sent"
    [message] = mail.outbox
    assert message.to == ["sanne@shop.example"]
    assert message.subject == "New bounce follow-up: Anna Visser"
    assert f"/bounces/{FollowUp.objects.get().pk}/" in message.body


def test_an_owner_who_chose_none_gets_no_mail(
    spotler_client, spotler_sandbox, django_capture_on_commit_callbacks
):
    sanne_choosing("none")
    pushed_contact(spotler_client, account_manager="sanne")
    bounce(spotler_sandbox)

    with django_capture_on_commit_callbacks(execute=True):
        pull(spotler_client)
    run_queued_mail()

    assert FollowUp.objects.exists() and mail.outbox == []


def test_the_daily_digest_lists_the_new_followups_once(
    spotler_client, spotler_sandbox, django_capture_on_commit_callbacks
):
    sanne_choosing("daily")
    pushed_contact(spotler_client, "C-1", account_manager="sanne")
    pushed_contact(spotler_client, "C-2", email="bob@example.nl", account_manager="sanne")
    bounce(spotler_sandbox, "C-1")
    bounce(spotler_sandbox, "C-2")
    with django_capture_on_commit_callbacks(execute=True):
        pull(spotler_client)
    run_queued_mail()
    assert mail.outbox == []  # nothing at once

    assert send_bounce_digests() == "1 digest mail(s) sent"
    [digest] = mail.outbox
    assert digest.subject == "2 new bounce follow-ups"
    assert "anna@example.nl" in digest.body and "bob@example.nl" in digest.body

    assert send_digests(now=timezone.now() + timedelta(days=1)) == 0  # nothing new since


def test_each_user_chooses_on_the_notifications_page(client, db):
    sanne = manager("sanne", email="sanne@shop.example")
    client.force_login(sanne)

    assert "No e-mail" in client.get("/bounces/notifications/").content.decode()
    client.post("/bounces/notifications/", {"choice": "daily"})

    assert NotificationPreference.objects.get(user=sanne).choice == "daily"
    refused = client.post("/bounces/notifications/", {"choice": "hourly"})
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
