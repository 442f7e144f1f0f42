"""Queue entry points for the sync engine (django-q2 runs these by their path)."""

from sync import pull, push, retention
from sync import pull_bounces as bounce_pull  # the task below has the module's name


def push_outbox() -> str:
    """Drain the outbox: push batches until nothing is ready, then wait for the contacts held
    back by their quiet period (edited again just after a push) and push those too."""
    push.clear_push_request()
    runs = sent = failed = 0
    while True:
        while (run := push.push_outbox()) is not None:
            runs, sent, failed = runs + 1, sent + run.sent, failed + run.failed
        if not push.wait_for_held_contacts():
            break
    return f"{runs} batch(es): {sent} sent, {failed} failed"


def pull_updates() -> str:
    run = pull.pull_updates_on_schedule()
    return f"{run.status}: {run.done} updated contacts read, {run.sent} with changes"


def pull_bounces() -> str:
    run = bounce_pull.pull_bounces_on_schedule()
    return f"{run.status}: {run.done} bounces read, {run.sent} new"


def prune_sync_history() -> str:
    pruned = retention.prune_sync_history()
    return (
        f"{pruned.events} timeline events and {pruned.runs} runs from before "
        f"{pruned.cutoff:%Y-%m-%d %H:%M} deleted"
    )


def execute_run(run_id: int) -> str:
    """Do a run an operator started (see sync/runs.py); a run already taken is left alone."""
    from sync import runs

    run = runs.execute_run(run_id)
    if run is None:
        return f"run {run_id} already taken"
    return f"{run.status}: {run.done} done, {run.sent} sent, {run.failed} failed"


def work_backfill(run_id: int) -> str:
    """Another worker on a running backfill (sync/backfill.py)."""
    from sync import runs

    runs.work_backfill(run_id)
    return f"run {run_id}: worker done"


def watch_runs() -> str:
    """Resume (or fail) runs whose worker stopped reporting."""
    from sync import runs

    lines = runs.watch_runs()
    return "; ".join(lines) or "every run is reporting"
