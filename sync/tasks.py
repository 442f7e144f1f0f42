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
