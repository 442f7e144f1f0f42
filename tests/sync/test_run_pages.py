"""The Syncs pages: an Admin starts each kind of manual sync, follows it, cancels it."""

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts.ingest import erase_contact, upsert_contact
from contacts.models import Contact
from sync.models import (
    SyncEvent,
    SyncEventKind,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
)

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
START = reverse("sync:run-start")


def make_contact(external_id: str, **fields) -> Contact:
    raw = {"email": f"{external_id.lower()}@example.nl", "language": "nl",
           "account_manager": "Joost"} | fields  # fmt: skip
    upsert_contact(external_id=external_id, raw_fields=raw)
    return Contact.objects.get(external_id=external_id)


@pytest.fixture
def admin(client_as):
    return client_as("admin")


def start(client, action: str, **fields):
    data = {"action": action, **{f"{action}-{name}": value for name, value in fields.items()}}
    return client.post(START, data)


def the_run() -> SyncRun:
    [run] = SyncRun.objects.all()
    return run


def test_a_filtered_resync_records_a_backfill_run_with_its_filters_and_opens_its_page(admin):
    make_contact("C-1")
    make_contact("C-2")
    response = start(
        admin, "resync", changed_since="2026-01-05T09:30", failed_only="on", language="nl",
        account_manager="Joost", ids="C-1, C-2\nC-1",
    )  # fmt: skip
    run = the_run()
    assert response.status_code == 302
    assert response["Location"] == reverse("sync:run-detail", args=[run.pk])
    assert (run.kind, run.trigger, run.status) == (
        SyncRunKind.BACKFILL, SyncRunTrigger.DASHBOARD, SyncRunStatus.QUEUED
    )  # fmt: skip
    assert run.requested_by.username == "admin"
    assert run.filters == {"failed_only": True, "language": "nl", "account_manager": "Joost",
                           "ids": ["C-1", "C-2"]}  # fmt: skip
    # The browser's datetime-local has no zone: it is read as the dashboard's (Amsterdam) time.
    assert run.window_start == datetime(2026, 1, 5, 9, 30, tzinfo=AMSTERDAM)
    assert run.window_end is None


def test_a_full_backfill_needs_the_box_ticked_and_then_sends_everything(admin):
    refused = start(admin, "backfill")
    assert refused.status_code == 200
    assert "a full backfill sends every contact" in refused.content.decode()
    assert not SyncRun.objects.exists()
    start(admin, "backfill", confirm="on")
    run = the_run()
    assert (run.kind, run.filters, run.window_start) == (SyncRunKind.BACKFILL, {}, None)


def test_one_contact_is_a_backfill_of_its_id_and_an_unknown_id_is_refused(admin):
    make_contact("C-7")
    make_contact("C-8")
    erase_contact(external_id="C-8")
    for unknown in ("C-9", "C-8"):
        response = start(admin, "contact", external_id=unknown)
        assert f"The ledger holds no contact {unknown}." in response.content.decode()
    assert not SyncRun.objects.exists()
    start(admin, "contact", external_id=" C-7 ")
    assert the_run().filters == {"ids": ["C-7"]}


def test_a_pull_reads_the_window_chosen_or_by_default_the_last_hour(admin):
    start(admin, "pull", what="pull_updates", since="2026-03-01T08:00", until="2026-03-01T12:00")
    run = SyncRun.objects.get(kind=SyncRunKind.PULL_UPDATES)
    assert run.window_start == datetime(2026, 3, 1, 8, 0, tzinfo=AMSTERDAM)
    assert run.window_end == datetime(2026, 3, 1, 12, 0, tzinfo=AMSTERDAM)
    start(admin, "pull", what="pull_bounces")
    bounces = SyncRun.objects.get(kind=SyncRunKind.PULL_BOUNCES)
    assert bounces.window_end - bounces.window_start == timedelta(hours=1)
    assert abs(bounces.window_end - timezone.now()) < timedelta(seconds=5)


