"""Nothing is lost: a subscription made while Spotler fails is queued and arrives afterwards,
exactly once; a permanent refusal keeps Spotler's reason until an Admin retries it."""

import threading

import pytest
from django.utils import timezone

from public import subscribe
from public.models import Subscription, SubscriptionState
from public.subscribe_tasks import send_queued_subscriptions
from tests.public.subscribe_helpers import (
    fresh_limits,  # noqa: F401 - a fixture
    make_form,
    permission_on,
    post_json,
    sandbox_contacts,
    subscribe_calls,
)
from tests.queued_tasks import run_task, take_queued_tasks
from tests.spotler.client_helpers import make_client

pytestmark = pytest.mark.usefixtures("fresh_limits")


def make_due() -> None:
    Subscription.objects.update(not_before=timezone.now())


def test_a_subscription_made_while_spotler_fails_arrives_afterwards_exactly_once(
    client, lists_sandbox, catalogue, settings, django_capture_on_commit_callbacks
):
    settings.PUBLIC_SUBSCRIBE_TIMEOUT_SECONDS = 1.0
    make_form()
    lists_sandbox.set(error_rate=1, error_statuses=[503])

    with django_capture_on_commit_callbacks(execute=True):
        response = post_json(client, {"email": "anna@example.com", "firstName": "Anna"})

    assert response.status_code == 202
    assert response.json() == {"status": "queued"}
    waiting = Subscription.objects.get()
    assert waiting.state == SubscriptionState.QUEUED
    assert "503" in waiting.error
    assert waiting.not_before > timezone.now()  # waits out the backoff
    assert not sandbox_contacts(lists_sandbox, "anna@example.com")

    # Still failing: the queue tries, keeps it, and backs off longer.
    make_due()
    send_queued_subscriptions()
    waiting.refresh_from_db()
    assert (waiting.state, waiting.attempts) == (SubscriptionState.QUEUED, 2)

    lists_sandbox.set(error_rate=0)
    make_due()
    [task] = [t for t in take_queued_tasks() if t["group"] == "subscriptions"]
    run_task(task)
    send_queued_subscriptions()  # a second run (the schedule) sends nothing again

    waiting.refresh_from_db()
    assert waiting.state == SubscriptionState.SENT
    [contact] = sandbox_contacts(lists_sandbox, "anna@example.com")
    assert permission_on(contact, 1)
    assert contact["properties"]["firstName"] == "Anna"
    assert subscribe_calls(lists_sandbox).get("204") == 1


def test_a_subscription_is_not_sent_before_its_backoff_is_over(client, lists_sandbox, catalogue):
    make_form()
    lists_sandbox.set(error_rate=1, error_statuses=[500])
    post_json(client, {"email": "anna@example.com", "firstName": "Anna"})
    lists_sandbox.set(error_rate=0)

    assert send_queued_subscriptions() == "0 sent, 0 retry later, 0 refused"
    assert Subscription.objects.get().state == SubscriptionState.QUEUED


def test_two_workers_never_send_one_subscription_twice(client, lists_sandbox, catalogue, settings):
    settings.PUBLIC_SUBSCRIBE_TRY_AT_ONCE = False
    make_form()
    for i in range(20):
        post_json(client, {"email": f"n{i}@example.com", "firstName": "N"})

    _, first = subscribe.claim_due(limit=15)
    _, second = subscribe.claim_due(limit=15)

    assert len(first) == 15 and len(second) == 5
    assert not {s.pk for s in first} & {s.pk for s in second}


@pytest.mark.django_db(transaction=True)
def test_concurrent_queue_runs_send_each_subscription_once(
    client, lists_sandbox, catalogue, settings
):
    settings.PUBLIC_SUBSCRIBE_TRY_AT_ONCE = False
    settings.PUBLIC_SUBSCRIBE_RATE_PER_ADDRESS = "1000/m"
    make_form()
    for i in range(30):
        post_json(client, {"email": f"n{i}@example.com", "firstName": "N"})

    def work():
        from django.db import connection

        send_queued_subscriptions()
        connection.close()

    workers = [threading.Thread(target=work) for _ in range(3)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()

    assert Subscription.objects.filter(state=SubscriptionState.SENT).count() == 30
    assert subscribe_calls(lists_sandbox).get("204") == 30


def test_a_permanent_refusal_keeps_spotlers_reason_until_an_admin_retries(
    client_as, lists_sandbox, catalogue
):
    make_form()
    # A blacklisted address: Spotler refuses the subscription (400 CONTACT_OPTOUT).
    lists_sandbox.control(
        "POST", "contacts", json={"externalId": "X1", "properties": {"email": "gone@example.com"}}
    )
    make_client(lists_sandbox).inactivate_contact("X1")
    response = post_json(client_as("anonymous"), {"email": "gone@example.com", "firstName": "G"})
    # The visitor learns nothing of the address: a new one is answered the same.
    assert response.json() == {"status": "subscribed"}
    new = post_json(client_as("anonymous"), {"email": "new@example.com", "firstName": "N"})
    assert new.json() == response.json()
    refused = Subscription.objects.get(email="gone@example.com")
    assert refused.state == SubscriptionState.FAILED
    assert "CONTACT_OPTOUT" in refused.error

    admin = client_as("admin")
    page = admin.get(f"/subscribe-forms/{refused.form_id}/").content.decode()
    assert "gone@example.com" in page and "CONTACT_OPTOUT" in page and "Retry now" in page

    answer = admin.post(f"/subscriptions/{refused.pk}/retry/")
    assert answer.status_code == 302
    assert Subscription.objects.get(pk=refused.pk).state == SubscriptionState.QUEUED
    send_queued_subscriptions()
    refused.refresh_from_db()
    assert (refused.state, refused.attempts) == (SubscriptionState.FAILED, 1)  # tried afresh
    assert subscribe_calls(lists_sandbox).get("400") == 2
