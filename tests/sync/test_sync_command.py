"""`manage.py sync`: an operator starts the dashboard's runs from a shell and can wait for them."""

import io
import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from bounces.models import Bounce
from contacts.feed import read_changes
from contacts.ingest import upsert_contact
from sync import tasks
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.push import push_one_batch
from sync.push_requests import PUSH_REQUEST_KEY
from sync.runs import start_run
from tests import queue_cluster
from tests.conftest import transactional
from tests.queue_cluster import running_cluster

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


def sync(*args: str) -> str:
    out = io.StringIO()
    call_command("sync", *args, stdout=out)
    return out.getvalue()


def quietly_upsert(external_id: str, **fields) -> None:
    """A shop change whose live push is not queued (as if one were already requested), so
    only the run under test pushes it."""
    cache.set(PUSH_REQUEST_KEY, 1, timeout=60)
    upsert_contact(external_id=external_id, raw_fields={**ANNA, **fields})


@pytest.fixture
def sandbox(spotler_sandbox, catalogue):
    spotler_sandbox.set(rate_limit=0)
    return spotler_sandbox


@transactional
def test_sync_push_wait_pushes_the_outbox_on_the_queue_and_exits_when_it_succeeded(sandbox):
    quietly_upsert("C-1")
    with running_cluster(workers=1, extra_env={"SPOTLER_BASE_URL": sandbox.base_url}):
        output = sync("push", "--wait", "--timeout", "60")
    assert "Started push run #" in output
    assert "Push run #" in output and "succeeded: 1 done, 1 sent, 0 failed" in output
    assert sandbox.contact("C-1")["properties"]["firstName"] == "Anna"
    # The batches the run pushed in are runs of their own; this one adds them up.
    run = SyncRun.objects.get(kind=SyncRunKind.PUSH, total__isnull=True)
    assert (run.status, run.sent) == (SyncRunStatus.SUCCEEDED, 1)
    assert run.finished_at is not None


@transactional
def test_sync_pull_updates_reads_the_window_given_and_brings_a_spotler_edit_back(
    sandbox, spotler_client
):
    quietly_upsert("C-1")
    push_one_batch(client=spotler_client)
    sandbox.control("POST", "contacts/C-1/edit", json={"properties": {"firstName": "Ann"}})
    since = (timezone.now() - timedelta(minutes=30)).isoformat()
    until = (timezone.now() + timedelta(seconds=5)).isoformat()
    with running_cluster(workers=1, extra_env={"SPOTLER_BASE_URL": sandbox.base_url}):
        output = sync("pull-updates", "--since", since, "--until", until, "--wait",
                      "--timeout", "60")  # fmt: skip
    assert "succeeded: 1 done, 1 sent" in output
    run = SyncRun.objects.get(kind=SyncRunKind.PULL_UPDATES)
    assert run.window_start.isoformat() == since
    assert run.window_end.isoformat() == until
    [change] = read_changes()
    assert change.payload["value"] == "Ann"


@transactional
def test_sync_pull_bounces_reads_the_window_given_and_brings_a_bounce_back(sandbox, spotler_client):
    quietly_upsert("C-1")
    push_one_batch(client=spotler_client)
    sandbox.control("POST", "contacts/C-1/bounce", json={"type": "SOFTBOUNCE"})
    since = (timezone.now() - timedelta(minutes=30)).isoformat()
    until = (timezone.now() + timedelta(seconds=5)).isoformat()
    with running_cluster(workers=1, extra_env={"SPOTLER_BASE_URL": sandbox.base_url}):
        output = sync("pull-bounces", "--since", since, "--until", until, "--wait",
                      "--timeout", "60")  # fmt: skip
    assert "Pull bounces run #" in output and "succeeded: 1 done, 1 sent" in output
    run = SyncRun.objects.get(kind=SyncRunKind.PULL_BOUNCES)
    assert (run.trigger, run.window_start.isoformat()) == (SyncRunTrigger.COMMAND, since)
    assert Bounce.objects.get().kind == "soft"
    [change] = read_changes()
    assert (change.kind, change.external_id) == ("bounced", "C-1")


