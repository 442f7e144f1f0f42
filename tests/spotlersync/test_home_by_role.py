"""Home shows each role what it needs first, and every figure on it is right for a known
situation: an Account manager's follow-ups; a Marketer's mapping, list budget, push lag and
failed contacts; an Admin's all of that and the queue."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from bounces.models import FollowUp, FollowUpState
from contacts.batch import upsert_contacts
from contacts.models import Contact, SyncStatus
from sync.models import OutboxEntry, OutboxStatus
from tests.conftest import make_user
from tests.lists.helpers import contacts_in_spotler

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_budget():
    cache.delete("home:list-budget")
    yield
    cache.delete("home:list-budget")


def figure(html: str, testid: str) -> str:
    """The big figure of the stats card `testid`."""
    card = re.search(rf'data-testid="{testid}">.*?<p class="figure[^"]*">(.*?)</p>', html, re.S)
    assert card, f"no card {testid}"
    return card.group(1).strip()


def followup(n: int, *, owner, due_in: timedelta, state=FollowUpState.OPEN) -> FollowUp:
    upsert_contacts(items=[{"external_id": f"B-{n}", "email": f"b{n}@example.nl"}])
    contact = Contact.objects.get(external_id=f"B-{n}")
    now = timezone.now()
    return FollowUp.objects.create(
        contact=contact, owner=owner, kind="hard", email=contact.email, state=state,
        opened_at=now - timedelta(days=6), due_at=now + due_in,
    )  # fmt: skip


def test_an_account_manager_sees_her_follow_ups_overdue_first_and_no_queue(client_as):
    browser = client_as("accountmanager")
    me = User.objects.get(username="accountmanager")
    other = make_user("tom", role="Account manager")
    late = followup(1, owner=me, due_in=-timedelta(days=2))
    soon = followup(2, owner=me, due_in=timedelta(minutes=30))  # due today, unless near midnight
    later = followup(3, owner=me, due_in=timedelta(days=3), state=FollowUpState.IN_PROGRESS)
    followup(4, owner=me, due_in=-timedelta(days=1), state=FollowUpState.DONE)
    followup(5, owner=other, due_in=-timedelta(days=3))

    html = browser.get(reverse("home")).content.decode()

    assert figure(html, "followups-open") == "3"
    assert figure(html, "followups-overdue") == "1"
    end_of_day = timezone.localtime().replace(hour=23, minute=59)
    today = 1 if timezone.localtime() + timedelta(minutes=30) <= end_of_day else 0
    assert figure(html, "followups-today") == str(today)
    urgent = html[html.index('data-testid="followups-urgent"') :]
    places = [urgent.index(f"/bounces/{f.pk}/") for f in (late, soon, later)]
    assert places == sorted(places)  # overdue first, then the soonest due
    assert "overdue since" in urgent
    assert "b5@example.nl" not in html  # another manager's
    for internal in ("Queue cluster", "Failed tasks", 'data-testid="home-sync"', "home-lists"):
        assert internal not in html


def test_a_marketer_sees_mapping_budget_push_and_failures_but_not_the_queue(
    client_as, lists_sandbox
):
    browser = client_as("marketer")
    contacts_in_spotler(lists_sandbox, 2)
    lists_sandbox.control("POST", "templists", {"consumer_key": "crm", "count": 3})
    upsert_contacts(
        items=[{"external_id": f"W-{n}", "email": f"w{n}@example.nl"} for n in range(4)]
    )
    Contact.objects.filter(external_id="W-0").update(sync_status=SyncStatus.FAILED)
    now = timezone.now()
    # Lags of 2, 4 and 9 seconds in the last hour; one of 100 s two hours ago does not count.
    done = list(OutboxEntry.objects.filter(external_id__startswith="C-"))
    for entry, (lag, ago) in zip(
        [*done, *OutboxEntry.objects.filter(external_id="W-3")],
        [(2, 10), (4, 20), (100, 7200)],
        strict=False,
    ):
        OutboxEntry.objects.filter(pk=entry.pk).update(
            status=OutboxStatus.DONE,
            created_at=now - timedelta(seconds=ago + lag),
            accepted_at=now - timedelta(seconds=ago),
        )
    waiting = OutboxEntry.objects.filter(status__in=[OutboxStatus.PENDING, OutboxStatus.IN_FLIGHT])

    html = browser.get(reverse("home")).content.decode()

    assert figure(html, "home-mapping") == "Fits"
    assert figure(html, "home-waiting") == str(waiting.count())
    assert figure(html, "home-lag") == "3.0 s"
    assert figure(html, "failed-contacts") == "1"
    assert "<strong>3 of 30</strong> in use in the Spotler account (0 ours, 3 other" in html
    assert "27 free" in html
    assert 'data-testid="home-followups"' not in html
    assert "Queue cluster" not in html


def test_an_admin_sees_everyones_follow_ups_the_sync_side_and_the_queue(client_as):
    browser = client_as("admin")
    followup(1, owner=make_user("sanne", role="Account manager"), due_in=-timedelta(days=1))

    html = browser.get(reverse("home")).content.decode()

    assert "(everyone's)" in html
    assert figure(html, "followups-overdue") == "1"
    assert 'data-testid="home-sync"' in html and 'data-testid="home-lists"' in html
    assert "Queue cluster" in html and "Scheduled jobs" in html
