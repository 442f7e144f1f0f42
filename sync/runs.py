"""Runs an operator starts (dashboard or command line): record a `SyncRun`, queue it, do it once.

`start_run` writes the run (QUEUED) and queues `sync.tasks.execute_run` when the transaction
commits; `execute_run` claims the run before any work, so a redelivered task or a second start
of the same run does nothing. Expected failures end as a FAILED run with the reason on it.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from audit import trail
from identity import reconcile
from mapping import catalogue
from spotlersync.logs import log_context
from sync import backfill, pull, pull_bounces, push, tasks
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.run_state import COUNTERS, cancel_requested, finish_run

STARTABLE = (
    SyncRunKind.PUSH,
    SyncRunKind.BACKFILL,
    SyncRunKind.PULL_UPDATES,
    SyncRunKind.PULL_BOUNCES,
    SyncRunKind.REFRESH_PROPERTIES,
    SyncRunKind.RECONCILE,
)
PULLS = (SyncRunKind.PULL_UPDATES, SyncRunKind.PULL_BOUNCES)
DEFAULT_PULL_WINDOW = timedelta(hours=1)
# A backfill's filters (all optional; together they narrow the contacts sent):
#   failed_only: bool, language: str, account_manager: str, ids: [external id, ...],
#   mapping_version: int (the contacts whose Spotler data that version changed;
#   mapping/push_offer.py starts these)
# and "changed since" is the run's window_start.
BACKFILL_FILTERS = ("failed_only", "language", "account_manager", "ids", "mapping_version")
FINISHED = (SyncRunStatus.SUCCEEDED, SyncRunStatus.FAILED, SyncRunStatus.CANCELLED)
# Runs whose counters their workers add to in the database, batch by batch: a run's copy in
# memory may be stale. They resume from their checkpoint, whoever started them.
KEPT_IN_THE_DATABASE = (SyncRunKind.BACKFILL, SyncRunKind.RECONCILE)


def start_run(
    *,
    kind: str,
    trigger: str,
    requested_by: AbstractBaseUser | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    filters: dict | None = None,
) -> SyncRun:
    """Record a queued run of `kind` and queue its execution once the transaction commits.

    A pull's window defaults to the hour before `until` (itself defaulting to now); it is
    fixed on the run here, so a redelivered task reads the same window. A backfill takes
    `filters` (see BACKFILL_FILTERS) and `since` ("changed since"); without any it sends
    every contact. Backfills run on their own queue when a backfill cluster runs, so live
    changes never wait behind them; else in slices on the default queue (sync/backfill.py).
    A reconciliation takes `filters` {"sample": N} (identity/reconcile.py).
    """
    if kind not in STARTABLE:
        raise ValueError(f"A {kind} run cannot be started yet.")
    window_start = window_end = None
    if kind == SyncRunKind.BACKFILL:
        filters = clean_filters(filters)
    elif kind == SyncRunKind.RECONCILE:
        filters = reconcile.clean_filters(filters)
    elif filters:
        raise ValueError(f"A {kind} run takes no filters.")
    if kind == SyncRunKind.BACKFILL:
        if until:
            raise ValueError("A backfill sends contacts changed since a moment; it has no end.")
        window_start = since
    elif kind in PULLS:
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
        window_start=window_start, window_end=window_end, filters=filters or {},
    )  # fmt: skip
    if trigger in (SyncRunTrigger.DASHBOARD, SyncRunTrigger.COMMAND):
        actor = requested_by or ("manage.py sync" if trigger == SyncRunTrigger.COMMAND else None)
        trail.record(
            actor=actor, action="started", object_type="sync run", obj=run,
            object_label=f"{run.get_kind_display()} #{run.pk}",
            after={
                "kind": kind, "trigger": trigger, "window_start": window_start,
                "window_end": window_end, "filters": run.filters,
            },
        )  # fmt: skip
    transaction.on_commit(lambda: queue_run(run))
    return run


def queue_run(run: SyncRun) -> None:
    """Hand the run to the queue: a backfill to the backfill cluster when one runs, else in
    slices to the default one (sync/backfill.py); a reconciliation in slices to the default
    one; every other run to the default one, whole."""
    options = {"task_name": f"run {run.pk}"}
    arguments = {}
    if run.kind == SyncRunKind.BACKFILL:
        if backfill.own_cluster_is_running():
            options["cluster"] = settings.SYNC_BACKFILL_CLUSTER
        else:
            arguments["slice_seconds"] = backfill.SLICE_SECONDS
    elif run.kind == SyncRunKind.RECONCILE:
        arguments["slice_seconds"] = reconcile.SLICE_SECONDS
    async_task(tasks.execute_run, run.pk, **arguments, group="runs", q_options=options)


def clean_filters(filters: dict | None) -> dict:
    """The backfill filters that narrow something; ValueError naming what is wrong."""
    filters = dict(filters or {})
    unknown = sorted(set(filters) - set(BACKFILL_FILTERS))
    if unknown:
        raise ValueError(f"Unknown filter(s): {', '.join(unknown)}.")
    clean: dict = {}
    if filters.get("failed_only"):
        clean["failed_only"] = True
    for name in ("language", "account_manager"):
        value = str(filters.get(name) or "").strip()
        if value:
            clean[name] = value
    ids = filters.get("ids") or []
    if isinstance(ids, str):
        ids = ids.replace(",", " ").split()
    ids = list(dict.fromkeys(str(i).strip() for i in ids if str(i).strip()))
    if ids:
        clean["ids"] = ids
    version = filters.get("mapping_version")
    if version is not None:
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ValueError(f"mapping_version must be a version number; {version!r} is not.")
        clean["mapping_version"] = version
    return clean


def cancel_run(run: SyncRun) -> bool:
    """Ask the run to stop; a queued run ends at once, a running one after its current step
    (a push after its batch, a backfill after its chunk, a pull after its page: what a pull
    applied stays applied, and another pull reads the same again). False if it had ended."""
    if run.status in FINISHED:
        return False
    SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    SyncRun.objects.filter(pk=run.pk, status=SyncRunStatus.QUEUED).update(
        status=SyncRunStatus.CANCELLED, finished_at=timezone.now()
    )
    run.refresh_from_db()
    return True


def execute_run(run_id: int, *, slice_seconds: float | None = None) -> SyncRun | None:
    """Claim the queued run and do its work; None if another worker took it (or it ended).
    A backfill with `slice_seconds` works one slice and queues the next (sync/backfill.py)."""
    if not claim_run(run_id):
        return None
    with log_context(run=run_id):
        return _execute(SyncRun.objects.get(pk=run_id), slice_seconds=slice_seconds)


def _execute(run: SyncRun, *, slice_seconds: float | None) -> SyncRun:
    run_id = run.pk
    try:
        if run.kind == SyncRunKind.PUSH:
            push_until_empty(run)
        elif run.kind == SyncRunKind.BACKFILL:
            backfill.backfill(run, slice_seconds=slice_seconds)
        elif run.kind == SyncRunKind.PULL_UPDATES:
            run = pull.pull_updates(since=run.window_start, until=run.window_end, run=run)
        elif run.kind == SyncRunKind.PULL_BOUNCES:
            run = pull_bounces.pull_bounces(since=run.window_start, until=run.window_end, run=run)
        elif run.kind == SyncRunKind.REFRESH_PROPERTIES:
            refresh_properties(run)
        elif run.kind == SyncRunKind.RECONCILE:
            reconcile.reconcile(run, slice_seconds=slice_seconds)
        else:
            raise ValueError(f"No work is defined for a {run.kind} run.")
    except Exception as error:
        # A bug: still end the run, so nobody watches a run that will never finish. A
        # backfill's counters are kept in the database by all its workers: left as they are.
        finish_run(
            run,
            status=SyncRunStatus.FAILED,
            error=f"Stopped by an error: {error!r}",
            counters=run.kind not in KEPT_IN_THE_DATABASE,
        )
        raise
    return SyncRun.objects.get(pk=run_id)


def work_backfill(run_id: int, *, slice_seconds: float | None = None) -> None:
    """One more worker on a running backfill (queued by the run itself, or by the watchdog),
    or its next slice on the default queue (`slice_seconds`)."""
    run = SyncRun.objects.filter(pk=run_id, status=SyncRunStatus.RUNNING).first()
    if run is None:
        return
    try:
        with log_context(run=run_id):
            backfill.work_on(run_id, slice_seconds=slice_seconds)
    except Exception as error:
        error_text = f"Stopped by an error: {error!r}"
        finish_run(run, status=SyncRunStatus.FAILED, error=error_text, counters=False)
        raise


MAX_RESUMES = 5  # in a row without progress (`done` did not move since the last resume)
LOST_AFTER = timedelta(minutes=5)  # a run still queued this long lost its queue task


def watch_runs() -> list[str]:
    """Find runs whose worker stopped reporting (killed, timed out, machine gone) and act.

    A backfill resumes from its checkpoint: its workers are queued again, and they take over
    the chunks in flight (with the contacts those held). A reconciliation, and a run an
    operator started, is queued again (a reconciliation goes on from its checkpoint; pulls and
    refreshes are idempotent).
    A live push batch is marked failed: its changes go out again once their lease runs out.
    A run still queued LOST_AFTER after it was created (or last queued) lost its queue task
    (Redis restarted, or was down when the run was queued): it is queued again.
    Each run is resumed at most MAX_RESUMES times in a row without progress, then it fails
    with the reason.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SYNC_RUN_STALE_SECONDS)
    lines = []
    quiet = SyncRun.objects.filter(status=SyncRunStatus.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, started_at__lt=stale)
    )
    for run in quiet:
        # Whoever moves the heartbeat first acts; a second watchdog finds nothing to do.
        if not SyncRun.objects.filter(
            pk=run.pk, status=SyncRunStatus.RUNNING, heartbeat_at=run.heartbeat_at
        ).update(heartbeat_at=now):
            continue
        since = timezone.localtime(run.heartbeat_at or run.started_at).strftime("%H:%M:%S")
        resumes = resumes_in_a_row(run)
        manual = run.kind in KEPT_IN_THE_DATABASE or run.trigger in (
            SyncRunTrigger.DASHBOARD,
            SyncRunTrigger.COMMAND,
        )
        if not manual or resumes >= MAX_RESUMES:
            why = f"Its worker stopped without a word after {since} (killed or timed out)" + (
                f", and it was resumed {resumes} times already." if manual else "."
            )
            if not manual and run.kind == SyncRunKind.PUSH:
                why += " Its changes go out again once their claim runs out."
            finish_run(run, status=SyncRunStatus.FAILED, error=why, counters=False)
            lines.append(f"run {run.pk} failed: no word since {since}")
            continue
        checkpoint = {**run.checkpoint, "resumes": resumes + 1, "done_at_resume": run.done}
        if run.kind == SyncRunKind.BACKFILL and run.checkpoint.get("prepared"):
            SyncRun.objects.filter(pk=run.pk).update(checkpoint=checkpoint)
            backfill.queue_workers(run.pk)
            lines.append(f"run {run.pk} resumed from its checkpoint (no word since {since})")
        else:
            SyncRun.objects.filter(pk=run.pk, status=SyncRunStatus.RUNNING).update(
                status=SyncRunStatus.QUEUED, checkpoint=checkpoint
            )
            queue_run(run)
            lines.append(f"run {run.pk} queued again (no word since {since})")
    return lines + requeue_lost_runs(now=now)