@transactional
def test_sync_wait_exits_non_zero_with_spotlers_reason_when_the_run_fails(spotler_sandbox):
    env = {"SPOTLER_BASE_URL": spotler_sandbox.base_url, "SPOTLER_CONSUMER_SECRET": "wrong"}
    with running_cluster(workers=1, extra_env=env):
        # As an operator runs it: a process of its own, judged by its exit status.
        finished = subprocess.run(
            [sys.executable, "manage.py", "sync", "refresh-properties", "--wait",
             "--timeout", "60"],
            cwd=queue_cluster.ROOT, capture_output=True, text=True, timeout=90,
            env={**os.environ, "DATABASE_URL": queue_cluster.test_database_url(),
                 "REDIS_URL": settings.REDIS_URL},
        )  # fmt: skip
    assert finished.returncode != 0
    assert "Refresh properties run #" in finished.stderr
    assert "failed: " in finished.stderr
    assert "401" in finished.stderr
    run = SyncRun.objects.get(kind=SyncRunKind.REFRESH_PROPERTIES)
    assert run.status == SyncRunStatus.FAILED
    assert "401" in run.error
    assert run.finished_at is not None


def test_a_run_executed_twice_does_its_work_once(sandbox, settings):
    settings.SPOTLER_BASE_URL = sandbox.base_url
    quietly_upsert("C-1")
    run = start_run(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.COMMAND)
    first = tasks.execute_run(run.pk)
    second = tasks.execute_run(run.pk)
    assert first == "succeeded: 1 done, 1 sent, 0 failed"
    assert second == f"run {run.pk} already taken"
    assert sandbox.requests()["POST contact"] == {"204": 1}


def test_a_run_is_queued_only_when_its_transaction_commits(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        run = start_run(kind=SyncRunKind.REFRESH_PROPERTIES, trigger=SyncRunTrigger.COMMAND)
        assert run.status == SyncRunStatus.QUEUED
    assert len(queued) == 1


def test_a_pull_by_default_reads_the_last_hour_up_to_a_change_made_a_moment_ago(
    sandbox, spotler_client, settings
):
    settings.SPOTLER_BASE_URL = sandbox.base_url
    quietly_upsert("C-1")
    push_one_batch(client=spotler_client)
    sandbox.control("POST", "contacts/C-1/edit", json={"properties": {"firstName": "Ann"}})
    run = start_run(kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.COMMAND)
    assert run.window_end - run.window_start == timedelta(hours=1)
    tasks.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.sent) == (SyncRunStatus.SUCCEEDED, 1)
    [change] = read_changes()
    assert change.payload["value"] == "Ann"


def test_a_run_cancelled_while_queued_never_starts(db):
    run = start_run(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.COMMAND)
    SyncRun.objects.filter(pk=run.pk).update(cancel_requested=True)
    assert tasks.execute_run(run.pk) == f"run {run.pk} already taken"
    run.refresh_from_db()
    assert run.status == SyncRunStatus.CANCELLED
    assert run.finished_at is not None


@pytest.mark.parametrize("action", ["pull-updates", "pull-bounces"])
@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--since", "2026-11-22T10:00"], "has no time zone; add one"),
        (["--since", "yesterday"], "is not an ISO 8601 date and time"),
        (["--until", "2026-11-22"], "has no time zone"),
        (["--since", "2026-11-22T10:00Z", "--until", "2026-11-22T09:00Z"], "is later than"),
        (["--since", "2999-01-01T00:00Z"], "is later than now"),
    ],
)
def test_a_pull_window_the_command_cannot_use_is_refused_saying_what_to_fix(db, action, args, says):
    with pytest.raises(CommandError, match=says):
        sync(action, *args)
    assert not SyncRun.objects.exists()


