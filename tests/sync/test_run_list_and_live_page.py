"""The Syncs pages as people read them: runs named by what was started, every count explained,
manual runs first with the automatic ones added up per hour, and a run page whose every part
follows the run."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger


@pytest.fixture
def admin(client_as):
    return client_as("admin")


def live_push(**fields) -> SyncRun:
    defaults = {"kind": SyncRunKind.PUSH, "trigger": SyncRunTrigger.LIVE,
                "status": SyncRunStatus.SUCCEEDED, "done": 2, "sent": 1, "failed": 1}  # fmt: skip
    return SyncRun.objects.create(**(defaults | fields))


def test_the_runs_page_shows_manual_runs_and_adds_up_live_pushes_per_hour(admin):
    manual = SyncRun.objects.create(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    pushes = [live_push() for _ in range(3)]
    SyncRun.objects.create(
        kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.SCHEDULE, done=40, sent=5, skipped=35
    )
    html = admin.get(reverse("sync:run-list")).content.decode()
    table = re.search(r'data-testid="run-table">(.*?)</table>', html, re.S).group(1)
    assert reverse("sync:run-detail", args=[manual.pk]) in table
    assert all(reverse("sync:run-detail", args=[p.pk]) not in html for p in pushes)

    hours = re.search(r'data-testid="run-hours">(.*?)</table>', html, re.S).group(1)
    cells = [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", hours, re.S)
    ]
    hour = timezone.localtime().strftime("%-d %b %H:00")
    assert cells[:8] == [hour, "Scheduled pull of updated contacts", "1", "40", "5", "0", "35",
                         "see each"]  # fmt: skip
    assert cells[8:16] == [hour, "Live push", "3", "6", "3", "3", "0", "see each"]

    each = re.search(r'href="(\?show=automatic[^"]*kind=push)"', hours).group(1)
    one_by_one = admin.get(reverse("sync:run-list") + each.replace("&amp;", "&")).content.decode()
    assert all(reverse("sync:run-detail", args=[p.pk]) in one_by_one for p in pushes)
    assert reverse("sync:run-detail", args=[manual.pk]) not in one_by_one
    assert "Push started between" in one_by_one


def test_an_hour_long_gone_is_not_added_up(admin):
    live_push()
    SyncRun.objects.update(created_at=timezone.now() - timedelta(days=2))
    html = admin.get(reverse("sync:run-list")).content.decode()
    assert 'data-testid="no-run-hours"' in html


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"kind": SyncRunKind.PUSH, "trigger": SyncRunTrigger.DASHBOARD}, "Push"),
        ({"kind": SyncRunKind.PUSH, "trigger": SyncRunTrigger.LIVE}, "Live push"),
        ({"kind": SyncRunKind.PULL_BOUNCES, "trigger": SyncRunTrigger.DASHBOARD},
         "Pull of bounces"),
        ({"kind": SyncRunKind.PULL_UPDATES, "trigger": SyncRunTrigger.SCHEDULE},
         "Scheduled pull of updated contacts"),
        ({"kind": SyncRunKind.BACKFILL, "trigger": SyncRunTrigger.DASHBOARD,
          "filters": {"failed_only": True}}, "Filtered resync"),
    ],
)  # fmt: skip
def test_a_run_is_named_by_what_started_it(admin, fields, name):
    run = SyncRun.objects.create(**fields)
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert f"<h1>{name} run #{run.pk}</h1>" in html
    assert "Backfill run" not in html


def test_every_count_of_a_resync_says_what_it_means(admin):
    run = SyncRun.objects.create(
        kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD, filters={"language": "nl"},
        status=SyncRunStatus.SUCCEEDED, total=10, done=10, sent=8, failed=1, skipped=1,
        started_at=timezone.now(), finished_at=timezone.now(),
    )  # fmt: skip
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    notes = re.search(r'data-testid="run-count-notes">(.*?)</ul>', html, re.S).group(1)
    notes = [re.sub(r"<[^>]+>", "", n) for n in re.findall(r"<li>(.*?)</li>", notes)]
    assert notes == [
        "8 sent: accepted by Spotler.",
        "1 failed: Spotler refused them for good; each contact shows Spotler&#x27;s reason.",
        "1 skipped: not sent by this run: a live push held the contact at that moment (it sends "
        "the contact&#x27;s current state itself), the contact was erased after the run began, "
        "or Spotler could not be reached for it (it stays waiting and goes out with a later "
        "push).",
    ]


def test_a_pulls_skipped_count_says_why(admin):
    run = SyncRun.objects.create(
        kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.DASHBOARD, done=3, sent=2,
        skipped=1, status=SyncRunStatus.SUCCEEDED, finished_at=timezone.now(),
    )  # fmt: skip
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "2 applied: changes the ledger took and published on the changes feed." in html
    assert "1 skipped: nothing new for the ledger: our own pushes coming back" in html


def test_every_part_of_the_run_page_follows_the_run_from_queued_to_running(admin):
    run = SyncRun.objects.create(
        kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD, filters={"language": "nl"}
    )
    progress = reverse("sync:run-progress", args=[run.pk])
    page = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    live = page.split('id="run-live"')[1]
    assert f'hx-get="{progress}"' in live.split(">")[0]
    for html in (live, admin.get(progress, HTTP_HX_REQUEST="true").content.decode()):
        assert "not yet: waiting for a queue worker" in html
        assert "It has not started yet: cancelled now, it never will." in html

    started = timezone.now() - timedelta(seconds=10)
    SyncRun.objects.filter(pk=run.pk).update(
        status=SyncRunStatus.RUNNING, started_at=started, heartbeat_at=timezone.now(),
        total=100, done=18, sent=18,
    )  # fmt: skip
    panel = admin.get(progress, HTTP_HX_REQUEST="true").content.decode()
    assert 'data-testid="run-percent">18%' in panel
    assert "not yet" not in panel
    assert timezone.localtime(started).strftime("%H:%M:%S") in panel
    assert 'data-testid="run-duration">10 s' in panel
    assert "It stops after its current step; what it sent stays sent." in panel
    assert "has not started" not in panel


def test_a_run_cancelled_while_queued_says_it_never_started(admin):
    run = SyncRun.objects.create(
        kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.DASHBOARD,
        status=SyncRunStatus.CANCELLED, finished_at=timezone.now(),
    )  # fmt: skip
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert 'data-testid="run-started">never' in html
    assert "Cancel this run" not in html
