"""Queue entry points for the sync engine (django-q2 runs these by their path)."""

from sync import pull, push


def push_outbox() -> str:
    """Drain the outbox: push batches until nothing is ready."""
    push.clear_push_request()
    runs = sent = failed = 0
    while (run := push.push_outbox()) is not None:
        runs, sent, failed = runs + 1, sent + run.sent, failed + run.failed
    return f"{runs} batch(es): {sent} sent, {failed} failed"


def pull_updates() -> str:
    run = pull.pull_updates_on_schedule()
    return f"{run.status}: {run.done} updated contacts read, {run.sent} with changes"


def execute_run(run_id: int) -> str:
    """Do a run an operator started (see sync/runs.py); a run already taken is left alone."""
    from sync import runs

    run = runs.execute_run(run_id)
    if run is None:
        return f"run {run_id} already taken"
    return f"{run.status}: {run.done} done, {run.sent} sent, {run.failed} failed"
