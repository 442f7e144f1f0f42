"""The loop both pulls run: read Spotler's pages over a window and apply each one.

Start (the run RUNNING over its window), then per page: apply it, add up the counters, keep
the page's cursor as the checkpoint (a resumed run goes on from there), beat, and stop if an
operator cancelled the run; finish through `finish_run`. A Spotler error ends the run FAILED
with its explanation; what was applied stays applied (a pull is idempotent).
"""

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime

from django.utils import timezone

import spotler
from spotlersync.logs import log_context
from sync.explain import explain
from sync.models import SyncRun, SyncRunStatus
from sync.run_state import COUNTERS, cancel_requested, finish_run

# The pages from a cursor (None: from the start of the window).
ReadPages = Callable[[str | None], Iterable[spotler.Page]]
# One page's items applied: how many add to `sent`, `skipped` and `failed`.
ApplyPage = Callable[[list, SyncRun], Counter]


def pull_pages(
    run: SyncRun | None,
    *,
    kind: str,
    trigger: str,
    since: datetime,
    until: datetime,
    read_pages: ReadPages,
    apply_page: ApplyPage,
) -> SyncRun:
    """Run (or resume) a pull of `kind` over [since, until]; the run as it ended."""
    run = start_pull(run, kind=kind, trigger=trigger, since=since, until=until)
    with log_context(run=run.pk):
        return _pull(run, read_pages=read_pages, apply_page=apply_page)


def _pull(run: SyncRun, *, read_pages: ReadPages, apply_page: ApplyPage) -> SyncRun:
    status, error = SyncRunStatus.SUCCEEDED, ""
    try:
        for page in read_pages(run.checkpoint.get("after")):
            counted = apply_page(page.items, run)
            run.done += len(page.items)
            run.sent += counted["sent"]
            run.skipped += counted["skipped"]
            run.failed += counted["failed"]
            run.checkpoint = {"after": page.after} if page.after is not None else {}
            run.heartbeat_at = timezone.now()
            run.save(update_fields=[*COUNTERS, "checkpoint", "heartbeat_at"])
            if cancel_requested(run):
                status = SyncRunStatus.CANCELLED
                break
    except spotler.SpotlerError as failure:
        status, error = SyncRunStatus.FAILED, explain(failure)
    finish_run(run, status=status, error=error)
    return run


def start_pull(
    run: SyncRun | None, *, kind: str, trigger: str, since: datetime, until: datetime
) -> SyncRun:
    """The run RUNNING over its window: a new one, or the one an operator started."""
    now = timezone.now()
    run = run or SyncRun.objects.create(kind=kind, trigger=trigger)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRunStatus.RUNNING, started_at=run.started_at or now, heartbeat_at=now,
        window_start=since, window_end=until,
    )  # fmt: skip
    run.refresh_from_db()
    return run
