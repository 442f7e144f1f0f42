"""Each scheduled job's real last success and whether it is late: the one source for the home
page and the health page, so the two never disagree.

A job's success is what the job itself records where it keeps a record (a pull's run, a push
batch, a catalogue refresh): a pull whose task ended normally but whose run failed has not
succeeded, nor has a push that Spotler took nothing of. Every other job succeeds when its
django-q2 task does, which the result hook below writes down.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Min
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django_q.models import Schedule, Task

from mapping.models import CatalogueRefresh
from sync.models import (
    OutboxEntry,
    ScheduledJobResult,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.schedules import RESULT_HOOK, ScheduledJob, scheduled_jobs

OK, WARNING, BAD = "ok", "warning", "bad"
PUSH_FUNC = "sync.tasks.push_pending_changes"
# The jobs whose success is their scheduled run's (a run that failed is a failure of the job).
RUN_KINDS = {
    "sync.tasks.pull_updates": SyncRunKind.PULL_UPDATES,
    "sync.tasks.pull_bounces": SyncRunKind.PULL_BOUNCES,
    "identity.tasks.reconcile_on_schedule": SyncRunKind.RECONCILE,
}
CATALOGUE_FUNC = "mapping.tasks.refresh_catalogue"


@dataclass(frozen=True)
class ScheduleHealth:
    name: str
    minutes: int
    last_success: datetime | None
    next_run: datetime | None
    state: str  # OK, WARNING or BAD
    label: str  # the state in words: "on time", "overdue", ...
    note: str = ""

    @property
    def overdue(self) -> bool:
        return self.state == BAD


@dataclass(frozen=True)
class Outcomes:
    last_success: datetime | None
    last_failure: datetime | None


def note_schedule_result(task: Task) -> None:
    """django-q2's result hook on every scheduled job: keep its latest success or failure.

    django-q2 names a scheduled task's group after its schedule.
    """
    if not task.group:
        return  # not sent by a schedule
    result, _ = ScheduledJobResult.objects.get_or_create(name=task.group)
    at = task.stopped or timezone.now()
    if task.success and (result.last_success_at is None or at > result.last_success_at):
        result.last_success_at = at
    elif not task.success and (result.last_failure_at is None or at > result.last_failure_at):
        result.last_failure_at, result.last_error = at, str(task.result)[:2000]
    result.save()


def read_schedule_health(*, now: datetime | None = None) -> list[ScheduleHealth]:
    """Every job defined in code, in that order, with its last success and its state."""
    now = now or timezone.now()
    schedules = {s.name: s for s in Schedule.objects.filter(name__isnull=False)}
    recorded = {r.name: r for r in ScheduledJobResult.objects.all()}
    result = []
    for job in scheduled_jobs():
        hooked = recorded.get(job.name)
        outcomes = _own_outcomes(job, hooked=hooked)
        schedule = schedules.get(job.name)
        state, label, note = _state(job, schedule=schedule, outcomes=outcomes, now=now)
        next_run = schedule.next_run if schedule else None
        result.append(
            ScheduleHealth(
                job.name, job.minutes, outcomes.last_success, next_run, state, label, note
            )
        )
    return result


def _own_outcomes(job: ScheduledJob, *, hooked: ScheduledJobResult | None) -> Outcomes:
    """The job's latest success and failure; a task that raised is a failure of any job."""
    task_success = hooked.last_success_at if hooked else None
    task_failure = hooked.last_failure_at if hooked else None
    if job.func in RUN_KINDS:
        runs = SyncRun.objects.filter(kind=RUN_KINDS[job.func], trigger=SyncRunTrigger.SCHEDULE)
        # Ordered by creation (indexed with kind and status); scheduled runs never overlap.
        success = _latest(runs.filter(status=SyncRunStatus.SUCCEEDED), "finished_at", "created_at")
        failure = _latest(runs.filter(status=SyncRunStatus.FAILED), "finished_at", "created_at")
        return Outcomes(success, _later(failure, task_failure))
    if job.func == PUSH_FUNC:
        return _push_outcomes(task_success=task_success, task_failure=task_failure)
    if job.func == CATALOGUE_FUNC:
        success = _latest(CatalogueRefresh.objects.filter(ok=True), "fetched_at")
        failure = _latest(CatalogueRefresh.objects.filter(ok=False), "fetched_at")
        return Outcomes(success, _later(failure, task_failure))
    return Outcomes(task_success, task_failure)


def _push_outcomes(*, task_success: datetime | None, task_failure: datetime | None) -> Outcomes:
    """The push job succeeds when a push batch does (Spotler took it); its task also ends
    normally while every batch fails, so the task counts only before any batch was recorded.

    Every push counts, live or manual: each drains the same outbox. A manual push that found
    nothing ready (its changes wait out a retry) is no success."""
    runs = SyncRun.objects.filter(kind=SyncRunKind.PUSH)
    succeeded = runs.filter(status=SyncRunStatus.SUCCEEDED, done__gt=0)
    success = _latest(succeeded, "finished_at", "created_at")
    failure = _latest(runs.filter(status=SyncRunStatus.FAILED), "finished_at", "created_at")
    if success is None and failure is None:
        success = task_success  # nothing was waiting yet: the task ran and found nothing
    return Outcomes(success, _later(failure, task_failure))


def _latest(queryset, field: str, order: str | None = None) -> datetime | None:
    return queryset.order_by(f"-{order or field}").values_list(field, flat=True).first()


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return max((t for t in (a, b) if t is not None), default=None)


def _state(
    job: ScheduledJob, *, schedule: Schedule | None, outcomes: Outcomes, now: datetime
) -> tuple[str, str, str]:
    """(state, label, note), the first that applies: not set up, not taken by any cluster,
    failing, late, not run yet, on time."""
    interval = timedelta(minutes=job.minutes)
    success, failure = outcomes.last_success, outcomes.last_failure
    if schedule is None:
        return BAD, "not set up", "run manage.py setup_schedules"
    if now - schedule.next_run > interval:
        due = format_date(timezone.localtime(schedule.next_run), "j M H:i")
        return BAD, "overdue", f"no queue cluster has taken it since {due}"
    if failure is not None and (success is None or failure > success):
        return (
            BAD,
            "failing",
            f"last failed {format_date(timezone.localtime(failure), 'j M H:i:s')}",
        )
    if job.func == PUSH_FUNC:
        # Pushes run when there is something to push; late only while changes wait.
        oldest = OutboxEntry.objects.pending().aggregate(o=Min("created_at"))["o"]
        if oldest is not None and now - oldest > 2 * interval + timedelta(minutes=1):
            return BAD, "overdue", "changes have been waiting too long"
    elif success is not None and now - success > 2 * interval:
        return BAD, "overdue", "no success for two intervals"
    note = "" if schedule.hook == RESULT_HOOK else "run manage.py setup_schedules to record it"
    if success is None and job.first_after and schedule.next_run > now:
        first = format_date(timezone.localtime(schedule.next_run), "j M H:i")
        return OK, f"first run {first}", note
    if success is None:
        return WARNING, "not run yet", note
    return OK, "on time", note
