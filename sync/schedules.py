"""The recurring jobs, defined here in code and written to django-q2 by `setup_schedules`.

Deploys (and `make run`) run `manage.py setup_schedules`, which creates or updates each job by
name, so an interval changed here or in the environment takes effect on the next deploy.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

# Every job's result goes through this hook, which keeps its last success for the home and
# health pages (sync/schedule_health.py).
RESULT_HOOK = "sync.schedule_health.note_schedule_result"


@dataclass(frozen=True)
class ScheduledJob:
    name: str
    func: str  # django-q2 stores the dotted path; tests import every one
    minutes: int
    description: str
    # A job created by `setup_schedules` first runs at once; one with `first_after` runs first
    # that long after (the weekly reconciliation: not beside the first backfill of a new site).
    first_after: timedelta = timedelta(0)


def scheduled_jobs() -> list[ScheduledJob]:
    return [
        ScheduledJob(
            name="Push pending changes",
            func="sync.tasks.push_pending_changes",
            minutes=1,
            description="Safety net: pushes what live pushes left, e.g. retries that are due.",
        ),
        ScheduledJob(
            name="Watch sync runs",
            func="sync.tasks.watch_runs",
            minutes=1,
            description="Resumes a run whose worker died (from its checkpoint), or fails it.",
        ),
        ScheduledJob(
            name="Pull updated contacts",
            func="sync.tasks.pull_updates",
            minutes=settings.SYNC_PULL_UPDATES_MINUTES,
            description="Profile edits and unsubscribes made in Spotler, back to the changes feed.",
        ),
        ScheduledJob(
            name="Pull bounces",
            func="sync.tasks.pull_bounces",
            minutes=settings.SYNC_PULL_BOUNCES_MINUTES,
            description="Mails that bounced, to the bounce inbox and the changes feed.",
        ),
        ScheduledJob(
            name="Reconcile with Spotler",
            func="identity.tasks.reconcile_on_schedule",
            minutes=settings.SYNC_RECONCILE_MINUTES,
            description=(
                "Compares every contact with Spotler's copy and lists the drift (missing, "
                "fields or consent that differ, ids only Spotler knows) on the run's page."
            ),
            first_after=timedelta(minutes=settings.SYNC_RECONCILE_MINUTES),
        ),
        ScheduledJob(
            name="Mail bounce digests",
            func="bounces.tasks.send_bounce_digests",
            minutes=24 * 60,
            description="The daily e-mail of new bounce follow-ups, for owners who chose it.",
        ),
        ScheduledJob(
            name="Refresh Spotler properties",
            func="mapping.tasks.refresh_catalogue",
            minutes=settings.SYNC_REFRESH_PROPERTIES_MINUTES,
            description="Fetch Spotler's property catalogue and flag mapping rows it breaks.",
        ),
        ScheduledJob(
            name="Expire temporary lists",
            func="lists.tasks.expire_temporary_lists",
            minutes=5,
            description=(
                "Deletes our temporary lists past their end date, and retries deletes Spotler "
                "refused while a list was in use, so the budget of lists frees itself; queues "
                "again a list whose worker stopped while sending it (LISTS_STALE_MINUTES)."
            ),
        ),
        ScheduledJob(
            name="Send queued subscriptions",
            func="public.subscribe_tasks.send_queued_subscriptions",
            minutes=1,
            description=(
                "Sends subscribe-form sign-ups Spotler could not take at once, with backoff; "
                "a refusal is kept with Spotler's reason on the form's page."
            ),
        ),
        ScheduledJob(
            name="Prune sync history",
            func="sync.tasks.prune_sync_history",
            minutes=24 * 60,
            description=(
                "Deletes timeline events older than SYNC_EVENT_RETENTION_DAYS (keeping each "
                "contact's latest of each kind, and failed contacts' reasons) and old runs; "
                "audit entries older than AUDIT_RETENTION_DAYS."
            ),
        ),
    ]


@transaction.atomic
def setup_schedules() -> list[str]:
    """Create or update every job by name; returns one line per job saying what happened."""
    lines = []
    now = timezone.now()
    for job in scheduled_jobs():
        how = {"func": job.func, "schedule_type": Schedule.MINUTES, "hook": RESULT_HOOK}
        first = {"next_run": now + job.first_after, "repeats": -1}
        schedule, created = Schedule.objects.update_or_create(
            name=job.name,
            defaults={**how, "minutes": job.minutes},
            create_defaults={**how, "minutes": job.minutes, **first},
        )
        verb = "created" if created else "updated"
        lines.append(f"{verb}: {schedule.name} every {job.minutes} min ({job.func})")
    return lines