@pytest.mark.parametrize(("action", "kind"), [("refresh", SyncRunKind.REFRESH_PROPERTIES),
                                              ("push", SyncRunKind.PUSH)])  # fmt: skip
def test_refresh_properties_and_push_now_start_at_a_click(admin, action, kind):
    response = start(admin, action)
    run = the_run()
    assert (run.kind, run.requested_by.username) == (kind, "admin")
    assert response["Location"] == reverse("sync:run-detail", args=[run.pk])


@pytest.mark.parametrize(
    ("action", "fields", "says"),
    [
        ("resync", {}, "Choose at least one filter; to send every contact, use the full backfill."),
        ("resync", {"changed_since": "2999-01-01T00:00"}, "This moment is still to come"),
        ("resync", {"changed_since": "last tuesday"}, "Enter a valid date/time."),
        ("resync", {"ids": "C-1 <b>x</b>"}, "Not an external id: &lt;b&gt;x&lt;/b&gt;."),
        (
            "pull",
            {"what": "pull_updates", "since": "2026-03-01T12:00", "until": "2026-03-01T08:00"},
            "A pull window must start before it ends.",
        ),
        ("pull", {"what": "push"}, "Select a valid choice."),
        ("contact", {"external_id": ""}, "This field is required."),
    ],
)
def test_input_that_cannot_start_a_run_is_shown_again_with_what_to_fix(admin, action, fields,
                                                                         says):  # fmt: skip
    response = start(admin, action, **fields)
    assert response.status_code == 200
    assert says in response.content.decode()
    assert not SyncRun.objects.exists()


def test_ids_the_ledger_does_not_hold_are_named_when_the_run_starts(admin):
    make_contact("C-1")
    response = start(admin, "resync", ids="C-1 C-404")
    assert (
        "Not in the ledger, so not sent: C-404." in admin.get(response["Location"]).content.decode()
    )


def test_an_unknown_kind_of_sync_is_a_bad_request(admin):
    assert admin.post(START, {"action": "delete_everything"}).status_code == 400
    assert not SyncRun.objects.exists()


def test_a_marketer_reads_the_runs_but_is_offered_no_start_or_cancel(client_as):
    run = SyncRun.objects.create(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.DASHBOARD)
    client = client_as("marketer")
    listing = client.get(reverse("sync:run-list")).content.decode()
    assert f"#{run.pk}" in listing
    assert "Start filtered resync" not in listing
    page = client.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "Cancel this run" not in page
    assert client.post(reverse("sync:run-cancel", args=[run.pk])).status_code == 403
    assert client.post(START, {"action": "push"}).status_code == 403
    assert not SyncRun.objects.exclude(pk=run.pk).exists()


def test_the_run_list_offers_the_languages_and_account_managers_in_the_ledger(admin):
    make_contact("C-1", language="de", account_manager="Petra")
    html = admin.get(reverse("sync:run-list")).content.decode()
    assert '<option value="de">de</option>' in html
    assert '<option value="Petra">Petra</option>' in html


