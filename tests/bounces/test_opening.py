"""Bounces become follow-ups: a hard one at once, soft ones at the threshold, one per contact."""

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from bounces.followups import add_working_days
from bounces.models import Bounce, FollowUp, FollowUpState
from contacts.feed import read_changes
from contacts.ingest import erase_contact
from sync.models import UnknownContact
from sync.push import push_one_batch
from tests.bounces.helpers import bounce, manager, pull, pushed_contact

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def text_of(response) -> str:
    """The page's text as a reader sees it (tags left out)."""
    return re.sub(r"<[^>]+>", "", response.content.decode())


def test_a_hard_bounce_opens_a_followup_for_the_contacts_account_manager_at_once(
    spotler_client, spotler_sandbox
):
    sanne = manager("sanne", first_name="Sanne", last_name="Bakker")
    contact = pushed_contact(spotler_client, account_manager="Sanne Bakker")
    bounce(spotler_sandbox, kind="HARDBOUNCE")

    pull(spotler_client)

    followup = FollowUp.objects.get()
    assert (followup.contact, followup.owner, followup.owner_unmatched) == (contact, sanne, False)
    assert (followup.state, followup.kind, followup.email) == ("open", "hard", "anna@example.nl")
    assert followup.bounce_count == 1 and Bounce.objects.get().followup == followup
    assert followup.due_at == add_working_days(followup.opened_at, 5)
    opened = [c for c in read_changes() if c.kind == "followup_opened"]
    assert [c.external_id for c in opened] == ["C-1"]
    assert opened[0].payload["owner"] == "sanne" and opened[0].payload["type"] == "hard"
    assert [s.action for s in followup.steps.all()] == ["opened"]


def test_repeated_bounces_add_to_the_one_open_followup_and_never_open_a_second(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox, kind="HARDBOUNCE", ago=timedelta(minutes=30))
    pull(spotler_client)
    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(minutes=20))
    bounce(spotler_sandbox, kind="HARDBOUNCE", ago=timedelta(minutes=10))

    pull(spotler_client)
    pull(spotler_client)  # the overlapping window reads them all again

    followup = FollowUp.objects.get()
    assert followup.bounce_count == 3
    assert Bounce.objects.filter(followup=followup).count() == 3
    assert [c.kind for c in read_changes()].count("followup_opened") == 1
    # One line of history for what one pull added.
    assert [s.action for s in followup.steps.all()] == ["opened", "bounced_again"]
    assert followup.steps.last().text == "Bounced again (soft bounce, hard bounce)."


def test_a_new_bounce_after_the_followup_is_done_opens_a_new_one(spotler_client, spotler_sandbox):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox, ago=timedelta(minutes=30))
    pull(spotler_client)
    FollowUp.objects.update(state=FollowUpState.DONE)
    bounce(spotler_sandbox, ago=timedelta(minutes=10))

    pull(spotler_client)

    assert FollowUp.objects.count() == 2
    assert FollowUp.objects.unresolved().get().bounce_count == 1


def test_soft_bounces_open_a_followup_only_when_three_arrive_within_thirty_days(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(days=40))  # outside the period
    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(days=20))
    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(days=2))
    pull(spotler_client, days=60)
    assert not FollowUp.objects.exists()

    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(hours=1))
    pull(spotler_client)

    followup = FollowUp.objects.get()
    assert (followup.kind, followup.bounce_count) == ("soft", 3)
    assert Bounce.objects.filter(followup__isnull=True).count() == 1  # the one 40 days ago
    assert "3 soft bounces" in followup.steps.get().text


def test_the_soft_bounce_threshold_and_period_are_settings(
    spotler_client, spotler_sandbox, settings
):
    settings.BOUNCES_SOFT_THRESHOLD = 2
    settings.BOUNCES_SOFT_DAYS = 7
    pushed_contact(spotler_client)
    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(days=10))
    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(days=1))
    pull(spotler_client, days=30)
    assert not FollowUp.objects.exists()

    bounce(spotler_sandbox, kind="SOFTBOUNCE", ago=timedelta(hours=1))
    pull(spotler_client)

    assert FollowUp.objects.get().bounce_count == 2


