"""`manage.py sync reconcile [--sample N] [--wait]`, and the weekly schedule."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Schedule

from contacts.models import Contact, SyncStatus
from identity import tasks
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.schedule_health import read_schedule_health
from tests.conftest import transactional
from tests.identity.reconcile_helpers import lost_in_the_outbox, pushed
from tests.queue_cluster import running_cluster

JOB = "Reconcile with Spotler"


def sync(*args: str) -> str:
    out = io.StringIO()
    call_command("sync", *args, stdout=out)
    return out.getvalue()


def test_sync_reconcile_starts_a_run_of_every_contact_or_a_sample(db):
    output = sync("reconcile")
    run = SyncRun.objects.get()
    assert output.startswith(f"Started reconciliation run #{run.pk}.\n")
    assert (run.kind, run.trigger, run.filters) == (
        SyncRunKind.RECONCILE, SyncRunTrigger.COMMAND, {}
    )  # fmt: skip
    output = sync("reconcile", "--sample", "20")
    run = SyncRun.objects.latest("id")
    assert f"Started reconciliation run #{run.pk} of a random sample of 20 contacts." in output
    assert run.filters == {"sample": 20}


def test_sync_reconcile_refuses_a_sample_that_is_no_number_of_contacts(db):
    with pytest.raises(CommandError, match=r"A sample is a number of contacts, 1 or more; 0 is"):
        sync("reconcile", "--sample", "0")
    assert not SyncRun.objects.exists()


@transactional
def test_sync_reconcile_wait_follows_the_run_on_the_queue_and_sums_up_what_it_found(sandbox):
    pushed(3)
    lost_in_the_outbox("C-5")
    with running_cluster(workers=1, extra_env={"SPOTLER_BASE_URL": sandbox.base_url}):
        output = sync("reconcile", "--wait", "--timeout", "60")
        run = SyncRun.objects.get(kind=SyncRunKind.RECONCILE)
        url = reverse("sync:finding-list", args=[run.pk])
        assert output.endswith(
            f"Reconciliation run #{run.pk} succeeded: 4 of 4 done, 3 in step, 1 differ; "
            f"findings: 1 missing in spotler (see {url})\n"
        )
        # Its push failed for good: Spotler is not expected to hold it any more.
        Contact.objects.filter(external_id="C-5").update(sync_status=SyncStatus.FAILED)
        output = sync("reconcile", "--sample", "2", "--wait", "--timeout", "60")
    assert output.endswith(
        "succeeded: 2 of 2 done, 2 in step, 0 differ; "
        "Spotler holds every contact as the ledger does: 2 compared\n"
    )


def test_setup_schedules_creates_the_weekly_reconciliation(db, settings):
    call_command("setup_schedules")
    job = Schedule.objects.get(name=JOB)
    assert (job.func, job.minutes) == ("identity.tasks.reconcile_on_schedule", 7 * 24 * 60)
    settings.SYNC_RECONCILE_MINUTES = 24 * 60
    call_command("setup_schedules")
    assert Schedule.objects.get(name=JOB).minutes == 24 * 60


def test_the_schedule_queues_a_run_unless_one_is_still_going(db):
    first = tasks.reconcile_on_schedule()
    run = SyncRun.objects.get()
    assert first == f"reconciliation #{run.pk} queued"
    assert (run.kind, run.trigger) == (SyncRunKind.RECONCILE, SyncRunTrigger.SCHEDULE)
    assert tasks.reconcile_on_schedule() == (
        f"reconciliation #{run.pk} is still queued; no other started"
    )
    assert SyncRun.objects.count() == 1


def test_schedule_health_judges_the_job_by_its_scheduled_runs(db):
    call_command("setup_schedules")

    def health():
        return next(h for h in read_schedule_health() if h.name == JOB)

    first = timezone.localtime(Schedule.objects.get(name=JOB).next_run)
    assert first > timezone.now() + timedelta(days=6)  # not beside a new site's first backfill
    assert (health().state, health().label) == ("ok", f"first run {first:%-d %b %H:%M}")
    Schedule.objects.filter(name=JOB).update(next_run=timezone.now() - timedelta(minutes=1))
    assert health().label == "not run yet"
    now = timezone.now()
    SyncRun.objects.create(
        kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.SCHEDULE,
        status=SyncRunStatus.SUCCEEDED, finished_at=now,
    )  # fmt: skip
    assert (health().label, health().last_success) == ("on time", now)
    SyncRun.objects.create(
        kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.SCHEDULE,
        status=SyncRunStatus.FAILED, finished_at=timezone.now(),
    )  # fmt: skip
    assert health().label == "failing"
