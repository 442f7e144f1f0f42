"""Queue entry points for identity (django-q2 runs these by their path).

As in sync/tasks.py: domain modules import this module at the top, to queue these tasks by the
function itself, so each task imports the domain module it calls inside its body.
"""


def reconcile_on_schedule() -> str:
    """The weekly reconciliation: queue a run over every contact, unless one is still going."""
    # inside: sync.runs imports identity.reconcile, which imports this module at the top
    from sync import runs
    from sync.models import SyncRun, SyncRunKind, SyncRunTrigger

    going = SyncRun.objects.unfinished().filter(kind=SyncRunKind.RECONCILE).first()
    if going is not None:
        return f"reconciliation #{going.pk} is still {going.status}; no other started"
    run = runs.start_run(kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.SCHEDULE)
    return f"reconciliation #{run.pk} queued"


def continue_reconciliation(run_id: int, slice_seconds: float) -> str:
    """The next slice of a running reconciliation (identity/reconcile.py)."""
    from identity import reconcile  # inside: domain modules import tasks at the top

    reconcile.work_slice(run_id, slice_seconds=slice_seconds)
    return f"run {run_id}: slice done"
