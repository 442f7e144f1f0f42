"""Old sync history is forgotten nightly, but never what a person still needs to see."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus
from sync import tasks
from sync.health import read_health
from sync.models import SyncEvent, SyncEventKind, SyncRun, SyncRunKind, SyncRunStatus
from sync.retention import CHUNK, prune_sync_history

NOW = timezone.now()
OLD = NOW - timedelta(days=120)
RECENT = NOW - timedelta(days=10)


def make_contact(external_id: str, *, status: str = SyncStatus.SYNCED) -> Contact:
    contact = upsert_contact(
        external_id=external_id, raw_fields={"email": f"{external_id.lower()}@example.nl"}
    ).contact
    Contact.objects.filter(pk=contact.pk).update(sync_status=status)
    return contact


def make_event(contact: Contact, *, at, kind: str = SyncEventKind.PUSH, run=None) -> SyncEvent:
    return SyncEvent.objects.create(
        contact=contact, kind=kind, at=at, ok=True, answer=f"{kind} at {at:%Y-%m-%d}", run=run
    )


def make_run(*, finished_at, kind: str = SyncRunKind.PUSH, status=SyncRunStatus.SUCCEEDED):
    return SyncRun.objects.create(
        kind=kind, trigger="live", status=status, started_at=finished_at, finished_at=finished_at
    )


def remaining(contact: Contact) -> set[int]:
    return set(SyncEvent.objects.filter(contact=contact).values_list("pk", flat=True))


def test_old_events_go_but_recent_ones_and_the_latest_of_each_kind_stay(db):
    anna = make_contact("C-1")
    old_push = make_event(anna, at=OLD)
    older_push = make_event(anna, at=OLD - timedelta(days=1))
    recent_push = make_event(anna, at=RECENT)
    old_pull = make_event(anna, at=OLD, kind=SyncEventKind.PULL)  # the only (latest) pull
    bram = make_contact("C-2")
    only_push = make_event(bram, at=OLD)
    twins = [make_event(bram, at=OLD - timedelta(days=2)) for _ in range(2)]

    pruned = prune_sync_history(now=NOW)

    assert remaining(anna) == {recent_push.pk, old_pull.pk}
    assert remaining(bram) == {only_push.pk}
    assert pruned.events == 4
    assert not SyncEvent.objects.filter(pk__in=[old_push.pk, older_push.pk, *[t.pk for t in twins]])


def test_a_failed_contact_keeps_every_event_until_someone_acts(db):
    failed = make_contact("C-1", status=SyncStatus.FAILED)
    events = {make_event(failed, at=OLD - timedelta(days=n)).pk for n in range(3)}
    dismissed = make_contact("C-2", status=SyncStatus.DISMISSED)
    make_event(dismissed, at=OLD - timedelta(days=1))
    latest = make_event(dismissed, at=OLD)

    prune_sync_history(now=NOW)

    assert remaining(failed) == events
    assert remaining(dismissed) == {latest.pk}


def test_the_retention_follows_the_setting(db, settings):
    anna = make_contact("C-1")
    ten_days = make_event(anna, at=RECENT)
    latest = make_event(anna, at=NOW)

    prune_sync_history(now=NOW)
    assert remaining(anna) == {ten_days.pk, latest.pk}

    settings.SYNC_EVENT_RETENTION_DAYS = 7
    prune_sync_history(now=NOW)
    assert remaining(anna) == {latest.pk}


def test_more_old_events_than_one_chunk_are_all_deleted(db):
    anna = make_contact("C-1")
    SyncEvent.objects.bulk_create(
        SyncEvent(contact=anna, kind=SyncEventKind.PUSH, at=OLD - timedelta(minutes=n), ok=True)
        for n in range(CHUNK * 2 + 5)
    )
    latest = make_event(anna, at=NOW)

    assert prune_sync_history(now=NOW).events == CHUNK * 2 + 5
    assert remaining(anna) == {latest.pk}


def test_old_finished_runs_without_events_go_with_them(db):
    anna = make_contact("C-1")
    emptied = make_run(finished_at=OLD - timedelta(days=1))
    make_event(anna, at=OLD - timedelta(days=1), run=emptied)
    keeps_an_event = make_run(finished_at=OLD)
    make_event(anna, at=OLD, run=keeps_an_event)  # the latest push: kept, so is its run
    old_failed = make_run(finished_at=OLD, status=SyncRunStatus.FAILED)
    recent = make_run(finished_at=RECENT)
    last_pull = make_run(finished_at=OLD, kind=SyncRunKind.PULL_UPDATES)
    still_running = make_run(finished_at=OLD, status=SyncRunStatus.RUNNING)

    pruned = prune_sync_history(now=NOW)

    left = set(SyncRun.objects.values_list("pk", flat=True))
    assert left == {keeps_an_event.pk, recent.pk, last_pull.pk, still_running.pk}
    assert pruned.runs == 2
    assert emptied.pk not in left and old_failed.pk not in left


def test_the_nightly_task_says_what_it_deleted(db):
    anna = make_contact("C-1")
    make_event(anna, at=OLD)
    make_event(anna, at=NOW)

    assert tasks.prune_sync_history().startswith("1 timeline events and 0 runs from before ")


def test_the_health_page_shows_the_nightly_job_late_only_when_no_cluster_takes_it(db):
    def job():
        return next(s for s in read_health().schedules if s.name == "Prune sync history")

    assert job().overdue and "setup_schedules" in job().note
    call_command("setup_schedules")
    assert not job().overdue
    Schedule.objects.filter(name="Prune sync history").update(
        next_run=timezone.now() - timedelta(days=2)
    )
    assert job().overdue


def test_of_two_latest_events_at_the_very_same_moment_the_later_written_stays(db):
    anna = make_contact("C-1")
    first, second = make_event(anna, at=OLD), make_event(anna, at=OLD)

    prune_sync_history(now=NOW)

    assert remaining(anna) == {second.pk}
    assert first.pk < second.pk