def test_bounces_of_erased_anonymized_and_unknown_contacts_are_kept_and_counted_for_admins(
    spotler_client, spotler_sandbox, client
):
    pushed_contact(spotler_client, external_id="C-1")
    pushed_contact(spotler_client, external_id="C-2", email="bob@example.nl")
    pushed_contact(spotler_client, external_id="C-3", email="eva@example.nl")
    spotler_sandbox.control(
        "POST", "contacts", json={"externalId": "X-9", "properties": {"email": "x@example.nl"}}
    )
    bounce(spotler_sandbox, "C-1")  # in the ledger: a follow-up
    bounce(spotler_sandbox, "C-3", ago=timedelta(minutes=2))
    erase_contact(external_id="C-3")
    push_one_batch(client=spotler_client)  # Spotler anonymizes C-3
    erase_contact(external_id="C-2")  # its anonymization is still to run
    bounce(spotler_sandbox, "C-2")
    bounce(spotler_sandbox, "X-9")
    bounce(spotler_sandbox, "X-9", kind="SOFTBOUNCE", ago=timedelta(minutes=3))

    run = pull(spotler_client)
    pull(spotler_client)  # the overlapping window reads them all again

    assert (run.done, run.sent, run.skipped) == (5, 1, 4)
    assert FollowUp.objects.get().contact.external_id == "C-1"
    states = sorted(Bounce.objects.filter(followup=None).values_list("ledger_state", flat=True))
    assert states == ["anonymized", "erased", "unknown", "unknown"]
    assert UnknownContact.objects.get(external_id="X-9").times_seen == 2

    client.force_login(manager("boss", role="Admin"))
    line = (
        "4 bounces without a follow-up in the last 12 weeks: 1 erased, 1 anonymized, "
        "2 unknown to the ledger."
    )
    assert line in text_of(client.get("/bounces/"))
    client.force_login(manager("sanne"))
    assert "without a follow-up" not in text_of(client.get("/bounces/"))


def test_erasing_a_contact_removes_its_followups_and_its_bounces_personal_data(
    spotler_client, spotler_sandbox
):
    pushed_contact(spotler_client)
    bounce(spotler_sandbox)
    pull(spotler_client)

    erase_contact(external_id="C-1")

    assert not FollowUp.objects.exists()
    kept = Bounce.objects.get()  # still counted, as an erased contact's bounce
    assert (kept.ledger_state, kept.contact, kept.external_id, kept.email) == (
        "erased",
        None,
        "",
        "",
    )
    assert pull(spotler_client).sent == 0  # read again: the same bounce, not a new one
    assert Bounce.objects.count() == 1


def test_working_days_skip_the_weekend():
    friday = datetime(2026, 11, 20, 9, 0, tzinfo=AMSTERDAM)
    assert add_working_days(friday, 5) == datetime(2026, 11, 27, 9, 0, tzinfo=AMSTERDAM)
    assert add_working_days(friday, 1) == datetime(2026, 11, 23, 9, 0, tzinfo=AMSTERDAM)


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=AMSTERDAM)


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        # Over the last Sunday of March (clocks go forward) and of October (back).
        (local(2026, 3, 27, 10, 0), local(2026, 4, 3, 10, 0)),
        (local(2026, 10, 23, 10, 0), local(2026, 10, 30, 10, 0)),
        # Opened on the Sunday itself, in the hour before the change.
        (local(2026, 3, 29, 1, 30), local(2026, 4, 3, 1, 30)),
    ],
)
def test_a_due_date_across_a_clock_change_keeps_the_time_of_day_on_the_office_clock(opened, due):
    got = add_working_days(opened.astimezone(UTC), 5)  # opened_at is stored in UTC
    assert got == due, f"due {timezone.localtime(got):%a %d %b %H:%M}"
