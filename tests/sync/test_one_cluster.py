"""With only the ordinary `manage.py qcluster` running, every kind of run completes: a backfill
goes to the default queue in slices and live changes go between them. With no cluster at all,
whoever waits for a run is told what to start, and `--wait` gives up."""

import os
import subprocess
import sys
import time

import pytest
from django.conf import settings
from django.urls import reverse
from django_q.brokers import get_broker

from contacts.ingest import upsert_contact
from contacts.models import Contact
from spotlersync import queue_presence
from sync import runs
from sync.management.commands.sync import DEFAULT_TIMEOUT_SECONDS, Command
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from tests import queue_cluster
from tests.conftest import transactional
from tests.queue_cluster import ROOT, running_cluster
from tests.sync.helpers import customer, shop_has

BACKFILL_QUEUE = settings.SYNC_BACKFILL_CLUSTER


@pytest.fixture
def no_cluster_running():
    """No queue looks worked, whatever clusters earlier tests stopped a moment ago."""
    for queue in (queue_presence.default_queue(), BACKFILL_QUEUE):
        queue_presence.report_stopped(queue)


def wait_for(condition, *, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds:g} s for {what}"
        time.sleep(0.1)


@transactional
def test_with_only_the_default_cluster_a_backfill_completes_and_a_live_change_goes_first(
    spotler_sandbox, catalogue, no_cluster_running
):
    spotler_sandbox.set(rate_limit=0)
    shop_has(4000)
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url, "SPOTLER_RATE_LIMIT": "0"}
    # One worker: without slices, a live push would wait for the whole backfill.
    with running_cluster(workers=1, extra_env=env):
        spotler_sandbox.set(latency_ms=250)  # 40 calls of 100 contacts: about 10 s
        run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)

        def progress() -> SyncRun:
            run.refresh_from_db()
            return run

        wait_for(lambda: progress().done >= 500, seconds=90, what="the first chunk")
        upsert_contact(external_id="LIVE-1", raw_fields=customer(99999))  # a live change
        wait_for(lambda: progress().status in runs.FINISHED, seconds=120, what="the run's end")

    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.total, run.done, run.sent) == (4000, 4000, 4000)
    live = Contact.objects.get(external_id="LIVE-1")
    assert live.synced_at is not None, "the live change never reached Spotler"
    assert live.synced_at < run.finished_at, "the live change waited for the whole backfill"
    assert spotler_sandbox.contact("LIVE-1")["properties"]["firstName"] == "Klant 99999"


@transactional
def test_sync_backfill_wait_with_no_cluster_running_gives_up_naming_the_command_to_start(
    no_cluster_running,
):
    ours = {"DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in ours}
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "manage.py", "sync", "backfill", "--wait", "--timeout", "5"],
        cwd=ROOT,
        env={
            **env,
            "DATABASE_URL": queue_cluster.test_database_url(),
            "REDIS_URL": settings.REDIS_URL,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode != 0
    assert time.monotonic() - started < 30
    said = result.stdout + result.stderr
    assert "No queue cluster is running to take it. Start one: python manage.py qcluster" in (
        result.stdout
    )
    assert "it is still queued, no queue cluster is running" in result.stderr
    assert "python manage.py qcluster" in result.stderr, said
    assert SyncRun.objects.get().status == SyncRunStatus.QUEUED  # the run goes on


def test_wait_gives_up_after_an_hour_unless_told_otherwise():
    parser = Command().create_parser("manage.py", "sync")
    for action in ("push", "backfill", "pull-updates", "pull-bounces", "refresh-properties"):
        assert parser.parse_args([action, "--wait"]).timeout == DEFAULT_TIMEOUT_SECONDS == 3600
    assert parser.parse_args(["watch", "1"]).timeout == DEFAULT_TIMEOUT_SECONDS


def test_a_queued_run_page_says_no_cluster_works_it_and_what_to_start(
    client_as, no_cluster_running
):
    admin = client_as("admin")
    run = SyncRun.objects.create(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    page = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()

    assert "No queue cluster is running, so nothing works this run" in page
    assert "<code>python manage.py qcluster</code>" in page

    queue_presence.report_alive(queue_presence.default_queue())
    try:
        page = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    finally:
        queue_presence.report_stopped(queue_presence.default_queue())
    assert "No queue cluster is running" not in page
    assert "Waiting for a queue worker" in page


@pytest.mark.parametrize("backfill_cluster", [True, False])
def test_a_backfill_goes_to_the_backfill_cluster_when_one_runs_else_to_the_default_one(
    db, django_capture_on_commit_callbacks, no_cluster_running, backfill_cluster
):
    default, own = get_broker(), get_broker(BACKFILL_QUEUE)
    default.purge_queue()
    own.purge_queue()
    if backfill_cluster:
        queue_presence.report_alive(BACKFILL_QUEUE)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
        queued = (default.queue_size(), own.queue_size())
    finally:
        queue_presence.report_stopped(BACKFILL_QUEUE)
        default.purge_queue()
        own.purge_queue()

    assert queued == ((0, 1) if backfill_cluster else (1, 0))


@transactional
def test_a_cluster_marks_the_queue_it_works_while_it_runs(no_cluster_running):
    default = queue_presence.default_queue()
    with running_cluster(workers=1):
        assert queue_presence.is_worked(default)
        assert not queue_presence.is_worked(BACKFILL_QUEUE)
    assert not queue_presence.is_worked(default)  # stopped: at once, not after the mark lapses
