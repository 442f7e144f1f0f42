"""The bounce pull: mails that bounced in Spotler reach the bounce inbox and the feed, once."""

import re
import threading
import time
from datetime import datetime, timedelta

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

import spotler
from bounces.models import Bounce, BounceKind, FollowUp
from contacts.feed import read_changes
from contacts.ingest import erase_contact, upsert_contact
from contacts.models import Contact
from sync import tasks
from sync.health import read_health
from sync.models import (
    PullWatermark,
    SyncEvent,
    SyncEventKind,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
    UnknownContact,
)
from sync.pull_bounces import apply_bounces, pull_bounces, pull_bounces_on_schedule
from sync.push import push_one_batch
from sync.runs import start_run
from sync.schedules import scheduled_jobs
from tests.conftest import transactional
from tests.helpers import sandbox_client

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


def pull(client, *, hours: float = 1):
    now = timezone.now()
    return pull_bounces(
        since=now - timedelta(hours=hours), until=now + timedelta(seconds=1), client=client
    )


def pushed_contact(client, external_id="C-1", **fields):
    upsert_contact(external_id=external_id, raw_fields={**ANNA, **fields})
    push_one_batch(client=client)


def bounce(sandbox, reference="C-1", **body):
    """A mail to the contact bounces in Spotler, by default a minute ago: the scheduled pull
    reads up to the second it starts in, so a bounce of that very second waits for the next."""
    body.setdefault("at", (timezone.now() - timedelta(minutes=1)).isoformat())
    return sandbox.control("POST", f"contacts/{reference}/bounce", json=body)


def test_a_bounce_reaches_the_inbox_the_feed_and_the_timeline_once_over_overlapping_windows(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    reported = bounce(spotler_sandbox, type="HARDBOUNCE")

    first = pull(spotler_client, hours=2)
    second = pull(spotler_client, hours=1)  # overlaps the first window

    assert (first.status, first.done, first.sent, first.skipped) == ("succeeded", 1, 1, 0)
    assert (second.status, second.done, second.sent, second.skipped) == ("succeeded", 1, 0, 1)
    stored = Bounce.objects.get()
    assert stored.contact == Contact.objects.get(external_id="C-1")
    assert (stored.kind, stored.email) == (BounceKind.HARD, "anna@example.nl")
    assert stored.mailing_id == reported["encryptedActId"]
    assert stored.run == first
    [change] = [c for c in read_changes() if c.kind == "bounced"]  # a follow-up opens too
    assert (change.kind, change.external_id) == ("bounced", "C-1")
    assert change.payload == {
        "type": "hard",
        "email": "anna@example.nl",
        "bounced_at": change.payload["bounced_at"],
        "mailing_id": reported["encryptedActId"],
    }
    assert datetime.fromisoformat(change.payload["bounced_at"]) == stored.bounced_at
    [event] = SyncEvent.objects.filter(kind=SyncEventKind.PULL)
    assert event.run == first
    assert event.answer.startswith("Hard bounce in Spotler: a mail to anna@example.nl bounced")


def test_every_bounce_of_a_contact_is_kept_soft_and_hard_alike(spotler_client, spotler_sandbox):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox, type="SOFTBOUNCE")
    bounce(spotler_sandbox, type="SOFTBOUNCE")
    bounce(spotler_sandbox, type="HARDBOUNCE")
    run = pull(spotler_client)
    assert (run.done, run.sent) == (3, 3)
    assert sorted(Bounce.objects.values_list("kind", flat=True)) == ["hard", "soft", "soft"]
    bounced = [c for c in read_changes() if c.kind == "bounced"]
    assert [c.payload["type"] for c in bounced] == ["soft", "soft", "hard"]


def test_a_bounce_outside_the_window_is_left_for_the_pull_that_covers_it(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    earlier = (timezone.now() - timedelta(hours=3)).isoformat()
    bounce(spotler_sandbox, type="HARDBOUNCE", at=earlier)
    assert pull(spotler_client, hours=1).done == 0
    assert not Bounce.objects.exists()
    assert pull(spotler_client, hours=4).sent == 1


def test_bounces_read_from_the_older_base_path_are_kept_as_well(spotler_client, spotler_sandbox):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox, type="SOFTBOUNCE")
    older = sandbox_client(spotler_sandbox, base_url=spotler_sandbox.base_url_v110)
    run = pull(older)
    assert (run.status, run.sent) == (SyncRunStatus.SUCCEEDED, 1)
    assert Bounce.objects.get().kind == BounceKind.SOFT


