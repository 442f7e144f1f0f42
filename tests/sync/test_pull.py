"""The pull: what recipients change in Spotler comes back, once, without our own echoes."""

from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.feed import read_changes
from contacts.ingest import upsert_contact
from contacts.models import Contact
from mapping.versions import current_version, save_version
from sync.models import PullWatermark, SpotlerConsent, SyncRunStatus, UnknownContact
from sync.pull import pull_updates, pull_updates_on_schedule
from sync.push import push_outbox

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


@pytest.fixture
def client(spotler_client):
    return spotler_client


def pull(client):
    now = timezone.now()
    return pull_updates(
        since=now - timedelta(hours=1), until=now + timedelta(seconds=1), client=client
    )


def pushed_contact(client, external_id="C-1", **fields):
    upsert_contact(external_id=external_id, raw_fields={**ANNA, **fields})
    push_outbox(client=client)


def test_our_own_pushes_come_back_as_echoes_and_are_ignored(client):
    pushed_contact(client)
    run = pull(client)
    assert run.status == SyncRunStatus.SUCCEEDED
    assert run.done == 1
    assert read_changes() == []


def test_an_unsubscribe_in_spotler_reaches_the_feed_and_the_next_push_keeps_it(
    client, spotler_sandbox
):
    pushed_contact(client)
    pull(client)  # Spotler's state as our push left it
    spotler_sandbox.control("POST", "contacts/C-1/unsubscribe", json={"bit": 1})
    pull(client)
    [change] = read_changes()
    assert change.kind == "permission_changed"
    assert change.payload["field"] == "newsletter"
    assert (change.payload["bit"], change.payload["enabled"]) == (1, False)
    assert SpotlerConsent.objects.get(bit=1).enabled is False

    # The shop, not having read the feed, sends its stale "newsletter: true" with another edit.
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"})
    push_outbox(client=client)
    held = spotler_sandbox.contact("C-1")["properties"]
    assert held["firstName"] == "Anne"
    assert {p["bit"]: p["enabled"] for p in held["permissions"]}[1] is False


def test_a_profile_edit_in_spotler_reaches_the_feed_once_even_over_overlapping_windows(
    client, spotler_sandbox
):
    pushed_contact(client)
    spotler_sandbox.control("POST", "contacts/C-1/edit", json={"properties": {"firstName": "Ann"}})
    pull(client)
    pull(client)  # the same window again
    [change] = read_changes()
    assert change.kind == "profile_changed"
    assert change.payload == {**change.payload, "field": "first_name", "value": "Ann"}
    contact = Contact.objects.get(external_id="C-1")
    assert contact.fields["first_name"] == "Anna"  # the shop's own record is the shop's
    assert contact.spotler_state.properties["firstName"] == "Ann"


def test_an_email_the_shop_owns_is_reported_not_applied(client, spotler_sandbox, admin_user):
    pushed_contact(client)
    spotler_sandbox.control(
        "POST", "contacts/C-1/edit", json={"properties": {"email": "new@example.nl"}}
    )
    pull(client)
    [change] = read_changes()
    assert change.payload["owned_by_linked_system"] is True
    assert Contact.objects.get(external_id="C-1").email == "anna@example.nl"

    save_version(rows=current_version().rows, author=admin_user, email_owned_by_linked_system=False)
    spotler_sandbox.control(
        "POST", "contacts/C-1/edit", json={"properties": {"email": "newer@example.nl"}}
    )
    pull(client)
    assert read_changes(after=change.pk)[0].payload["owned_by_linked_system"] is False


def test_contacts_spotler_has_but_the_ledger_does_not_are_recorded(client, spotler_sandbox):
    spotler_sandbox.control(
        "POST", "contacts", json={"externalId": "X-9", "properties": {"email": "x@example.nl"}}
    )
    pull(client)
    assert UnknownContact.objects.get().external_id == "X-9"


def test_the_scheduled_pull_keeps_a_watermark_and_overlaps_windows(client, settings):
    pushed_contact(client)
    first = pull_updates_on_schedule(client=client)
    mark = PullWatermark.objects.get()
    second = pull_updates_on_schedule(client=client)
    assert second.window_start == mark.until - timedelta(minutes=settings.SYNC_PULL_OVERLAP_MINUTES)
    assert first.status == second.status == SyncRunStatus.SUCCEEDED


def test_a_failed_pull_says_why_and_does_not_move_the_watermark(client, spotler_sandbox):
    spotler_sandbox.set(error_rate=1.0)
    run = pull_updates_on_schedule(client=client)
    assert run.status == SyncRunStatus.FAILED
    assert "Spotler answered 5" in run.error
    assert not PullWatermark.objects.exists()
