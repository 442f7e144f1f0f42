"""Backfills and filtered resyncs: the selection reaches the sandbox 100 per call, exactly once,
with progress counted, failures kept with Spotler's reason, and a resume from the checkpoint."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from contacts.ingest import erase_contact, inactivate_contact, upsert_contact
from contacts.models import Contact, SyncStatus
from mapping.versions import current_version, save_version
from spotler.sandbox.handle import SandboxControlError
from sync import backfill, pull, runs, spotler_connection
from sync.models import (
    BackfillChunk,
    ChunkStatus,
    OutboxEntry,
    OutboxStatus,
    SpotlerConsent,
    SyncEvent,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.schedule_health import read_schedule_health
from tests.conftest import transactional
from tests.sync.helpers import customer, shop_has


@pytest.fixture
def sandbox(spotler_sandbox, catalogue, settings):
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    # One worker: the helpers a backfill queues for a second worker are not run in these tests.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {"backfill": {"workers": 1}}}
    return spotler_sandbox


def spotler_knows(sandbox, external_id: str) -> bool:
    try:
        sandbox.contact(external_id)
    except SandboxControlError:
        return False
    return True


def start(**options) -> SyncRun:
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND, **options)
    return runs.execute_run(run.pk)


def test_a_full_backfill_sends_every_contact_100_per_call(sandbox):
    shop_has(250)
    run = start()
    assert run.status == SyncRunStatus.SUCCEEDED
    assert (run.total, run.done, run.sent, run.failed) == (250, 250, 250, 0)
    assert sandbox.requests()["POST contact/list"] == {"200": 3}
    assert "POST contact" not in sandbox.requests()
    assert sandbox.contact("C-249")["properties"]["firstName"] == "Klant 249"
    assert Contact.objects.filter(sync_status=SyncStatus.SYNCED).count() == 250
    assert SyncEvent.objects.filter(run=run, ok=True).count() == 250
    assert not OutboxEntry.objects.filter(status__in=["pending", "in_flight"]).exists()


def test_a_backfill_reads_spotlers_recent_changes_first_and_never_resubscribes(sandbox):
    shop_has(3)
    start()
    sandbox.control("POST", "contacts/C-1/unsubscribe", {"bit": 1})
    run = start()
    assert run.sent == 3
    assert SpotlerConsent.objects.get(contact__external_id="C-1", bit=1).enabled is False
    held = sandbox.contact("C-1")["properties"]["permissions"]
    assert {p["bit"]: p["enabled"] for p in held}[1] is False
    [pulled] = SyncRun.objects.filter(kind=SyncRunKind.PULL_UPDATES)[:1]
    assert pulled.created_at < run.started_at + timedelta(seconds=5)


def test_a_filtered_resync_sends_only_what_the_filters_name(sandbox):
    shop_has(5)
    Contact.objects.filter(external_id__in=["C-1", "C-2"]).update(language="nl")
    Contact.objects.filter(external_id="C-2").update(account_manager="Piet")
    run = start(filters={"language": "nl", "account_manager": "Piet"})
    assert (run.total, run.sent) == (1, 1)
    assert sandbox.contact("C-2") is not None
    assert not spotler_knows(sandbox, "C-1")


def test_a_resync_of_named_ids_reports_the_ids_it_does_not_know(sandbox):
    shop_has(3)
    run = start(filters={"ids": "C-0, C-2 NOPE-1"})
    assert run.filters == {"ids": ["C-0", "C-2", "NOPE-1"]}
    assert (run.total, run.sent) == (2, 2)
    assert run.checkpoint["unknown_ids"] == ["NOPE-1"]


def test_changed_since_and_failed_only_narrow_the_selection(sandbox):
    shop_has(4)
    Contact.objects.update(changed_at=timezone.now() - timedelta(days=3))
    Contact.objects.filter(external_id="C-3").update(changed_at=timezone.now())
    Contact.objects.filter(external_id="C-1").update(sync_status=SyncStatus.FAILED)
    assert start(since=timezone.now() - timedelta(days=1)).total == 1
    assert start(filters={"failed_only": True}).total == 1
    assert Contact.objects.get(external_id="C-1").sync_status == SyncStatus.SYNCED


def test_unknown_filters_are_refused_with_the_name():
    with pytest.raises(ValueError, match=r"Unknown filter.*colour"):
        runs.start_run(kind=SyncRunKind.BACKFILL, trigger="command", filters={"colour": "red"})


def test_a_contact_spotler_refuses_is_failed_with_the_reason_and_the_rest_goes(sandbox, admin_user):
    rows = [*current_version().rows, {"source_fields": ["postcode"], "property": "postalCode",
            "type": "postcode"}]  # fmt: skip
    save_version(rows=rows, author=admin_user)
    shop_has(20, postcode="1234 AB")
    Contact.objects.filter(external_id="C-7").update(
        fields={**customer(7), "postcode": "not a postcode"}
    )
    run = start()
    assert (run.sent, run.failed) == (19, 1)
    failed = Contact.objects.get(external_id="C-7")
    assert failed.sync_status == SyncStatus.FAILED
    assert failed.sync_error
    assert SyncEvent.objects.get(run=run, ok=False).contact == failed
    assert OutboxEntry.objects.filter(contact=failed, status=OutboxStatus.FAILED).exists()


def test_a_spotler_outage_leaves_the_contacts_pending_in_the_outbox(sandbox):
    shop_has(12)
    runs_before = SyncRun.objects.count()
    sandbox.set(error_rate=0.0)
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
    runs.claim_run(run.pk)
    run.refresh_from_db()
    assert backfill.prepare(run)
    sandbox.set(error_rate=1.0)
    backfill.work(run.pk)
    run.refresh_from_db()
    assert (run.sent, run.failed, run.skipped) == (0, 0, 12)
    waiting = OutboxEntry.objects.filter(status=OutboxStatus.PENDING)
    assert waiting.count() == 12
    assert all(e.not_before and e.last_error for e in waiting)
    assert SyncRun.objects.count() == runs_before + 2  # the backfill and its pull


def test_a_resyncs_failed_pull_is_its_own_and_leaves_the_scheduled_pull_on_time(
    sandbox, admin_user
):
    call_command("setup_schedules")
    shop_has(3)
    scheduled = pull.pull_updates_on_schedule()
    sandbox.set(error_rate=1.0)  # the client's retries wait some 15 s before giving up
    run = runs.start_run(
        kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD, requested_by=admin_user,
        filters={"language": "nl"},
    )  # fmt: skip
    run = runs.execute_run(run.pk)
    assert run.status == SyncRunStatus.FAILED
    assert "could not be read first" in run.error
    own = SyncRun.objects.get(kind=SyncRunKind.PULL_UPDATES, status=SyncRunStatus.FAILED)
    assert (own.trigger, own.requested_by) == (SyncRunTrigger.DASHBOARD, admin_user)
    job = next(j for j in read_schedule_health() if j.name == "Pull updated contacts")
    assert (job.label, job.last_success) == ("on time", scheduled.finished_at)


def test_erased_and_inactive_contacts_are_handled_as_the_live_push_would(sandbox):
    shop_has(3)
    erase_contact(external_id="C-0")
    inactivate_contact(external_id="C-1")
    OutboxEntry.objects.update(status=OutboxStatus.DONE)
    run = start()
    assert run.total == 2  # the erased contact is never sent again
    assert not spotler_knows(sandbox, "C-0")
    assert Contact.objects.get(external_id="C-1").sync_status == SyncStatus.INACTIVE


def test_a_contact_with_a_waiting_live_change_is_sent_once_with_its_latest_state(sandbox):
    shop_has(3)
    upsert_contact(external_id="C-2", raw_fields=customer(2, first_name="Nieuw"))
    run = start()
    assert run.sent == 3
    assert sandbox.contact("C-2")["properties"]["firstName"] == "Nieuw"
    assert not OutboxEntry.objects.filter(status=OutboxStatus.PENDING).exists()


def test_a_contact_a_live_push_is_sending_is_left_to_it(sandbox):
    shop_has(3)
    upsert_contact(external_id="C-2", raw_fields=customer(2, first_name="Nieuw"))
    OutboxEntry.objects.filter(status=OutboxStatus.PENDING).update(status=OutboxStatus.IN_FLIGHT)
    run = start()
    assert (run.sent, run.skipped) == (2, 1)
    assert not spotler_knows(sandbox, "C-2")


def test_a_run_whose_worker_died_resumes_from_its_checkpoint(sandbox, settings):
    settings.SYNC_RUN_STALE_SECONDS = 60
    shop_has(1200)
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    runs.claim_run(run.pk)
    run.refresh_from_db()
    backfill.prepare(run)
    # The worker sent the first chunk, took the second, and was killed.
    first = backfill.claim_chunk(run)
    result = backfill.send_chunk(run, first.contact_ids, client=spotler_connection.spotler_client(),
                                 mapping=backfill.mapping_in_force())  # fmt: skip
    BackfillChunk.objects.filter(pk=first.pk).update(status=ChunkStatus.DONE)
    SyncRun.objects.filter(pk=run.pk).update(done=500, sent=result.sent)
    backfill.claim_chunk(run)
    long_ago = timezone.now() - timedelta(minutes=5)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)
    BackfillChunk.objects.filter(status=ChunkStatus.IN_FLIGHT).update(claimed_at=long_ago)
    sent_before = sandbox.requests()["POST contact/list"]["200"]

    [line] = runs.watch_runs()
    assert "resumed from its checkpoint" in line
    assert runs.watch_runs() == []  # acted on once
    runs.work_backfill(run.pk)  # the worker the watchdog queued

    run.refresh_from_db()
    assert run.status == SyncRunStatus.SUCCEEDED
    assert (run.done, run.sent) == (1200, 1200)
    assert run.checkpoint["resumes"] == 1
    # Only what was left was sent again: 700 contacts, 7 calls.
    assert sandbox.requests()["POST contact/list"]["200"] - sent_before == 7


def test_the_contacts_a_dead_worker_held_are_sent_by_the_worker_taking_over_its_chunk(
    sandbox, settings
):
    settings.SYNC_RUN_STALE_SECONDS = 60
    shop_has(300)
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    runs.claim_run(run.pk)
    run.refresh_from_db()
    backfill.prepare(run)
    # The worker took the chunk, held its contacts, and was killed before sending them.
    chunk = backfill.claim_chunk(run)
    backfill.hold_contacts(chunk.contact_ids, token=chunk.claim)
    long_ago = timezone.now() - timedelta(minutes=5)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=long_ago)
    BackfillChunk.objects.filter(pk=chunk.pk).update(claimed_at=long_ago)

    runs.watch_runs()
    runs.work_backfill(run.pk)  # the worker the watchdog queued

    run.refresh_from_db()
    assert (run.status, run.sent, run.skipped) == (SyncRunStatus.SUCCEEDED, 300, 0)
    assert spotler_knows(sandbox, "C-299")
    assert not OutboxEntry.objects.filter(status=OutboxStatus.IN_FLIGHT).exists()
    assert Contact.objects.filter(sync_status=SyncStatus.SYNCED).count() == 300


def test_a_quiet_live_push_run_is_failed_with_the_reason(db, settings):
    settings.SYNC_RUN_STALE_SECONDS = 60
    long_ago = timezone.now() - timedelta(minutes=5)
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.LIVE, status=SyncRunStatus.RUNNING,
        started_at=long_ago, heartbeat_at=long_ago,
    )  # fmt: skip
    runs.watch_runs()
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert "stopped without a word" in run.error


def test_cancelling_a_running_backfill_stops_it_between_chunks(sandbox):
    shop_has(1100)
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    runs.claim_run(run.pk)
    run.refresh_from_db()
    backfill.prepare(run)
    assert runs.cancel_run(run)
    backfill.work(run.pk)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.CANCELLED
    assert run.done == 0
    assert not runs.cancel_run(run)


@transactional
def test_on_the_queue_a_backfill_is_worked_by_two_workers_while_live_changes_still_go(
    spotler_sandbox, catalogue
):
    from tests.queue_cluster import running_clusters

    spotler_sandbox.set(rate_limit=0)
    shop_has(3000)
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url, "SPOTLER_RATE_LIMIT": "0"}
    with running_clusters(workers=1, backfill_workers=2, extra_env=env):
        run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
        deadline = time.monotonic() + 90
        while run.total is None and time.monotonic() < deadline:
            time.sleep(0.05)
            run.refresh_from_db()
        # A new customer while the backfill runs: it goes out at once, on the live queue.
        upsert_contact(external_id="LIVE-1", raw_fields=customer(99999))
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if (
                run.status in runs.FINISHED
                and Contact.objects.filter(
                    external_id="LIVE-1", sync_status=SyncStatus.SYNCED
                ).exists()
            ):
                break
            time.sleep(0.3)
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.total, run.done, run.sent) == (3000, 3000, 3000)
    assert spotler_sandbox.contact("LIVE-1")["properties"]["firstName"] == "Klant 99999"
    # Both workers took chunks: the chunks' claims are spread.
    assert spotler_sandbox.requests()["POST contact/list"]["200"] == 30
    assert len(spotler_sandbox.state()["contacts"]) == 3001


def test_a_first_backfill_into_an_account_that_already_holds_an_unsubscribe_keeps_it(sandbox):
    # Spotler knew this customer long before spotlersync (an earlier connector), and the
    # recipient unsubscribed there months ago; the shop still says "yes".
    months_ago = (timezone.now() - timedelta(days=120)).isoformat()
    sandbox.control("POST", "contacts", {"externalId": "C-1", "properties": {
        "email": "c1@example.nl", "permissions": [{"bit": 1, "enabled": True}]}})  # fmt: skip
    sandbox.control("POST", "contacts/C-1/unsubscribe", {"bit": 1, "at": months_ago})
    shop_has(3)
    run = start()
    assert run.sent == 3
    held = sandbox.contact("C-1")["properties"]["permissions"]
    assert {p["bit"]: p["enabled"] for p in held}[1] is False
    assert "kept off" in SyncEvent.objects.get(run=run, contact__external_id="C-1").answer
