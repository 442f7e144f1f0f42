"""Queue entry points for the sync engine (django-q2 runs these by their path).

Domain modules import this module at the top, to queue these tasks by the function itself; so
each task imports the domain module it calls inside its body, at call time, and the imports
between the two go one way only (tasks -> domain at call time, domain -> tasks at import).
"""

import time

# Well inside the queue's task timeout (600 s), which would stop a task mid-batch.
PUSH_DRAIN_SECONDS = 60


def push_pending_changes() -> str:
    """Drain the outbox for up to PUSH_DRAIN_SECONDS: push batches until nothing is ready,
    then wait for the contacts held back by their quiet period (edited again just after a
    push) and push those too.

    Under steady traffic there is always more: after PUSH_DRAIN_SECONDS the task ends and
    leaves the rest to the next task (asked for by the next change, or the 1-minute schedule).
    """
    from sync import push, push_requests  # inside: domain modules import tasks at the top

    push_requests.clear_push_request()
    deadline = time.monotonic() + PUSH_DRAIN_SECONDS
    runs = sent = failed = 0
    while True:
        while (run := push.push_one_batch()) is not None:
            runs, sent, failed = runs + 1, sent + run.sent, failed + run.failed
            if time.monotonic() >= deadline:
                break
        if time.monotonic() >= deadline:
            push_requests.clear_push_request()  # the next change queues a task at once again
            return f"{runs} batch(es): {sent} sent, {failed} failed; the rest goes next"
        if not push_requests.wait_for_held_contacts():
            break
    return f"{runs} batch(es): {sent} sent, {failed} failed"


# The task's name until the push modules were split: schedule rows written before the next
# `setup_schedules`, and tasks queued before a deploy, still name this path.
push_outbox = push_pending_changes


def pull_updates() -> str:
    from sync import pull  # inside: domain modules import tasks at the top

    run = pull.pull_updates_on_schedule()
    return f"{run.status}: {run.done} updated contacts read, {run.sent} with changes"


def pull_bounces() -> str:
    # inside: domain modules import tasks at the top (named apart from this task)
    from sync import pull_bounces as bounce_pull

    run = bounce_pull.pull_bounces_on_schedule()
    return f"{run.status}: {run.done} bounces read, {run.sent} new"


def prune_sync_history() -> str:
    from audit.retention import prune_audit_trail  # inside: tasks import at call time
    from sync import retention  # inside: domain modules import tasks at the top

    pruned = retention.prune_sync_history()
    audited = prune_audit_trail()
    return (
        f"{pruned.events} timeline events and {pruned.runs} runs from before "
        f"{pruned.cutoff:%Y-%m-%d %H:%M} deleted; {audited} audit entries older than "
        f"AUDIT_RETENTION_DAYS deleted"
    )


def execute_run(run_id: int, slice_seconds: float | None = None) -> str:
    """Do a run an operator started (see sync/runs.py); a run already taken is left alone. A
    backfill with `slice_seconds` works a slice of it and queues the next."""
    from sync import runs  # inside: domain modules import tasks at the top

    run = runs.execute_run(run_id, slice_seconds=slice_seconds)
    if run is None:
        return f"run {run_id} already taken"
    return f"{run.status}: {run.done} done, {run.sent} sent, {run.failed} failed"


def work_backfill(run_id: int, slice_seconds: float | None = None) -> str:
    """Another worker on a running backfill, or its next slice (sync/backfill.py)."""
    from sync import runs  # inside: domain modules import tasks at the top

    runs.work_backfill(run_id, slice_seconds=slice_seconds)
    return f"run {run_id}: {'slice' if slice_seconds else 'worker'} done"


def watch_runs() -> str:
    """Resume (or fail) runs whose worker stopped reporting."""
    from sync import runs  # inside: domain modules import tasks at the top

    lines = runs.watch_runs()
    return "; ".join(lines) or "every run is reporting"
