from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from contacts.ingest import upsert_contact
from sync.health import read_health
from sync.models import OutboxEntry, SyncRun, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.push import push_outbox
from sync.ratelimit import throttle_until

ANNA = {"email": "anna@example.nl", "first_name": "Anna"}


def test_health_counts_what_waits_and_how_long_pushes_took(spotler_client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    upsert_contact(external_id="C-2", raw_fields=ANNA | {"email": "b@example.nl"})
    OutboxEntry.objects.filter(contact__external_id="C-2").update(
        created_at=timezone.now() - timedelta(minutes=5)
    )
    health = read_health()
    assert health.pending == 2
    assert health.oldest_pending_age > timedelta(minutes=4)

    push_outbox(client=spotler_client)
    health = read_health()
    assert health.pending == 0
    assert health.lag_median is not None and health.lag_median >= 0
    assert (health.pushes_last_hour, health.push_errors_last_hour) == (2, 0)
    assert sum(bar.pushed for bar in health.hours) == 2


def test_a_pull_that_has_not_succeeded_for_two_intervals_is_overdue(db):
    health = read_health()
    pull = next(s for s in health.schedules if s.name == "Pull updated contacts")
    assert pull.overdue
    SyncRun.objects.create(
        kind=SyncRunKind.PULL_UPDATES, trigger=SyncRunTrigger.SCHEDULE,
        status=SyncRunStatus.SUCCEEDED, finished_at=timezone.now(),
    )  # fmt: skip
    pull = next(s for s in read_health().schedules if s.name == "Pull updated contacts")
    assert not pull.overdue


def test_the_health_page_shows_throttling_and_refreshes_itself(client, marketer):
    throttle_until(timezone.now() + timedelta(seconds=30), reason="429")
    client.force_login(marketer)
    html = client.get(reverse("sync:health")).content.decode()
    assert "Throttled" in html
    assert 'hx-trigger="every 10s"' in html
    partial = client.get(reverse("sync:health"), HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert 'data-testid="health-chart"' in partial
