"""The pull: what recipients change in Spotler comes back, once, without our own echoes."""

import re
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

import spotler
from contacts.feed import read_changes
from contacts.ingest import upsert_contact
from contacts.models import Contact
from mapping.versions import current_version, save_version
from sync.models import PullWatermark, SpotlerConsent, SyncRunStatus, UnknownContact
from sync.pull import apply_updates, back_rows, pull_updates, pull_updates_on_schedule
from sync.push import push_one_batch
from tests.conftest import transactional

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
    push_one_batch(client=client)


def test_our_own_pushes_come_back_as_echoes_and_are_ignored(client):
    pushed_contact(client)
    run = pull(client)
    assert run.status == SyncRunStatus.SUCCEEDED
    assert run.done == 1
    assert read_changes() == []


def test_the_echo_of_a_permission_sent_pushes_ago_is_still_recognised(client):
    pushed_contact(client)
    # The next push leaves the unchanged consent out; its echo still is no recipient's change.
    pushed_contact(client, first_name="Anne")
    pull(client)
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
    push_one_batch(client=client)
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
    assert re.search(r"\(5\d\d BACKEND_EXCEPTION\)", run.error)
    assert not PullWatermark.objects.exists()


def test_a_page_of_sixty_updates_is_applied_in_a_handful_of_statements(
    client, spotler_sandbox, django_assert_max_num_queries
):
    ids = [f"C-{n}" for n in range(60)]
    for external_id in ids:
        upsert_contact(external_id=external_id, raw_fields={**ANNA, "email": f"{external_id}@x.nl"})
    push_one_batch(client=client)
    pull(client)  # Spotler's state as our push left it: echoes
    edits = [{"externalId": i, "properties": {"firstName": f"Ann {i}"}} for i in ids]
    edits[0]["properties"]["permissions"] = [{"bit": 1, "enabled": False}]
    spotler_sandbox.control("POST", "contacts/edits", {"edits": edits})

    with django_assert_max_num_queries(25):  # one contact at a time took 3 or more each
        run = pull(client)

    assert (run.done, run.sent) == (60, 60)
    changes = read_changes(limit=1000)
    assert [c.payload["value"] for c in changes if c.kind == "profile_changed"] == [
        f"Ann {i}" for i in ids
    ]
    assert [c.external_id for c in changes if c.kind == "permission_changed"] == ["C-0"]
    assert SpotlerConsent.objects.get().enabled is False


def test_the_same_contact_twice_in_a_page_is_applied_in_the_order_spotler_changed_it(client):
    pushed_contact(client)
    version = current_version()
    now = timezone.now()

    def seen(name: str, seconds: int) -> spotler.Contact:
        return spotler.Contact(external_id="C-1", properties={"firstName": name},
                               last_changed=now + timedelta(seconds=seconds))  # fmt: skip

    counted = apply_updates(
        [seen("Ann", 1), seen("Anne", 2), seen("Annie", 0), spotler.Contact(), spotler.Contact()],
        rows=back_rows(version.rows), email_owned=True, run=None,
    )  # fmt: skip
    assert counted == ["sent", "sent", "skipped", "skipped", "skipped"]
    assert [c.payload["value"] for c in read_changes()] == ["Ann", "Anne"]
    assert Contact.objects.get(external_id="C-1").spotler_state.properties["firstName"] == "Anne"
    assert UnknownContact.objects.get(external_id="(none)").times_seen == 2


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@transactional
def test_two_pulls_applying_the_same_new_change_at_once_publish_it_once():
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    version = current_version()
    item = spotler.Contact(external_id="C-1", properties={"firstName": "Ann"},
                           last_changed=timezone.now())  # fmt: skip
    rows = back_rows(version.rows)
    applied = threading.Event()

    def first_pull():
        with transaction.atomic():
            apply_updates([item], rows=rows, email_owned=True, run=None)
            applied.set()
            time.sleep(0.5)  # the second pull writes meanwhile, and waits for this commit
        connection.close()

    thread = threading.Thread(target=first_pull)
    thread.start()
    applied.wait(5)
    counted = apply_updates([item], rows=rows, email_owned=True, run=None)
    thread.join(10)

    assert counted == ["skipped"]
    assert [c.payload["value"] for c in read_changes()] == ["Ann"]
