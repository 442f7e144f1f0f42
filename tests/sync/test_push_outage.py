"""A push batch that got nothing through to Spotler says so, instead of reading as a success."""

import pytest
from django.db.models import Min
from django.utils import timezone

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus
from mapping.versions import current_version, save_version
from sync.models import OutboxEntry, OutboxStatus, SyncRunStatus
from sync.push import BATCH_THRESHOLD, push_one_batch


@pytest.fixture
def client(spotler_client):
    return spotler_client


def make_contacts(count: int) -> None:
    for n in range(count):
        upsert_contact(external_id=f"C-{n}", raw_fields={"email": f"c{n}@example.nl"})


def first_retry() -> str:
    at = OutboxEntry.objects.pending().aggregate(at=Min("not_before"))["at"]
    return f"{timezone.localtime(at):%H:%M}"


def test_a_batch_spotler_refused_entirely_while_down_fails_saying_when_it_is_retried(
    client, spotler_sandbox
):
    make_contacts(3)
    spotler_sandbox.set(error_rate=1.0, error_statuses=[503])

    run = push_one_batch(client=client)

    assert run.status == SyncRunStatus.FAILED
    assert (run.sent, run.failed, run.skipped) == (0, 0, 3)
    assert run.error.startswith(
        f"Spotler did not accept any of 3 contacts; they are retried from {first_retry()} "
        "(reason: Spotler: “"
    )
    assert run.error.endswith(
        "(503 BACKEND_EXCEPTION). Spotler could not be reached; it will be tried again.)"
    )
    assert "503" in run.error
    assert OutboxEntry.objects.filter(status=OutboxStatus.PENDING).count() == 3
    assert not Contact.objects.exclude(sync_status=SyncStatus.PENDING).exists()


def test_a_burst_sent_in_batches_that_spotler_refused_fails_too(client, spotler_sandbox):
    make_contacts(BATCH_THRESHOLD + 2)
    spotler_sandbox.set(error_rate=1.0, error_statuses=[503])

    run = push_one_batch(client=client)

    assert "POST contact/list" in spotler_sandbox.requests()
    assert run.status == SyncRunStatus.FAILED
    assert run.error.startswith(f"Spotler did not accept any of {BATCH_THRESHOLD + 2} contacts")


def test_a_single_contact_refused_while_spotler_is_down_is_named_alone(client, spotler_sandbox):
    make_contacts(1)
    spotler_sandbox.set(error_rate=1.0, error_statuses=[503])

    run = push_one_batch(client=client)

    assert run.status == SyncRunStatus.FAILED
    assert run.error.startswith(
        f"Spotler did not accept the contact; it is retried from {first_retry()}"
    )


def test_a_batch_that_got_some_contacts_through_still_succeeded(client, spotler_sandbox):
    make_contacts(3)
    spotler_sandbox.control("POST", "burst429", json={"count": 1})  # the first call gets a 429

    run = push_one_batch(client=client)

    assert run.status == SyncRunStatus.SUCCEEDED
    assert run.error == ""
    assert (run.sent, run.skipped) == (2, 1)
    assert OutboxEntry.objects.filter(status=OutboxStatus.PENDING).count() == 1


def test_a_batch_whose_contacts_could_not_go_for_good_succeeded_in_reporting_them(
    client, spotler_sandbox, admin_user
):
    make_contacts(2)
    rows = [r for r in current_version().rows if r["property"] != "email"]
    rows.insert(0, {"source_fields": ["missing"], "property": "email", "type": "email"})
    save_version(rows=rows, author=admin_user)

    run = push_one_batch(client=client)

    assert run.status == SyncRunStatus.SUCCEEDED
    assert run.failed == 2
    assert Contact.objects.filter(sync_status=SyncStatus.FAILED).count() == 2