def test_a_bounce_of_a_contact_the_ledger_does_not_know_is_kept_and_recorded_not_published(
    spotler_client, spotler_sandbox
):
    spotler_sandbox.control(
        "POST", "contacts", json={"externalId": "X-9", "properties": {"email": "x@example.nl"}}
    )
    bounce(spotler_sandbox, "X-9")
    run = pull(spotler_client)
    again = pull(spotler_client)  # an overlapping window reads it again
    assert (run.done, run.sent, run.skipped) == (1, 0, 1)
    assert (again.done, again.sent, again.skipped) == (1, 0, 1)
    unknown = UnknownContact.objects.get()
    assert (unknown.external_id, unknown.source) == ("X-9", SyncRunKind.PULL_BOUNCES)
    assert unknown.times_seen == 1  # the same bounce read twice is one sighting
    kept = Bounce.objects.get()
    assert (kept.ledger_state, kept.contact, kept.followup) == ("unknown", None, None)
    assert (kept.external_id, kept.email, kept.kind) == ("X-9", "x@example.nl", "hard")
    assert read_changes() == []


def test_a_bounce_of_a_customer_the_shop_deleted_is_kept_without_personal_data(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    erase_contact(external_id="C-1")  # Spotler still knows C-1 until the anonymization runs
    bounce(spotler_sandbox)
    run = pull(spotler_client)
    assert (run.status, run.done, run.sent, run.skipped) == (SyncRunStatus.SUCCEEDED, 1, 0, 1)
    kept = Bounce.objects.get()
    assert (kept.ledger_state, kept.contact, kept.followup) == ("erased", None, None)
    assert (kept.external_id, kept.email) == ("", "")
    assert kept.external_id_hash == Contact.objects.get().external_id_hash
    assert "anna" not in str(Bounce.objects.values().get()).lower()
    assert not UnknownContact.objects.exists()
    assert read_changes() == []
    assert not SyncEvent.objects.filter(kind=SyncEventKind.PULL).exists()


def test_a_bounce_of_a_contact_anonymized_in_spotler_is_kept_as_anonymized(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox)  # Spotler's report of a mail sent before the anonymization
    erase_contact(external_id="C-1")
    push_one_batch(client=spotler_client)  # Spotler anonymizes the contact
    assert Contact.objects.get().sync_status == "anonymized"

    run = pull(spotler_client)

    assert (run.done, run.sent, run.skipped) == (1, 0, 1)
    kept = Bounce.objects.get()
    assert (kept.ledger_state, kept.external_id, kept.email) == ("anonymized", "", "")


def test_a_page_of_bounces_takes_as_many_statements_whatever_its_size(
    spotler_client, spotler_sandbox
):
    for n in range(14):
        upsert_contact(external_id=f"C-{n}", raw_fields={**ANNA, "email": f"c{n}@example.nl"})
    push_one_batch(client=spotler_client)
    for n in range(14):
        bounce(spotler_sandbox, f"C-{n}", type="HARDBOUNCE" if n % 2 else "SOFTBOUNCE")
    now = timezone.now()
    items = list(spotler_client.iter_bounces(since=now - timedelta(hours=1), until=now))
    assert len(items) == 14

    with CaptureQueriesContext(connection) as small:
        assert apply_bounces(items[:2], run=None) == ["sent", "sent"]
    with CaptureQueriesContext(connection) as large:
        assert apply_bounces(items[2:], run=None) == ["sent"] * 12

    assert len(large) == len(small), [q["sql"] for q in large.captured_queries]
    assert Bounce.objects.count() == 14 and FollowUp.objects.count() == 7
    assert len([c for c in read_changes(limit=100) if c.kind == "bounced"]) == 14


def test_a_pull_spotler_refuses_fails_with_spotlers_reason_explained(spotler_sandbox, db):
    wrong = sandbox_client(spotler_sandbox, secret="wrong")
    run = pull(wrong)
    assert run.status == SyncRunStatus.FAILED
    assert "Spotler refused our credentials" in run.error
    assert "(401 NOT_AUTHORIZED)" in run.error
    assert run.finished_at is not None


def test_a_failed_scheduled_pull_says_why_and_reads_the_window_again_next_time(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox)
    spotler_sandbox.set(error_rate=1.0)
    failed = pull_bounces_on_schedule(client=spotler_client)
    assert failed.status == SyncRunStatus.FAILED
    assert re.search(r"\(5\d\d BACKEND_EXCEPTION\)", failed.error)
    assert "could not be reached" in failed.error
    assert not PullWatermark.objects.exists()

    spotler_sandbox.set(error_rate=0.0)
    assert pull_bounces_on_schedule(client=spotler_client).sent == 1


def test_the_scheduled_pull_keeps_its_own_watermark_and_overlaps_windows(
    spotler_client, spotler_sandbox, settings
):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox)
    first = pull_bounces_on_schedule(client=spotler_client)
    mark = PullWatermark.objects.get(kind=SyncRunKind.PULL_BOUNCES)
    second = pull_bounces_on_schedule(client=spotler_client)
    assert second.window_start == mark.until - timedelta(minutes=settings.SYNC_PULL_OVERLAP_MINUTES)
    assert (first.sent, second.sent, second.skipped) == (1, 0, 1)
    assert len([c for c in read_changes() if c.kind == "bounced"]) == 1


