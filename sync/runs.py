"""Runs an operator starts (dashboard or command line): record a `SyncRun`, queue it, do it once.

`start_run` writes the run (QUEUED) and queues `sync.tasks.execute_run` when the transaction
commits; `execute_run` claims the run before any work, so a redelivered task or a second start
of the same run does nothing. Expected failures end as a FAILED run with the reason on it.
"""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from mapping import catalogue
from sync import pull, push
from sync.models import SyncRun, SyncRunKind, SyncRunStatus

# What an operator may start here; backfill and the bounce pull are not built yet.
STARTABLE = (SyncRunKind.PUSH, SyncRunKind.PULL_UPDATES, SyncRunKind.REFRESH_PROPERTIES)
DEFAULT_PULL_WINDOW = timedelta(hours=1)
FINISHED = (SyncRunStatus.SUCCEEDED, SyncRunStatus.FAILED, SyncRunStatus.CANCELLED)


def start_run(
    *,
    kind: str,
    trigger: str,
    requested_by: AbstractBaseUser | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SyncRun:
    """Record a queued run of `kind` and queue its execution once the transaction commits.

    A pull's window defaults to the hour before `until` (itself defaulting to now); it is
    fixed on the run here, so a redelivered task reads the same window.
    """
    from django_q.tasks import async_task

    from sync import tasks

    if kind not in STARTABLE:
        raise ValueError(f"A {kind} run cannot be started yet.")
    window_start = window_end = None
    if kind == SyncRunKind.PULL_UPDATES:
        # The client sends whole seconds, and the end may be exclusive (the sandbox's is):
        # "now" is rounded up so that changes made in this very second are read too.
        window_end = until or timezone.now().replace(microsecond=0) + timedelta(seconds=1)
        window_start = since or window_end - DEFAULT_PULL_WINDOW
        if window_start > window_end:
            raise ValueError("A pull window must start before it ends.")
    elif since or until:
        raise ValueError(f"A {kind} run has no window.")
    run = SyncRun.objects.create(
        kind=kind, trigger=trigger, requested_by=requested_by,
        window_start=window_start, window_end=window_end,
    )  # fmt: skip
    transaction.on_commit(
        lambda: async_task(
            tasks.execute_run, run.pk, group="runs", q_options={"task_name": f"run {run.pk}"}
        )
    )
    return run


def execute_run(run_id: int) -> SyncRun | None:
    """Claim the queued run and do its work; None if another worker took it (or it ended)."""
    if not claim_run(run_id):
        return None
    run = SyncRun.objects.get(pk=run_id)
    try:
        if run.kind == SyncRunKind.PUSH:
            drain_outbox(run)
        elif run.kind == SyncRunKind.PULL_UPDATES:
            run = pull.pull_updates(since=run.window_start, until=run.window_end, run=run)
        elif run.kind == SyncRunKind.REFRESH_PROPERTIES:
            refresh_properties(run)
        else:
            raise ValueError(f"No work is defined for a {run.kind} run.")
    except Exception as error:
        # A bug: still end the run, so nobody watches a run that will never finish.
        finish_run(run, status=SyncRunStatus.FAILED, error=f"Stopped by an error: {error!r}")
        raise
    return run


def claim_run(run_id: int) -> bool:
    """QUEUED -> RUNNING for exactly one caller; a run cancelled while queued ends here."""
    now = timezone.now()
    SyncRun.objects.filter(pk=run_id, status=SyncRunStatus.QUEUED, cancel_requested=True).update(
        status=SyncRunStatus.CANCELLED, finished_at=now
    )
    claimed = SyncRun.objects.filter(pk=run_id, status=SyncRunStatus.QUEUED).update(
        status=SyncRunStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    return claimed == 1


def drain_outbox(run: SyncRun) -> None:
    """Push batches until nothing is ready; the batches are runs of their own, their totals
    are added up on `run`. Stops between batches when a cancel is requested."""
    while (batch := push.push_outbox(trigger=run.trigger)) is not None:
        run.done += batch.done
        run.sent += batch.sent
        run.failed += batch.failed
        run.skipped += batch.skipped
        run.heartbeat_at = timezone.now()
        run.save(update_fields=["done", "sent", "failed", "skipped", "heartbeat_at"])
        if SyncRun.objects.filter(pk=run.pk, cancel_requested=True).exists():
            finish_run(run, status=SyncRunStatus.CANCELLED)
            return
    finish_run(run, status=SyncRunStatus.SUCCEEDED)


def refresh_properties(run: SyncRun) -> None:
    refresh = catalogue.refresh_catalogue()
    if not refresh.ok:
        finish_run(run, status=SyncRunStatus.FAILED, error=refresh.error)
        return
    run.done = len(refresh.added) + len(refresh.removed) + len(refresh.changed)
    finish_run(run, status=SyncRunStatus.SUCCEEDED)


def finish_run(run: SyncRun, *, status: str, error: str = "") -> None:
    run.status, run.error, run.finished_at = status, error, timezone.now()
    # Not a full save: a cancel requested meanwhile (from the dashboard) must not be undone.
    counters = ["done", "sent", "failed", "skipped"]
    run.save(update_fields=["status", "error", "finished_at", *counters])