def resumes_in_a_row(run: SyncRun) -> int:
    """The resumes so far, counted only while the run makes no progress between them."""
    if run.checkpoint.get("done_at_resume", run.done) != run.done:
        return 0
    return int(run.checkpoint.get("resumes", 0))


def requeue_lost_runs(*, now: datetime) -> list[str]:
    """Queue again the runs still queued long after they were queued; claim_run makes sure a
    run whose first task turns up after all is still done once."""
    lost_before = now - LOST_AFTER
    lines = []
    lost = SyncRun.objects.filter(status=SyncRunStatus.QUEUED, created_at__lt=lost_before).filter(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=lost_before)
    )
    for run in lost:
        # The heartbeat marks when it was queued again: one watchdog acts, once per LOST_AFTER.
        if not SyncRun.objects.filter(
            pk=run.pk, status=SyncRunStatus.QUEUED, heartbeat_at=run.heartbeat_at
        ).update(heartbeat_at=now):
            continue
        since = timezone.localtime(run.heartbeat_at or run.created_at).strftime("%H:%M:%S")
        resumes = resumes_in_a_row(run)
        if resumes >= MAX_RESUMES:
            why = (
                f"It waited in the queue since {since} and was queued again {resumes} times; "
                "is the queue cluster running?"
            )
            SyncRun.objects.filter(pk=run.pk, status=SyncRunStatus.QUEUED).update(
                status=SyncRunStatus.FAILED, error=why, finished_at=now
            )
            lines.append(f"run {run.pk} failed: queued since {since}")
            continue
        checkpoint = {**run.checkpoint, "resumes": resumes + 1, "done_at_resume": run.done}
        if not SyncRun.objects.filter(pk=run.pk, status=SyncRunStatus.QUEUED).update(
            checkpoint=checkpoint
        ):
            continue  # its task turned up after all
        queue_run(run)
        lines.append(f"run {run.pk} queued again (its queue task was lost; queued since {since})")
    return lines


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


