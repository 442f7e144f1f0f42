"""Runs survive what goes wrong around them: a crashing worker keeps its colleagues' counts,
slow Spotler calls are not taken for a dead worker, a lost queue task is queued again, a long
backfill with slow stretches is not given up on, a push task ends in time, and a pull can be
cancelled."""

import threading
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus
from sync import backfill, runs, spotler_connection, tasks
from sync.models import (
    BackfillChunk,
    ChunkStatus,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.push_requests import PUSH_REQUEST_KEY
from tests.conftest import transactional
from tests.sync.helpers import shop_has

LONG_AGO = timedelta(minutes=10)
ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


@pytest.fixture
def sandbox(spotler_sandbox, catalogue, settings):
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    # One worker: the helpers a backfill queues for a second worker are not run in these tests.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {"backfill": {"workers": 1}}}
    return spotler_sandbox


def started_backfill() -> SyncRun:
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    runs.claim_run(run.pk)
    run.refresh_from_db()
    return run


def test_a_backfill_stopped_by_a_bug_keeps_the_counts_its_workers_wrote(sandbox):
    shop_has(501)
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
    assert backfill.prepare(run)
    # The second chunk names a contact in a way no code expects: sending it is a bug.
    BackfillChunk.objects.filter(run=run, number=1).update(contact_ids=["not-a-contact"])

    with pytest.raises(ValueError):
        runs.execute_run(run.pk)

    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert "Stopped by an error" in run.error
    assert (run.done, run.sent) == (500, 500)  # the first chunk went, and still counts


def test_a_chunk_sent_slowly_keeps_its_claim_and_the_run_its_heartbeat(sandbox, settings):
    settings.SYNC_RUN_STALE_SECONDS = 60
    shop_has(250)
    run = started_backfill()
    backfill.prepare(run)
    chunk = backfill.claim_chunk(run)
    # Each call took long (Spotler slow, the client retrying): the claim and beat are old.
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    BackfillChunk.objects.filter(pk=chunk.pk).update(claimed_at=timezone.now() - LONG_AGO)

    result = backfill.send_chunk(
        run, chunk.contact_ids, client=spotler_connection.spotler_client(),
        mapping=backfill.mapping_in_force(), hold=chunk.claim, chunk_id=chunk.pk,
    )  # fmt: skip

    assert result.sent == 250
    assert sandbox.requests()["POST contact/list"] == {"200": 3}  # 100 a call
    assert backfill.claim_chunk(run) is None  # nobody takes the chunk over
    assert runs.watch_runs() == []  # nor does the watchdog resume the run


def test_a_backfill_queued_again_while_its_first_worker_pulled_is_sent_once(sandbox, settings):
    settings.SYNC_RUN_STALE_SECONDS = 60
    shop_has(120)
    run = started_backfill()
    first_worker = SyncRun.objects.get(pk=run.pk)  # its copy: not prepared yet
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - LONG_AGO)
    [line] = runs.watch_runs()  # the first worker's pull is slow: the run is queued again
    assert "queued again" in line

    done = runs.execute_run(run.pk)  # the second worker prepares and sends it
    assert backfill.prepare(first_worker)  # the first worker's pull ends: it finds it prepared

    assert (done.status, done.total, done.sent) == (SyncRunStatus.SUCCEEDED, 120, 120)
    assert done.checkpoint["resumes"] == 1
    assert [c.status for c in BackfillChunk.objects.filter(run=run)] == [ChunkStatus.DONE]
    assert sandbox.requests()["POST contact/list"] == {"200": 2}


def quiet_backfill(*, done: int, checkpoint: dict) -> SyncRun:
    long_ago = timezone.now() - LONG_AGO
    return SyncRun.objects.create(
        kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD, status=SyncRunStatus.RUNNING,
        started_at=long_ago, heartbeat_at=long_ago, total=5000, done=done,
        checkpoint={"prepared": True, "chunks": 10, **checkpoint},
    )  # fmt: skip