def test_the_bounce_pull_is_scheduled_and_the_health_page_follows_it(spotler_client, settings):
    settings.SYNC_PULL_BOUNCES_MINUTES = 30
    [job] = [j for j in scheduled_jobs() if j.name == "Pull bounces"]
    assert (job.func, job.minutes) == ("sync.tasks.pull_bounces", 30)
    call_command("setup_schedules")
    assert Schedule.objects.get(name="Pull bounces").func == "sync.tasks.pull_bounces"

    [row] = [s for s in read_health().schedules if s.name == "Pull bounces"]
    assert (row.label, row.last_success) == ("not run yet", None)
    run = pull_bounces_on_schedule(client=spotler_client)
    [row] = [s for s in read_health().schedules if s.name == "Pull bounces"]
    assert (row.label, row.last_success) == ("on time", run.finished_at)


def test_the_scheduled_task_pulls_through_the_configured_spotler(
    spotler_client, spotler_sandbox, settings
):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    pushed_contact(spotler_client)
    bounce(spotler_sandbox)
    assert tasks.pull_bounces() == "succeeded: 1 bounces read, 1 new"
    assert Bounce.objects.count() == 1


def test_a_bounce_pull_an_operator_starts_reads_the_last_hour(
    spotler_client, spotler_sandbox, settings
):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    pushed_contact(spotler_client)
    bounce(spotler_sandbox)
    run = start_run(kind=SyncRunKind.PULL_BOUNCES, trigger=SyncRunTrigger.COMMAND)
    assert run.window_end - run.window_start == timedelta(hours=1)
    assert tasks.execute_run(run.pk) == "succeeded: 1 done, 1 sent, 0 failed"
    assert Bounce.objects.get().run == run
    assert not PullWatermark.objects.exists()  # only the schedule moves the watermark


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@transactional
def test_two_pulls_applying_the_same_new_bounce_at_once_store_and_publish_it_once():
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    item = spotler.Bounce(
        date=timezone.now(), type=spotler.BounceType.HARD, encrypted_act_id="act-1",
        contact=spotler.Contact(external_id="C-1", properties={"email": "anna@example.nl"}),
    )  # fmt: skip
    applied = threading.Event()

    def first_pull():
        with transaction.atomic():
            assert apply_bounces([item], run=None) == ["sent"]
            applied.set()
            time.sleep(0.5)  # the second pull writes meanwhile, and waits for this commit
        connection.close()

    thread = threading.Thread(target=first_pull)
    thread.start()
    applied.wait(5)
    counted = apply_bounces([item], run=None)
    thread.join(10)

    assert counted == ["skipped"]
    assert Bounce.objects.count() == 1 and FollowUp.objects.count() == 1
    assert [c.kind for c in read_changes()] == ["bounced", "followup_opened"]


def _hard_bounce_of_anna() -> spotler.Bounce:
    return spotler.Bounce(
        date=timezone.now(), type=spotler.BounceType.HARD, encrypted_act_id="act-1",
        contact=spotler.Contact(external_id="C-1", properties={"email": "anna@example.nl"}),
    )  # fmt: skip


def _nothing_left_of_anna() -> None:
    """What an erasure promises: no address, no follow-up, no feed entry naming the person."""
    stored = Bounce.objects.get()
    assert (stored.ledger_state, stored.email, stored.external_id) == ("erased", "", "")
    assert stored.contact is None
    assert not FollowUp.objects.exists()
    assert not [c for c in read_changes() if c.external_id == "C-1"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@transactional
def test_a_pull_applying_a_bounce_while_the_contact_is_erased_keeps_no_personal_data():
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    erased = threading.Event()

    def erase_meanwhile():
        with transaction.atomic():
            erase_contact(external_id="C-1")
            erased.set()
            time.sleep(0.5)  # the pull reads the page meanwhile, and waits for this commit
        connection.close()

    thread = threading.Thread(target=erase_meanwhile)
    thread.start()
    erased.wait(5)
    counted = apply_bounces([_hard_bounce_of_anna()], run=None)
    thread.join(10)

    assert counted == ["skipped"]
    _nothing_left_of_anna()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers: PostgreSQL")
@transactional
def test_a_contact_erased_while_a_pull_applies_its_bounce_keeps_no_personal_data():
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    applied = threading.Event()

    def pull_meanwhile():
        with transaction.atomic():
            assert apply_bounces([_hard_bounce_of_anna()], run=None) == ["sent"]
            applied.set()
            time.sleep(0.5)  # the erasure starts meanwhile, and waits for this commit
        connection.close()

    thread = threading.Thread(target=pull_meanwhile)
    thread.start()
    applied.wait(5)
    erase_contact(external_id="C-1")
    thread.join(10)

    _nothing_left_of_anna()