def push_until_empty(run: SyncRun) -> None:
    """An operator's push run: push batches until nothing is ready, however long that takes
    (the queue task `tasks.push_pending_changes` stops after a minute). The batches are runs of
    their own, their totals are added up on `run`. Stops between batches when cancelled."""
    last_failure = ""
    while (batch := push.push_one_batch(trigger=run.trigger)) is not None:
        if batch.status == SyncRunStatus.FAILED:
            last_failure = batch.error
        run.done += batch.done
        run.sent += batch.sent
        run.failed += batch.failed
        run.skipped += batch.skipped
        run.heartbeat_at = timezone.now()
        run.save(update_fields=[*COUNTERS, "heartbeat_at"])
        if cancel_requested(run):
            finish_run(run, status=SyncRunStatus.CANCELLED)
            return
    if run.sent == 0 and last_failure:
        # Spotler took nothing: the changes wait in the outbox; say so rather than "succeeded".
        finish_run(run, status=SyncRunStatus.FAILED, error=last_failure)
        return
    finish_run(run, status=SyncRunStatus.SUCCEEDED)


def refresh_properties(run: SyncRun) -> None:
    refresh = catalogue.refresh_catalogue()
    if not refresh.ok:
        finish_run(run, status=SyncRunStatus.FAILED, error=refresh.error)
        return
    run.done = len(refresh.added) + len(refresh.removed) + len(refresh.changed)
    finish_run(run, status=SyncRunStatus.SUCCEEDED)
