"""Ending a run and asking whether it should stop, the same way for every kind of run.

Runs are written field by field (`update_fields`), never whole: a cancel an operator asks for
from the dashboard (`cancel_requested`, written by sync/runs.py) must not be undone by a worker
saving the copy it loaded before.
"""

from django.utils import timezone

from sync.models import SyncRun, SyncRunStatus

COUNTERS = ["done", "sent", "failed", "skipped"]


def finish_run(run: SyncRun, *, status: str, error: str = "", counters: bool = True) -> None:
    """End the run. `counters=False` when they are kept in the database (a backfill's workers
    add to them there) or not known here (the watchdog): the run's copy may be stale."""
    run.status, run.error, run.finished_at = status, error, timezone.now()
    fields = ["status", "error", "finished_at"]
    run.save(update_fields=[*fields, *COUNTERS] if counters else fields)


def cancel_requested(run: SyncRun) -> bool:
    """Whether an operator asked the run to stop (read from the database, not the copy)."""
    return SyncRun.objects.filter(pk=run.pk, cancel_requested=True).exists()


def finish_once(run: SyncRun, *, status: str, error: str = "") -> bool:
    """End a running run once, when several workers may try (a backfill's, a reconciliation's
    slices); True for the one that did. The counters are the database's."""
    ended = SyncRun.objects.filter(pk=run.pk, status=SyncRunStatus.RUNNING).update(
        status=status, error=error, finished_at=timezone.now()
    )
    return bool(ended)
