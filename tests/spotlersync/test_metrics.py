"""/metrics: who may read it, and the figures, read by prometheus-client's own parser."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from bounces.models import BounceKind, FollowUp, FollowUpState
from contacts.ingest import upsert_contact
from contacts.models import ApiToken, Contact, SyncStatus, TokenScope
from contacts.tokens import create_api_token
from lists.models import TempList, TempListState
from public.models import Subscription, SubscriptionState
from sync.models import OutboxEntry, OutboxStatus, SyncEvent, SyncEventKind, SyncRun
from sync.ratelimit import throttle_until
from tests.contacts.conftest import ApiClient
from tests.public.subscribe_helpers import make_form


def scrape(client, secret: str):
    return client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {secret}")


def figures(response) -> dict[tuple[str, tuple], float]:
    """Every sample, by name and labels, as Prometheus would read it."""
    assert response["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.content.decode())
        for sample in family.samples
    }


def test_metrics_without_a_token_is_401(client, db):
    response = client.get("/metrics")

    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert not response.cookies


def test_metrics_with_a_wrong_or_revoked_token_is_401(client, db):
    assert scrape(client, "ssk_made-up").status_code == 401
    new = create_api_token(name="Old Prometheus", scope=TokenScope.METRICS)
    new.token.revoked_at = timezone.now()
    new.token.save()

    assert scrape(client, new.secret).status_code == 401


@pytest.mark.parametrize("scope", [TokenScope.READ, TokenScope.WRITE])
def test_metrics_refuses_an_api_token_for_the_api(client, db, scope):
    response = scrape(client, create_api_token(name="Webshop", scope=scope).secret)

    assert response.status_code == 403
    assert "metrics scope" in response.content.decode()


def test_a_metrics_token_opens_metrics_and_nothing_of_the_api(client, db):
    secret = create_api_token(name="Prometheus", scope=TokenScope.METRICS).secret

    assert scrape(client, secret).status_code == 200
    for response in (
        ApiClient(client, secret).get("changes"),
        ApiClient(client, secret).get("contacts/C1"),
    ):
        assert response.status_code == 403
        assert response.json()["error"] == "metrics_only_token"
    assert (
        ApiClient(client, secret).put("contacts/C1", {"email": "a@example.nl"}).status_code == 403
    )
    assert not Contact.objects.exists()


def test_the_metrics_token_setting_opens_metrics(client, db, settings):
    settings.METRICS_TOKEN = "m" * 40

    assert scrape(client, "m" * 40).status_code == 200
    assert scrape(client, "m" * 39).status_code == 401


def test_an_admin_creates_a_metrics_token_on_the_api_tokens_page(client_as):
    client = client_as("admin")
    page = client.get(reverse("contacts:token-create")).content.decode()
    assert 'value="metrics"' in page

    response = client.post(
        reverse("contacts:token-create"), {"name": "Prometheus", "scope": "metrics"}
    )

    assert response.status_code == 200
    token = ApiToken.objects.get(name="Prometheus")
    assert token.scope == TokenScope.METRICS
    assert "metrics only" in response.content.decode().lower()


def make_contacts(count: int) -> list[Contact]:
    return [
        upsert_contact(external_id=f"C{n}", raw_fields={"email": f"c{n}@example.nl"}).contact
        for n in range(count)
    ]


def test_metrics_reads_the_situation_from_the_database(client, db):
    now = timezone.now()
    contacts = make_contacts(6)
    entries = list(OutboxEntry.objects.order_by("pk"))
    # Two waiting (the oldest ten minutes), one failed, three accepted 0.5 s, 20 s and 400 s
    # after they arrived.
    OutboxEntry.objects.filter(pk=entries[0].pk).update(created_at=now - timedelta(minutes=10))
    OutboxEntry.objects.filter(pk=entries[1].pk).update(status=OutboxStatus.IN_FLIGHT)
    OutboxEntry.objects.filter(pk=entries[2].pk).update(status=OutboxStatus.FAILED)
    for entry, lag in zip(entries[3:], (0.5, 20, 400), strict=True):
        OutboxEntry.objects.filter(pk=entry.pk).update(
            status=OutboxStatus.DONE,
            created_at=now - timedelta(seconds=lag + 60),
            accepted_at=now - timedelta(seconds=60),
        )
    # Pushes in the last hour: two accepted, a 500, a batch item refused, one with no answer;
    # and one accepted two hours ago (outside the window).
    answers = [
        (True, "Spotler accepted it."),
        (True, "Spotler accepted it."),
        (False, "Spotler could not take the change. Spotler said: Spotler answered 500: Oops"),
        (False, "The e-mail address is not valid. Spotler said: INVALID_EMAIL: no"),
        (False, "Spotler could not be reached; it will be tried again. Spotler said: timeout"),
    ]
    for contact, (ok, answer) in zip(contacts, answers, strict=False):
        SyncEvent.objects.create(contact=contact, kind=SyncEventKind.PUSH, ok=ok, answer=answer)
    SyncEvent.objects.create(
        contact=contacts[5], kind=SyncEventKind.PUSH, ok=True, at=now - timedelta(hours=2)
    )
    # Spotler asked us twice to wait: 30 s, then 10 s more of which 5 s overlap.
    asked = timezone.now()
    throttle_until(asked + timedelta(seconds=30))
    throttle_until(asked + timedelta(seconds=35))
    SyncRun.objects.create(kind="backfill", trigger="dashboard", status="running")
    SyncRun.objects.create(kind="push", trigger="live", status="succeeded")
    SyncRun.objects.create(kind="push", trigger="live", status="succeeded")
    for contact, due in (
        (contacts[0], now - timedelta(days=1)),
        (contacts[1], now + timedelta(days=2)),
    ):
        FollowUp.objects.create(contact=contact, kind=BounceKind.HARD, due_at=due)
    FollowUp.objects.create(
        contact=contacts[2], kind=BounceKind.HARD, due_at=now - timedelta(days=9),
        state=FollowUpState.DONE,
    )  # fmt: skip
    for n, state in enumerate(
        (TempListState.COMPLETE, TempListState.SENDING, TempListState.DELETED)
    ):
        TempList.objects.create(name=f"List {n}", spotler_id=f"spotlersync-{n}", state=state)
    form = make_form()
    for state in (
        SubscriptionState.QUEUED,
        SubscriptionState.QUEUED,
        SubscriptionState.FAILED,
        SubscriptionState.SENT,
    ):
        Subscription.objects.create(form=form, email="a@example.nl", state=state)
    # Held for review (identity/guard.py): not waiting, not failed, counted on its own.
    Contact.objects.filter(pk=contacts[5].pk).update(sync_status=SyncStatus.HELD)
    secret = create_api_token(name="Prometheus", scope=TokenScope.METRICS).secret

    got = figures(scrape(client, secret))

    assert got[("spotlersync_changes_waiting", ())] == 2
    assert 600 <= got[("spotlersync_changes_waiting_oldest_age_seconds", ())] < 660
    assert got[("spotlersync_changes_failed", ())] == 1
    assert got[("spotlersync_contacts_held_for_review", ())] == 1
    lag = {
        labels[0][1]: value
        for (name, labels), value in got.items()
        if name == "spotlersync_push_lag_seconds_bucket"
    }
    assert (lag["1.0"], lag["10.0"], lag["30.0"], lag["300.0"], lag["600.0"], lag["+Inf"]) == (
        1, 1, 2, 2, 3, 3,
    )  # fmt: skip
    assert got[("spotlersync_push_lag_seconds_count", ())] == 3
    assert got[("spotlersync_push_lag_seconds_sum", ())] == pytest.approx(420.5)
    assert got[("spotlersync_pushes_last_hour", (("kind", "push"), ("outcome", "ok")))] == 2
    assert got[("spotlersync_pushes_last_hour", (("kind", "push"), ("outcome", "failed")))] == 3
    by_status = {
        labels[0][1]: value
        for (name, labels), value in got.items()
        if name == "spotlersync_spotler_answers_last_hour"
    }
    assert by_status == {"2xx": 2, "500": 1, "item": 1, "none": 1}
    assert got[("spotlersync_throttles_total", ())] == 2
    assert got[("spotlersync_throttled_seconds_total", ())] == pytest.approx(35, abs=0.2)
    assert 25 < got[("spotlersync_throttled_for_seconds", ())] <= 35
    assert got[("spotlersync_runs", (("kind", "backfill"), ("state", "running")))] == 1
    assert got[("spotlersync_runs", (("kind", "push"), ("state", "succeeded")))] == 2
    assert got[("spotlersync_runs", (("kind", "push"), ("state", "failed")))] == 0
    assert got[("spotlersync_followups_open", ())] == 2
    assert got[("spotlersync_followups_overdue", ())] == 1
    assert got[("spotlersync_temporary_lists_in_spotler", ())] == 2
    assert got[("spotlersync_temporary_lists_limit", ())] == 30
    assert got[("spotlersync_subscriptions", (("state", "queued"),))] == 2
    assert got[("spotlersync_subscriptions", (("state", "failed"),))] == 1


def test_every_metric_has_help_text_and_our_prefix(client, db):
    secret = create_api_token(name="Prometheus", scope=TokenScope.METRICS).secret
    response = scrape(client, secret)

    families = list(text_string_to_metric_families(response.content.decode()))
    assert len(families) >= 15
    for family in families:
        assert family.name.startswith("spotlersync_")
        assert family.documentation
