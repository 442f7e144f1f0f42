"""The "push the affected contacts now" offer: once, for the change just saved, as a sync run."""

import pytest
from django.urls import reverse

from mapping import push_offer
from mapping.models import MappingVersion
from mapping.versions import current_version, save_version
from spotler.sandbox.handle import SandboxControlError
from spotlersync.roles import Role
from sync import runs
from sync.models import SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from tests.conftest import make_user, transactional
from tests.helpers import postgresql_only, run_at_once
from tests.mapping.helpers import CITY_ROW, add_contact, form_data

EDIT = reverse("mapping:mapping-edit")


def push_url(number: int) -> str:
    return reverse("mapping:push-affected", args=[number])


def save_city_row(client) -> MappingVersion:
    """The Marketer adds city → city: it changes what Spotler receives for the contacts with
    a city."""
    client.post(EDIT, form_data([*current_version().rows, CITY_ROW]))
    return current_version()


@pytest.fixture
def two_with_a_city(db):
    add_contact("C-1", city="Utrecht")
    add_contact("C-2", city="Gent")
    add_contact("C-3")


@pytest.fixture
def marketer_client(client, marketer, catalogue):
    client.force_login(marketer)
    return client


def test_a_marketer_cannot_push_the_contacts_of_a_version_no_longer_in_force(
    marketer_client, two_with_a_city
):
    save_city_row(marketer_client)
    rows = current_version().rows
    marketer_client.post(EDIT, form_data(rows[:-1]))  # version 3 takes the row out again
    response = marketer_client.post(push_url(2))
    assert response.status_code == 409
    text = response.content.decode()
    assert "Version 2 is no longer the mapping in force (version 3 is)" in text
    assert not SyncRun.objects.exists()


def test_the_first_version_which_counts_every_contact_as_changed_is_never_pushed(
    marketer_client, two_with_a_city
):
    assert current_version().number == 1
    response = marketer_client.post(push_url(1))
    assert response.status_code == 409
    assert "the mapping the installation started with" in response.content.decode()
    assert not SyncRun.objects.exists()


def test_a_second_push_of_the_same_version_starts_no_second_run_and_shows_the_first(
    marketer_client, two_with_a_city
):
    save_city_row(marketer_client)
    first = marketer_client.post(push_url(2))
    run = SyncRun.objects.get()
    assert first["Location"] == reverse("sync:run-detail", args=[run.pk])
    second = marketer_client.post(push_url(2), follow=True)
    assert SyncRun.objects.count() == 1
    assert second.redirect_chain[-1][0] == reverse("sync:run-detail", args=[run.pk])
    assert f"already started as run #{run.pk}" in second.content.decode()
    # The mapping page now links to the run instead of offering the push again.
    html = marketer_client.get(f"{EDIT}?saved=2").content.decode()
    assert "Push the 2 affected" not in html
    assert f"run #{run.pk}</a> (queued)" in html


def test_the_push_is_a_run_on_the_syncs_page_with_who_started_it_and_the_version(
    marketer_client, marketer, two_with_a_city
):
    save_city_row(marketer_client)
    marketer_client.post(push_url(2))
    run = SyncRun.objects.get()
    assert (run.kind, run.trigger, run.status, run.total) == (
        SyncRunKind.BACKFILL, SyncRunTrigger.DASHBOARD, SyncRunStatus.QUEUED, 2
    )  # fmt: skip
    assert run.requested_by == marketer
    html = marketer_client.get(reverse("sync:run-list")).content.decode()
    assert f"#{run.pk}</a>" in html
    assert "the contacts whose Spotler data mapping version 2 changed" in html
    assert "0 / 2" in html
    assert "<small>marketer</small>" in html


def test_above_the_threshold_the_page_asks_for_a_tick_before_it_starts(
    marketer_client, two_with_a_city, settings
):
    settings.MAPPING_PUSH_CONFIRM_ABOVE = 1
    html = marketer_client.post(EDIT, form_data([*current_version().rows, CITY_ROW]), follow=True)
    html = html.content.decode()
    assert "Yes, send these 2 contacts to Spotler now" in html
    unticked = marketer_client.post(push_url(2), follow=True)
    assert "Tick the box to confirm: version 2 sends 2 contacts to Spotler." in (
        unticked.content.decode()
    )
    assert not SyncRun.objects.exists()
    marketer_client.post(push_url(2), {"confirm": "1"})
    assert SyncRun.objects.get().total == 2