def test_a_long_backfill_that_moves_between_slow_stretches_is_resumed_again(db, settings):
    settings.SYNC_RUN_STALE_SECONDS = 60
    run = quiet_backfill(done=3000, checkpoint={"resumes": 5, "done_at_resume": 2500})
    [line] = runs.watch_runs()
    assert "resumed from its checkpoint" in line
    run.refresh_from_db()
    assert run.status == SyncRunStatus.RUNNING
    assert (run.checkpoint["resumes"], run.checkpoint["done_at_resume"]) == (1, 3000)


def test_a_backfill_resumed_again_and_again_without_progress_fails_keeping_its_counts(db, settings):
    settings.SYNC_RUN_STALE_SECONDS = 60
    run = quiet_backfill(done=2500, checkpoint={"resumes": 5, "done_at_resume": 2500})
    [line] = runs.watch_runs()
    assert "failed" in line
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert "resumed 5 times" in run.error
    assert run.done == 2500


def test_a_run_whose_queue_task_was_lost_is_queued_again_and_done_once(db):
    lost = runs.start_run(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.DASHBOARD)
    fresh = runs.start_run(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.DASHBOARD)
    SyncRun.objects.filter(pk=lost.pk).update(created_at=timezone.now() - LONG_AGO)

    [line] = runs.watch_runs()
    assert line.startswith(f"run {lost.pk} queued again")
    assert runs.watch_runs() == []  # once per 5 minutes, not on every watch
    lost.refresh_from_db()
    assert lost.checkpoint["resumes"] == 1
    assert runs.execute_run(lost.pk).status == SyncRunStatus.SUCCEEDED
    assert runs.execute_run(lost.pk) is None  # its first task, turning up after all
    fresh.refresh_from_db()
    assert fresh.status == SyncRunStatus.QUEUED  # queued a moment ago: left alone


def test_a_run_the_queue_never_takes_fails_saying_so(db):
    run = runs.start_run(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.DASHBOARD)
    for _ in range(runs.MAX_RESUMES + 1):
        long_ago = timezone.now() - LONG_AGO
        SyncRun.objects.filter(pk=run.pk).update(created_at=long_ago, heartbeat_at=long_ago)
        runs.watch_runs()
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert "waited in the queue" in run.error


def test_a_push_task_stops_in_time_and_a_held_change_still_goes_after(
    sandbox, settings, monkeypatch
):
    settings.SYNC_PUSH_QUIET_SECONDS = 1.0
    monkeypatch.setattr(tasks, "PUSH_DRAIN_SECONDS", 0)  # as if it had drained for a minute
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    tasks.push_pending_changes()
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Ann"})  # held
    upsert_contact(external_id="C-2", raw_fields={**ANNA, "email": "bram@example.nl"})
    cache.set(PUSH_REQUEST_KEY, 1, timeout=60)  # a change asked for a task meanwhile

    assert "the rest goes next" in tasks.push_pending_changes()

    assert Contact.objects.get(external_id="C-2").sync_status == SyncStatus.SYNCED
    assert Contact.objects.get(external_id="C-1").sync_status == SyncStatus.PENDING
    assert cache.get(PUSH_REQUEST_KEY) is None  # the next change queues a task at once
    time.sleep(1.1)
    tasks.push_pending_changes()  # the next task (or the 1-minute schedule)
    assert sandbox.contact("C-1")["properties"]["firstName"] == "Ann"


@transactional
def test_a_pull_cancelled_while_it_runs_ends_cancelled(spotler_sandbox, catalogue, settings):
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    spotler_sandbox.set(rate_limit=0, latency_ms=1500)
    run = runs.start_run(kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.DASHBOARD)

    def worker() -> None:
        try:
            runs.execute_run(run.pk)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    deadline = time.monotonic() + 10
    while run.status != SyncRunStatus.RUNNING and time.monotonic() < deadline:
        time.sleep(0.05)
        run.refresh_from_db()
    assert run.status == SyncRunStatus.RUNNING  # the pull is reading Spotler's (slow) answer
    assert runs.cancel_run(run)
    thread.join(timeout=30)

    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == (SyncRunStatus.CANCELLED, True)
    assert run.finished_at is not None
