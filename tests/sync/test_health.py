import re
import uuid
from datetime import timedelta

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from django_q.models import Task

from contacts.ingest import upsert_contact
from contacts.models import Contact
from sync.health import read_health
from sync.models import (
    OutboxEntry,
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)
from sync.push import push_one_batch
from sync.ratelimit import throttle_until
from sync.schedules import RESULT_HOOK

ANNA = {"email": "anna@example.nl", "first_name": "Anna"}
LATENCY_MS = 600  # how long the sandbox takes over every call in the lag test


def health_html(client, user) -> str:
    client.force_login(user)
    return client.get(reverse("sync:health"), HTTP_HX_REQUEST="true").content.decode()


def card(html: str, testid: str) -> str:
    """One figure's card of the health page."""
    return re.search(rf'data-testid="{testid}">(.*?)</article>', html, re.S).group(1)


def make_events(contact: Contact, count: int, *, ok: bool = True, kind: str = SyncEventKind.PUSH):
    SyncEvent.objects.bulk_create(
        SyncEvent(contact=contact, kind=kind, ok=ok, at=timezone.now()) for _ in range(count)
    )


def schedule_row(name: str):
    return next(s for s in read_health().schedules if s.name == name)


def test_health_counts_what_waits_and_how_long_pushes_took(spotler_client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    upsert_contact(external_id="C-2", raw_fields=ANNA | {"email": "b@example.nl"})
    OutboxEntry.objects.filter(contact__external_id="C-2").update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    health = read_health()
    assert health.pending == 2
    assert health.oldest_pending_age > timedelta(minutes=4)

    push_one_batch(client=spotler_client)
    health = read_health()
    assert health.pending == 0
    assert health.lag_p95 > 4 * 60  # C-2 waited five minutes before Spotler accepted it
    assert (health.pushes_last_hour, health.push_errors_last_hour) == (2, 0)
    assert sum(bar.pushed for bar in health.hours) == 2


def test_the_push_lag_shows_how_long_spotler_took_to_accept_the_change(
    spotler_client, spotler_sandbox, client, marketer
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    spotler_sandbox.set(latency_ms=LATENCY_MS)
    push_one_batch(client=spotler_client)

    health = read_health()
    assert LATENCY_MS / 1000 <= health.lag_median < LATENCY_MS / 1000 + 5
    lag = card(health_html(client, marketer), "health-lag")
    shown = float(re.search(r'class="figure state-ok">([\d.]+) s</p>', lag).group(1))
    assert shown >= LATENCY_MS / 1000
    assert "accepted → accepted by Spotler" in lag


def test_a_change_nothing_was_sent_for_adds_no_push_lag(db):
    contact = upsert_contact(external_id="C-1", raw_fields=ANNA).contact
    OutboxEntry.objects.filter(contact=contact).update(kind="anonymize", external_id="")
    push_one_batch()  # "already anonymized": no call to Spotler

    assert (read_health().lag_median, read_health().lag_p95) == (None, None)


def test_no_errors_are_shown_green_and_a_high_error_rate_red(db, client, marketer):
    anna = upsert_contact(external_id="C-1", raw_fields=ANNA).contact
    make_events(anna, 199)
    make_events(anna, 1, ok=False)  # 0.5%: under the warning threshold
    errors = card(health_html(client, marketer), "health-errors")
    assert '<p class="figure state-ok">0.5%</p>' in errors
    assert "green under 1%, amber under 5%, red from 5%" in errors

    make_events(anna, 100, ok=False)  # 101 of 300
    errors = card(health_html(client, marketer), "health-errors")
    assert '<p class="figure state-bad">33.7%</p>' in errors


def test_the_waiting_figure_turns_red_when_the_oldest_change_waits_too_long(db, client, marketer):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    assert 'class="figure state-ok">1</p>' in card(health_html(client, marketer), "health-waiting")

    OutboxEntry.objects.update(created_at=timezone.now() - timedelta(minutes=20))
    waiting = card(health_html(client, marketer), "health-waiting")
    assert 'class="figure state-bad">1</p>' in waiting
    assert "green under 5 min, amber under 15 min, red from 15 min" in waiting


def test_the_chart_has_a_count_axis_up_to_the_busiest_hour_and_a_time_axis(db, client, marketer):
    anna = upsert_contact(external_id="C-1", raw_fields=ANNA).contact
    make_events(anna, 7)
    make_events(anna, 3, kind=SyncEventKind.PULL)

    client.force_login(marketer)
    chart = card(client.get(reverse("sync:health")).content.decode(), "health-chart")
    y_axis = re.search(r'data-testid="chart-y-axis">(.*?)</g>', chart, re.S).group(1)
    assert re.findall(r'text-anchor="end">(\d+)</text>', y_axis) == ["0", "2", "4", "6", "8"]
    x_axis = re.search(r'data-testid="chart-x-axis">(.*?)</g>', chart, re.S).group(1)
    times = re.findall(r'text-anchor="middle">(\d\d:\d\d)</text>', x_axis)
    assert len(times) == 8 and set(times) <= {"00:00", "06:00", "12:00", "18:00"}
    assert "pushed to Spotler" in chart and "pulled from Spotler" in chart
    assert "the highest hour had 7." in chart
    assert "style=" not in chart and "<script" not in chart


def test_a_pull_reports_its_last_scheduled_success_and_turns_red_when_late_or_failing(db):
    call_command("setup_schedules")
    pull = schedule_row("Pull updated contacts")
    assert (pull.state, pull.label, pull.last_success) == ("warning", "not run yet", None)

    def finished(status: str, *, ago: timedelta) -> SyncRun:
        return SyncRun.objects.create(
            kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.SCHEDULE, status=status,
            finished_at=timezone.now() - ago,
        )  # fmt: skip

    late = finished(SyncRunStatus.SUCCEEDED, ago=timedelta(minutes=31))
    pull = schedule_row("Pull updated contacts")
    assert (pull.state, pull.label, pull.last_success) == ("bad", "overdue", late.finished_at)

    recent = finished(SyncRunStatus.SUCCEEDED, ago=timedelta(minutes=3))
    pull = schedule_row("Pull updated contacts")
    assert (pull.state, pull.label, pull.last_success) == ("ok", "on time", recent.finished_at)

    finished(SyncRunStatus.FAILED, ago=timedelta(minutes=1))
    pull = schedule_row("Pull updated contacts")
    assert (pull.state, pull.label, pull.last_success) == ("bad", "failing", recent.finished_at)


def test_a_job_whose_task_raised_is_failing_until_its_task_succeeds_again(db, client, admin_user):
    call_command("setup_schedules")

    def watchdog_task(*, success: bool) -> None:
        # The task's result as django-q2's monitor saves it (the save calls the schedule's
        # hook); a scheduled task's group is its schedule's name.
        now = timezone.now()
        Task.objects.create(
            id=uuid.uuid4().hex, name=f"watch-{now:%H%M%S%f}", func="sync.tasks.watch_runs",
            hook=RESULT_HOOK, group="Watch sync runs", started=now, stopped=now,
            success=success, result="done" if success else "RuntimeError: boom",
        )  # fmt: skip

    watchdog_task(success=True)
    watchdog_task(success=False)
    job = schedule_row("Watch sync runs")
    assert (job.state, job.label) == ("bad", "failing") and job.last_success is not None
    client.force_login(admin_user)
    home = client.get(reverse("queue-summary")).content.decode()
    assert '<span class="state-bad" data-testid="schedule-state">failing</span>' in home

    watchdog_task(success=True)
    assert (schedule_row("Watch sync runs").label) == "on time"


def test_a_job_without_a_schedule_is_shown_as_not_set_up(db):
    job = schedule_row("Watch sync runs")
    assert (job.state, job.label, job.note) == (
        "bad",
        "not set up",
        "run manage.py setup_schedules",
    )


def test_the_health_page_shows_throttling_and_refreshes_itself(client, marketer):
    throttle_until(timezone.now() + timedelta(seconds=30), reason="429")
    client.force_login(marketer)
    html = client.get(reverse("sync:health")).content.decode()
    assert "Throttled" in html
    assert 'hx-trigger="every 10s"' in html
    assert 'hx-trigger="every 300s"' in html  # the chart, on its own
    partial = client.get(reverse("sync:health"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert "Throttled" in partial
    assert 'data-testid="health-chart"' not in partial
    chart = client.get(reverse("sync:health") + "?part=chart", HTTP_HX_REQUEST="true")
    assert 'data-testid="health-chart"' in chart.content.decode()
    assert "<html" not in chart.content.decode()


def test_the_push_job_is_failing_while_spotler_takes_nothing_though_its_task_ends_well(
    spotler_client, spotler_sandbox, client, admin_user
):
    call_command("setup_schedules")

    def push_task() -> None:
        # The scheduled task ends normally whatever its batches did (sync/tasks.py).
        now = timezone.now()
        Task.objects.create(
            id=uuid.uuid4().hex, name=f"push-{now:%H%M%S%f}",
            func="sync.tasks.push_pending_changes", hook=RESULT_HOOK, group="Push pending changes",
            started=now, stopped=now, success=True, result="1 batch(es): 0 sent, 0 failed",
        )  # fmt: skip

    upsert_contact(external_id="C-1", raw_fields=ANNA)
    spotler_sandbox.set(error_rate=1.0)
    failed = push_one_batch(client=spotler_client)
    push_task()
    assert failed.status == SyncRunStatus.FAILED
    job = schedule_row("Push pending changes")
    assert (job.state, job.label, job.last_success) == ("bad", "failing", None)
    client.force_login(admin_user)
    home = client.get(reverse("queue-summary")).content.decode()
    row = re.search(r"<td>Push pending changes</td>(.*?)</tr>", home, re.S).group(1)
    assert '<span class="state-bad" data-testid="schedule-state">failing</span>' in row
    assert 'data-testid="schedule-last-success">—</td>' in row
    SyncRun.objects.create(  # "Push now" while the change waits out its retry: nothing ready
        kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.DASHBOARD, status=SyncRunStatus.SUCCEEDED,
        finished_at=timezone.now(),
    )  # fmt: skip
    assert schedule_row("Push pending changes").label == "failing"

    spotler_sandbox.set(error_rate=0.0)
    OutboxEntry.objects.update(not_before=None)
    pushed = push_one_batch(client=spotler_client)
    job = schedule_row("Push pending changes")
    assert (job.label, job.last_success) == ("on time", pushed.finished_at)

    spotler_sandbox.set(error_rate=1.0)
    upsert_contact(external_id="C-2", raw_fields=ANNA | {"email": "b@example.nl"})
    push_one_batch(client=spotler_client)
    push_task()
    job = schedule_row("Push pending changes")
    assert (job.label, job.last_success) == ("failing", pushed.finished_at)


def test_the_push_job_counts_its_task_until_any_push_was_recorded(db):
    call_command("setup_schedules")
    now = timezone.now()
    Task.objects.create(
        id=uuid.uuid4().hex, name="push-idle", func="sync.tasks.push_pending_changes",
        hook=RESULT_HOOK, group="Push pending changes", started=now, stopped=now, success=True,
        result="0",
    )  # fmt: skip
    job = schedule_row("Push pending changes")
    assert (job.label, job.last_success) == ("on time", now)