@pytest.mark.parametrize(
    "args",
    [
        ["push", "--since", "2026-11-22T10:00Z"],
        ["refresh-properties", "--ids", "C-1"],
        ["pull-bounces", "--failed-only"],
        ["backfill", "--since", "2026-11-22T10:00Z"],
        ["backfill", "--until", "2026-11-22T10:00Z"],
        ["backfill", "--changed"],
        ["backfill", "--ids"],
        ["backfill", "--language"],
        ["backfill", "--failed-only", "yes"],
    ],
)
def test_options_a_run_does_not_take_are_refused(db, args):
    with pytest.raises(CommandError):
        sync(*args)
    assert not SyncRun.objects.exists()


def test_a_backfill_is_recorded_with_its_filters_and_queued(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as queued:
        output = sync(
            "backfill", "--changed-since", "2026-11-01T08:00:00+01:00", "--failed-only",
            "--language", "nl_NL", "--account-manager", "Sam de Vries",
            "--ids", "C-1", "C-2", "C-1",
        )  # fmt: skip
    run = SyncRun.objects.get()
    assert (run.kind, run.trigger, run.status) == ("backfill", "command", "queued")
    assert run.filters == {
        "failed_only": True, "language": "nl_NL", "account_manager": "Sam de Vries",
        "ids": ["C-1", "C-2"],
    }  # fmt: skip
    assert run.window_start.isoformat() == "2026-11-01T07:00:00+00:00"
    assert run.window_end is None
    assert len(queued) == 1
    assert (
        f"Started backfill run #{run.pk} of 2 failed contact(s) by id changed since "
        "2026-11-01T08:00:00+01:00, language nl_NL, account manager Sam de Vries."
    ) in output
    assert f"python manage.py sync watch {run.pk}" in output


def test_a_backfill_without_options_sends_every_contact(db):
    output = sync("backfill")
    run = SyncRun.objects.get()
    assert (run.kind, run.filters, run.window_start) == ("backfill", {}, None)
    assert f"Started backfill run #{run.pk} of every contact." in output


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--changed-since", "last week"], "--changed-since 'last week' is not an ISO 8601"),
        (["--changed-since", "2026-11-01T08:00"], "has no time zone; add one"),
        (["--changed-since", "2999-01-01T00:00Z"], "is later than now"),
    ],
)
def test_a_backfill_since_a_moment_the_command_cannot_use_is_refused(db, args, says):
    with pytest.raises(CommandError, match=says):
        sync("backfill", *args)
    assert not SyncRun.objects.exists()


def test_without_wait_the_command_says_which_run_it_started_and_how_to_follow_it(db):
    output = sync("refresh-properties")
    run = SyncRun.objects.get()
    assert (run.status, run.trigger) == (SyncRunStatus.QUEUED, SyncRunTrigger.COMMAND)
    assert f"refresh properties run #{run.pk}" in output
    assert f"python manage.py sync watch {run.pk}" in output


def test_watching_a_run_that_ended_reports_how_it_went(db):
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.COMMAND, status=SyncRunStatus.SUCCEEDED,
        done=3, sent=2, failed=1, finished_at=timezone.now(),
    )  # fmt: skip
    assert "Push run #" in sync("watch", str(run.pk))
    assert "succeeded: 3 done, 2 sent, 1 failed" in sync("watch", str(run.pk))
    SyncRun.objects.filter(pk=run.pk).update(status=SyncRunStatus.CANCELLED)
    with pytest.raises(CommandError, match="cancelled"):
        sync("watch", str(run.pk))


def test_a_run_stopped_by_a_bug_still_ends_failed_so_nobody_waits_for_it_forever(db):
    # A kind of run no work is defined for (say, left by a newer release): executing it is a
    # bug, and it raises.
    run = SyncRun.objects.create(kind="retired_kind", trigger=SyncRunTrigger.COMMAND)
    with pytest.raises(ValueError, match="No work is defined"):
        tasks.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.FAILED
    assert "No work is defined" in run.error
    assert run.finished_at is not None
