"""The inbox's figures, each against a situation whose answer is known."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from bounces.figures import WEEKS, inbox_figures
from bounces.followups import add_working_days
from bounces.models import FollowUp, FollowUpState, Resolution
from contacts.ingest import upsert_contact
from tests.bounces.helpers import ANNA, manager

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=AMSTERDAM)  # a Wednesday


def make_followup(n: int, *, owner, opened_ago: timedelta, took: timedelta | None = None,
                  resolution: str = "", state: str = FollowUpState.OPEN) -> FollowUp:  # fmt: skip
    contact = upsert_contact(
        external_id=f"C-{n}", raw_fields={**ANNA, "email": f"c{n}@example.nl"}
    ).contact
    opened = NOW - opened_ago
    followup = FollowUp(
        contact=contact, owner=owner, kind="hard", email=contact.email, state=state,
        opened_at=opened, due_at=add_working_days(opened, 5),
    )  # fmt: skip
    if took is not None:
        followup.state, followup.resolution = FollowUpState.DONE, resolution
        followup.resolved_at = opened + took
    followup.save()
    return followup


@pytest.fixture
def situation(db):
    sanne, tom = manager("sanne"), manager("tom")
    make_followup(1, owner=sanne, opened_ago=timedelta(days=10))  # overdue
    make_followup(2, owner=sanne, opened_ago=timedelta(days=1), state=FollowUpState.IN_PROGRESS)
    make_followup(3, owner=tom, opened_ago=timedelta(hours=2))
    make_followup(4, owner=None, opened_ago=timedelta(days=3))
    corrected, dismissed = Resolution.EMAIL_CORRECTED, Resolution.DISMISSED
    make_followup(5, owner=sanne, opened_ago=timedelta(days=20), took=timedelta(days=2),
                  resolution=corrected)  # fmt: skip
    make_followup(6, owner=tom, opened_ago=timedelta(days=15), took=timedelta(days=4),
                  resolution=dismissed)  # fmt: skip
    make_followup(7, owner=sanne, opened_ago=timedelta(days=5), took=timedelta(hours=1),
                  resolution=corrected)  # fmt: skip
    # Resolved long before the 12 weeks: in no figure.
    make_followup(8, owner=tom, opened_ago=timedelta(days=100), took=timedelta(days=5),
                  resolution=dismissed)  # fmt: skip
    return sanne, tom


def test_an_admins_figures_cover_everyones_followups(situation):
    admin = manager("boss", role="Admin")

    figures = inbox_figures(user=admin, now=NOW)

    assert figures.open_per_owner == [("sanne", 2), ("tom", 1), ("unassigned", 1)]
    assert figures.overdue == 1
    assert figures.resolved_count == 3
    assert figures.median_to_resolve == timedelta(days=2)
    assert figures.resolutions == [("E-mail corrected", 2), ("Dismissed", 1)]


def test_the_weekly_chart_counts_opened_and_resolved_per_monday_to_sunday_week(situation):
    figures = inbox_figures(user=manager("boss", role="Admin"), now=NOW)

    assert len(figures.weeks) == WEEKS
    assert figures.weeks[0].start == datetime(2026, 9, 7, tzinfo=AMSTERDAM)
    last_four = [(w.start.day, w.opened, w.resolved) for w in figures.weeks[-4:]]
    # Opened: #5 Thu 5 Nov; #6 Tue 10, #1 Sun 15; #7 Fri 20, #4 Sun 22; #2 Tue 24, #3 Wed 25.
    # Resolved: #5 Sat 7; #6 Sat 14; #7 Fri 20.
    assert last_four == [(2, 1, 1), (9, 2, 1), (16, 2, 1), (23, 2, 0)]
    assert sum(w.opened for w in figures.weeks[:-4]) == 0


def test_an_account_managers_figures_cover_only_their_own(situation):
    sanne, _ = situation

    figures = inbox_figures(user=sanne, now=NOW)

    assert figures.open_per_owner == [("sanne", 2)]
    assert figures.overdue == 1
    assert figures.resolved_count == 2
    assert figures.median_to_resolve == timedelta(hours=1)  # the lower middle of two
    assert figures.resolutions == [("E-mail corrected", 2)]


def test_open_followups_per_owner_name_each_owner_by_full_name_where_known(client, db):
    sanne = manager("sanne", first_name="Sanne", last_name="Bakker")
    tom = manager("tom")
    make_followup(1, owner=sanne, opened_ago=timedelta(hours=1))
    make_followup(2, owner=sanne, opened_ago=timedelta(hours=2))
    make_followup(3, owner=tom, opened_ago=timedelta(hours=3))
    admin = manager("boss", role="Admin")

    figures = inbox_figures(user=admin, now=NOW)

    assert figures.open_per_owner == [("Sanne Bakker", 2), ("tom", 1)]
    client.force_login(admin)
    figure = client.get("/bounces/").content.decode().split('data-testid="figure-open"')[1]
    assert "<strong>2</strong> Sanne Bakker" in figure.split("</article>")[0]


def test_no_resolved_followups_means_no_median(db):
    figures = inbox_figures(user=manager("sanne"), now=NOW)

    assert (figures.median_to_resolve, figures.resolved_count, figures.overdue) == (None, 0, 0)


def test_the_inbox_shows_the_figures(client, situation):
    admin = manager("boss", role="Admin")
    client.force_login(admin)

    text = client.get("/bounces/").content.decode()

    assert 'data-testid="figure-weekly"' in text
    assert "E-mail corrected" in text


def test_the_inbox_query_count_does_not_grow_with_the_number_of_rows(client, db):
    sanne = manager("sanne")
    client.force_login(sanne)
    make_followup(1, owner=sanne, opened_ago=timedelta(hours=1))
    with CaptureQueriesContext(connection) as few:
        client.get("/bounces/")
    for n in range(2, 42):
        make_followup(n, owner=sanne, opened_ago=timedelta(hours=n))
    with CaptureQueriesContext(connection) as many:
        page = client.get("/bounces/")

    assert page.content.decode().count('data-testid="followup-row"') == 41
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]