def test_below_the_threshold_no_tick_is_asked(marketer_client, two_with_a_city):
    html = marketer_client.post(EDIT, form_data([*current_version().rows, CITY_ROW]), follow=True)
    html = html.content.decode()
    assert "Push the 2 affected contacts now" in html
    assert 'name="confirm"' not in html


def test_restoring_a_version_offers_the_push_of_what_the_restore_changed(
    marketer_client, two_with_a_city
):
    save_city_row(marketer_client)  # version 2
    marketer_client.post(EDIT, form_data(current_version().rows[:-1]))  # version 3
    response = marketer_client.post(reverse("mapping:mapping-restore", args=[2]), follow=True)
    html = response.content.decode()
    assert "Version 2 restored as version 4." in html
    assert "Push the 2 affected contacts now" in html
    marketer_client.post(push_url(4))
    assert SyncRun.objects.get().filters == {"mapping_version": 4}


def test_the_offer_ends_when_another_version_is_saved(marketer_client, two_with_a_city):
    save_city_row(marketer_client)
    assert "Push the 2 affected" in marketer_client.get(f"{EDIT}?saved=2").content.decode()
    marketer_client.post(EDIT, form_data(current_version().rows[:-1]))
    assert 'data-testid="push-offer"' not in marketer_client.get(f"{EDIT}?saved=2").content.decode()


def test_a_marketer_cancels_the_push_of_a_mapping_change_but_no_other_run(
    marketer_client, two_with_a_city
):
    save_city_row(marketer_client)
    marketer_client.post(push_url(2))
    push = SyncRun.objects.get()
    page = marketer_client.get(reverse("sync:run-detail", args=[push.pk])).content.decode()
    assert 'data-testid="cancel-form"' in page
    marketer_client.post(reverse("sync:run-cancel", args=[push.pk]))
    push.refresh_from_db()
    assert push.status == SyncRunStatus.CANCELLED

    pull = runs.start_run(kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.DASHBOARD)
    page = marketer_client.get(reverse("sync:run-detail", args=[pull.pk])).content.decode()
    assert 'data-testid="cancel-form"' not in page
    assert marketer_client.post(reverse("sync:run-cancel", args=[pull.pk])).status_code == 403
    pull.refresh_from_db()
    assert pull.status == SyncRunStatus.QUEUED


@pytest.fixture
def sandbox(spotler_sandbox, settings):
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    # One worker: the helpers a backfill queues for a second worker are not run in these tests.
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "ALT_CLUSTERS": {"backfill": {"workers": 1}}}
    return spotler_sandbox


def test_the_contacts_of_the_change_and_only_those_reach_spotler(
    marketer_client, sandbox, two_with_a_city
):
    save_city_row(marketer_client)
    marketer_client.post(push_url(2))
    run = runs.execute_run(SyncRun.objects.get().pk)  # what the queue worker does
    assert (run.status, run.total, run.sent, run.failed) == (SyncRunStatus.SUCCEEDED, 2, 2, 0)
    assert sandbox.contact("C-1")["properties"]["city"] == "Utrecht"
    assert sandbox.contact("C-2")["properties"]["city"] == "Gent"
    with pytest.raises(SandboxControlError):
        sandbox.contact("C-3")  # no city: the change did not touch it
    page = marketer_client.get(reverse("sync:run-detail", args=[run.pk])).content.decode()
    assert "2 of 2" in page
    assert "mapping version 2" in page


def test_a_marketer_still_starts_no_other_sync(marketer_client, two_with_a_city):
    full_backfill = {"action": "backfill", "backfill-confirm": "on"}
    assert marketer_client.post(reverse("sync:run-start"), full_backfill).status_code == 403
    push_one = reverse("sync:contact-push", args=["C-1"])
    assert marketer_client.post(push_one).status_code == 403
    assert not SyncRun.objects.exists()


@postgresql_only
@transactional
def test_clicks_at_the_same_moment_start_one_run():
    marketer = make_user("marketer", role=Role.MARKETER)
    add_contact("C-1", city="Utrecht")
    save_version(rows=[*current_version().rows, CITY_ROW], author=marketer)

    def click():
        push_offer.start_push(number=2, user=marketer, confirmed=False)

    errors = run_at_once(*[click] * 4)
    assert len(errors) == 3
    assert all(isinstance(error, push_offer.AlreadyStarted) for error in errors)
    assert SyncRun.objects.count() == 1
    assert MappingVersion.objects.get(number=2).push_run == SyncRun.objects.get()