def test_the_run_list_shows_manual_runs_unless_all_are_asked_for(admin):
    manual = SyncRun.objects.create(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    live = SyncRun.objects.create(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.LIVE)
    link = 'href="{}"'
    html = admin.get(reverse("sync:run-list")).content.decode()
    assert link.format(reverse("sync:run-detail", args=[manual.pk])) in html
    assert link.format(reverse("sync:run-detail", args=[live.pk])) not in html
    html = admin.get(reverse("sync:run-list") + "?show=all").content.decode()
    assert link.format(reverse("sync:run-detail", args=[live.pk])) in html


def test_hostile_filter_text_is_shown_as_text_on_every_page(admin):
    hostile = "<script>alert(1)</script>"
    start(admin, "resync", language=hostile, account_manager='"><img src=x onerror=alert(2)>')
    run = the_run()
    assert run.filters["language"] == hostile
    for url in (reverse("sync:run-list"), reverse("sync:run-detail", args=[run.pk]),
                reverse("sync:run-progress", args=[run.pk])):  # fmt: skip
        html = admin.get(url).content.decode()
        assert "<script>alert" not in html
        assert "<img src=x" not in html
    detail = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "language &lt;script&gt;alert(1)&lt;/script&gt;" in detail


def running_backfill(**fields) -> SyncRun:
    now = timezone.now()
    defaults = {"kind": SyncRunKind.BACKFILL, "trigger": SyncRunTrigger.DASHBOARD,
                "status": SyncRunStatus.RUNNING, "started_at": now - timedelta(seconds=20),
                "heartbeat_at": now, "total": 200, "done": 50, "sent": 48, "failed": 2}  # fmt: skip
    return SyncRun.objects.create(**(defaults | fields))


def test_a_running_run_shows_its_progress_and_polls_for_more(admin):
    run = running_backfill()
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert reverse("sync:run-progress", args=[run.pk]) in html
    assert '<progress aria-label="Progress" value="25" max="100">' in html
    assert "50 of 200</span> contacts" in html
    assert "2.5 per second" in html  # 50 in 20 s
    assert "about 1 min left" in html  # 150 more at 2.5/s
    assert "48 sent" in html
    assert "Cancel this run" in html
    partial = admin.get(reverse("sync:run-progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert "<html" not in partial.content.decode()
    assert "HX-Refresh" not in partial


def test_once_the_run_ends_the_panel_reloads_the_page_which_no_longer_polls(admin):
    run = running_backfill(status=SyncRunStatus.SUCCEEDED, done=200, finished_at=timezone.now())
    partial = admin.get(reverse("sync:run-progress", args=[run.pk]), HTTP_HX_REQUEST="true")
    assert partial["HX-Refresh"] == "true"
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "hx-trigger" not in html.split('id="run-live"')[1].split(">")[0]
    assert 'data-testid="run-percent">100%' in html
    assert "Cancel this run" not in html


def test_a_run_whose_worker_went_quiet_says_it_resumes_by_itself(admin, settings):
    settings.SYNC_RUN_STALE_SECONDS = 120
    quiet_since = timezone.now() - timedelta(minutes=5)
    run = running_backfill(heartbeat_at=quiet_since)
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    moment = timezone.localtime(quiet_since).strftime("%H:%M:%S")
    assert "No word from its worker since" in html
    assert moment in html
    assert "it resumes automatically" in html


def test_a_failed_run_shows_why(admin):
    run = running_backfill(status=SyncRunStatus.FAILED, finished_at=timezone.now(),
                           error="Spotler answered 401: wrong credentials")  # fmt: skip
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "Spotler answered 401: wrong credentials" in html


def test_the_contacts_that_failed_in_the_run_are_listed_with_spotlers_reason(admin):
    run = running_backfill(status=SyncRunStatus.SUCCEEDED, finished_at=timezone.now())
    other = running_backfill()
    bad = make_contact("C-5")
    SyncEvent.objects.create(contact=bad, run=run, kind=SyncEventKind.PUSH, ok=False,
                             answer="Spotler said: postalCode is not a valid postcode")  # fmt: skip
    SyncEvent.objects.create(contact=make_contact("C-6"), run=run, kind=SyncEventKind.PUSH, ok=True)
    SyncEvent.objects.create(contact=make_contact("C-7"), run=other, kind=SyncEventKind.PUSH,
                             ok=False, answer="another run's failure")  # fmt: skip
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "Contacts that failed in this run (1)" in html
    assert "Spotler said: postalCode is not a valid postcode" in html
    assert f'href="{reverse("contacts:contact-detail", args=["C-5"])}"' in html
    assert "another run's failure" not in html
    assert "C-6" not in html


def test_cancelling_a_queued_run_ends_it_before_it_starts(admin):
    run = SyncRun.objects.create(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD)
    response = admin.post(reverse("sync:run-cancel", args=[run.pk]), follow=True)
    run.refresh_from_db()
    assert run.status == SyncRunStatus.CANCELLED
    assert "it never started" in response.content.decode()


def test_cancelling_a_running_run_asks_it_to_stop_after_its_current_step(admin):
    run = running_backfill()
    response = admin.post(reverse("sync:run-cancel", args=[run.pk]), follow=True)
    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == (SyncRunStatus.RUNNING, True)
    html = response.content.decode()
    assert "stops after its current step" in html
    assert "Cancel this run" not in html
    assert 'data-testid="cancel-requested"' in html


def test_cancelling_a_run_that_ended_changes_nothing(admin):
    run = running_backfill(status=SyncRunStatus.SUCCEEDED, finished_at=timezone.now())
    response = admin.post(reverse("sync:run-cancel", args=[run.pk]), follow=True)
    run.refresh_from_db()
    assert (run.status, run.cancel_requested) == (SyncRunStatus.SUCCEEDED, False)
    assert "had already ended (succeeded)" in response.content.decode()


def test_home_and_health_lead_to_the_manual_syncs(client_as):
    run = running_backfill()
    SyncRun.objects.create(kind=SyncRunKind.PUSH, trigger=SyncRunTrigger.LIVE)
    client = client_as("marketer")
    link = f'href="{reverse("sync:run-detail", args=[run.pk])}"'
    home = client.get(reverse("home")).content.decode()
    assert "Manual syncs running now" in home
    assert link in home
    assert "Push #" not in home
    health = client.get(reverse("sync:health"), HTTP_HX_REQUEST="true").content.decode()
    assert link in health
    assert f'href="{reverse("sync:run-list")}"' in health


def test_a_finished_pull_reads_in_its_own_words(admin):
    now = timezone.now()
    run = SyncRun.objects.create(
        kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.DASHBOARD,
        status=SyncRunStatus.SUCCEEDED, done=9, sent=3, started_at=now - timedelta(seconds=3),
        finished_at=now, window_start=now - timedelta(hours=2), window_end=now,
    )  # fmt: skip
    html = admin.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert 'data-testid="run-percent">100%' in html
    assert "9</span> updated contacts read" in html
    assert "3 applied" in html
    window = timezone.localtime(run.window_start).strftime("%H:%M:%S")
    assert f"from {timezone.localtime(run.window_start).day} " in html and window in html


def test_the_resync_form_says_where_it_runs_with_or_without_a_backfill_cluster(admin):
    resync = re.search(
        r'data-testid="start-resync">(.*?)</article>',
        admin.get(reverse("sync:run-list")).content.decode(),
        re.S,
    ).group(1)
    assert (
        "on the backfill queue if a backfill cluster runs, else between live pushes on the "
        "default queue."
    ) in resync


def test_backfills_are_named_by_what_they_send_in_every_run_list(admin):
    named = {
        "Full backfill": {},
        "Filtered resync": {"filters": {"language": "nl"}},
        "One-contact resync": {"filters": {"ids": ["C-1"]}},
        "Mapping push": {"filters": {"mapping_version": 3}},
    }
    made = {
        name: SyncRun.objects.create(
            kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD, **fields
        )
        for name, fields in named.items()
    }
    changed_since = SyncRun.objects.create(
        kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.DASHBOARD,
        window_start=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    listing = admin.get(reverse("sync:run-list")).content.decode()
    health = admin.get(reverse("sync:health"), HTTP_HX_REQUEST="true").content.decode()
    home = admin.get(reverse("home")).content.decode()
    for name, run in [*made.items(), ("Filtered resync", changed_since)]:
        href = reverse("sync:run-detail", args=[run.pk])
        row = re.search(rf'<a href="{href}">#{run.pk}</a>.*?</td>\s*<td>([^<]*)', listing, re.S)
        assert row.group(1) == name
        assert f'<a href="{href}">{name} #{run.pk}</a>' in health
        assert f'<a href="{href}">{name} #{run.pk}</a>' in home
        detail = admin.get(href).content.decode()
        assert f"<h1>{name} run #{run.pk}</h1>" in detail
    assert "Backfill #" not in health + home
