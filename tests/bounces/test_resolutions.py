"""Resolving a follow-up: each way's effect on the ledger, on Spotler (sandbox) and the feed."""

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from bounces import work
from bounces.models import FollowUp
from contacts.feed import read_changes
from contacts.ingest import upsert_contact
from contacts.models import Contact
from sync.models import OutboxEntry
from sync.push import push_one_batch
from tests.bounces.helpers import ANNA, bounce, manager, pull, pushed_contact
from tests.conftest import transactional


@pytest.fixture
def followup(spotler_client, spotler_sandbox):
    manager("sanne", first_name="Sanne", last_name="Bakker")
    pushed_contact(spotler_client, account_manager="Sanne Bakker")
    bounce(spotler_sandbox)
    pull(spotler_client)
    return FollowUp.objects.get()


def resolved_changes():
    return [c for c in read_changes() if c.kind == "followup_resolved"]


def test_a_corrected_address_is_written_pushed_and_closes_the_followup_when_spotler_accepts_it(
    followup, spotler_client, spotler_sandbox
):
    work.correct_email(followup, by=followup.owner, email="anna.visser@example.nl")

    followup.refresh_from_db()
    assert (followup.state, followup.pending_email) == ("in_progress", "anna.visser@example.nl")
    contact = Contact.objects.get()
    assert contact.email == "anna.visser@example.nl"
    assert contact.fields["email"] == "anna.visser@example.nl"
    assert contact.account_manager == "Sanne Bakker"
    assert OutboxEntry.objects.pending().count() == 1

    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    assert (followup.state, followup.resolution) == ("done", "email_corrected")
    assert followup.resolved_by == followup.owner
    assert spotler_sandbox.contact("C-1")["properties"]["email"] == "anna.visser@example.nl"
    [change] = resolved_changes()
    assert change.payload["data"] == {
        "email": "anna.visser@example.nl",
        "previous_email": "anna@example.nl",
        "corrected_in": "inbox",
    }
    assert change.payload["resolved_by"] == "sanne"


def test_a_corrected_address_spotler_refuses_reopens_the_followup_with_spotlers_reason(
    followup, spotler_client, spotler_sandbox
):
    spotler_client.anonymize_contact("C-1")  # done in Spotler meanwhile: it takes no more writes
    work.correct_email(followup, by=followup.owner, email="anna.visser@example.nl")

    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    # Back in progress (the correction had started it), not back to "I'm on it".
    assert (followup.state, followup.pending_email, followup.resolution) == ("in_progress", "", "")
    reopened = followup.steps.get(action="reopened")
    assert "Spotler refused anna.visser@example.nl" in reopened.text
    assert "anonymized" in reopened.text
    assert "Back to in progress" in reopened.text
    assert not resolved_changes()


def test_a_correction_the_shop_overwrites_before_it_is_pushed_reopens_the_followup(
    followup, spotler_client, spotler_sandbox
):
    # The shop resends its full record, with the old address, before the correction is pushed:
    # the correction never reaches Spotler, so the follow-up must not wait for it forever.
    work.correct_email(followup, by=followup.owner, email="anna.visser@example.nl")
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "account_manager": "Sanne Bakker"})
    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    assert spotler_sandbox.contact("C-1")["properties"]["email"] == "anna@example.nl"
    assert (followup.state, followup.pending_email, followup.resolution) == ("in_progress", "", "")
    reopened = followup.steps.get(action="reopened")
    assert "anna@example.nl" in reopened.text and "anna.visser@example.nl" in reopened.text
    work.dismiss([followup], by=followup.owner, reason="Shop keeps the old address")  # workable


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a push in flight: PostgreSQL")
@transactional
def test_a_refused_push_of_an_older_state_leaves_the_correction_waiting_for_its_own_answer(
    followup, spotler_client, spotler_sandbox
):
    # The shop changes the first name; that push is on its way (slowly) when the account
    # manager corrects the address. Spotler, which anonymized the contact meanwhile, refuses
    # it: that answer is about the first name, not the correction Spotler has not seen yet.
    renamed = {**ANNA, "account_manager": "Sanne Bakker", "first_name": "An"}
    upsert_contact(external_id="C-1", raw_fields=renamed)
    spotler_client.anonymize_contact("C-1")
    spotler_sandbox.set(latency_ms=1500)
    feed_before = len(read_changes(limit=1000))

    def push_the_older_state():
        push_one_batch(client=spotler_client)
        connection.close()

    pushing = threading.Thread(target=push_the_older_state)
    pushing.start()
    time.sleep(0.7)  # the push has read the contact and waits for Spotler's answer
    work.correct_email(followup, by=followup.owner, email="anna.visser@example.nl")
    pushing.join(10)

    followup.refresh_from_db()
    assert OutboxEntry.objects.filter(status="failed").count() == 1  # the older push, refused
    assert (followup.state, followup.pending_email) == ("in_progress", "anna.visser@example.nl")
    assert not followup.steps.filter(action="reopened").exists()
    assert len(read_changes(limit=1000)) == feed_before  # nothing resolved, nothing said

    spotler_sandbox.set(latency_ms=0)
    push_one_batch(client=spotler_client)  # the correction itself, refused in its turn

    followup.refresh_from_db()
    assert (followup.state, followup.pending_email) == ("in_progress", "")
    reopened = followup.steps.get(action="reopened")
    assert "Spotler refused anna.visser@example.nl" in reopened.text
    assert not resolved_changes()


def test_a_correction_the_shop_replaces_with_its_own_closes_as_corrected_in_the_linked_system(
    followup, spotler_client
):
    work.correct_email(followup, by=followup.owner, email="anna.visser@example.nl")
    upsert_contact(
        external_id="C-1",
        raw_fields={**ANNA, "account_manager": "Sanne Bakker", "email": "a.visser@example.nl"},
    )
    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    assert (followup.state, followup.resolution, followup.pending_email) == (
        "done",
        "email_corrected",
        "",
    )
    assert followup.resolution_data["email"] == "a.visser@example.nl"
    assert followup.resolution_data["corrected_in"] == "linked system"


def test_the_shop_correcting_the_address_through_the_ingest_api_closes_the_followup(
    followup, spotler_client
):
    upsert_contact(
        external_id="C-1",
        raw_fields={**ANNA, "account_manager": "Sanne Bakker", "email": "a.visser@example.nl"},
    )
    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    assert (followup.state, followup.resolution, followup.resolved_by) == (
        "done",
        "email_corrected",
        None,
    )
    [change] = resolved_changes()
    assert change.payload["data"]["corrected_in"] == "linked system"
    assert change.payload["resolved_by"] == "spotlersync"


def test_a_push_of_another_field_leaves_the_followup_open(followup, spotler_client):
    upsert_contact(
        external_id="C-1",
        raw_fields={**ANNA, "account_manager": "Sanne Bakker", "first_name": "An"},
    )
    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    assert followup.state == "open"


@pytest.mark.parametrize(
    "typed", ["anna@", "anna visser@example.nl", " anna@example.com", "anna@localhost", ""]
)
def test_an_invalid_corrected_address_is_refused_and_nothing_is_written(followup, typed):
    with pytest.raises(work.FollowUpProblem) as refused:
        work.correct_email(followup, by=followup.owner, email=typed)

    assert refused.value.fields["email"]
    assert Contact.objects.get().email == "anna@example.nl"
    assert not OutboxEntry.objects.pending().exists()
    followup.refresh_from_db()
    assert (followup.state, followup.pending_email) == ("open", "")


def test_the_address_that_bounced_is_not_a_correction(followup):
    with pytest.raises(work.FollowUpProblem, match="already has"):
        work.correct_email(followup, by=followup.owner, email="ANNA@example.nl")


def test_a_replacement_becomes_a_lead_on_the_feed_with_the_new_employer(followup):
    work.record_replacement(
        followup,
        by=followup.owner,
        replacement={"name": "Piet Smit", "email": "piet@example.nl", "note": "New buyer"},
        new_employer={"company": "Visser BV", "name": "Anna Visser", "email": "", "note": ""},
    )

    followup.refresh_from_db()
    assert (followup.state, followup.resolution) == ("done", "replacement_found")
    [change] = resolved_changes()
    assert change.payload["data"] == {
        "replacement": {"name": "Piet Smit", "email": "piet@example.nl", "note": "New buyer"},
        "new_employer": {"company": "Visser BV", "name": "Anna Visser"},
    }
    assert Contact.objects.get().email == "anna@example.nl"  # the shop owns the contact


def test_a_replacement_without_a_valid_address_is_refused_and_nothing_is_written(followup):
    with pytest.raises(work.FollowUpProblem) as refused:
        work.record_replacement(
            followup, by=followup.owner, replacement={"name": "", "email": "piet@"}
        )

    assert set(refused.value.fields) == {"replacement_name", "replacement_email"}
    followup.refresh_from_db()
    assert followup.state == "open" and not resolved_changes()


def test_made_inactive_blacklists_the_contact_in_spotler(followup, spotler_client, spotler_sandbox):
    work.make_inactive(followup, by=followup.owner)
    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    assert (followup.state, followup.resolution) == ("done", "made_inactive")
    assert Contact.objects.get().inactivated_at is not None
    assert spotler_sandbox.contact("C-1")["blacklisted"] is True
    assert [c.kind for c in read_changes()][-1] == "followup_resolved"


def test_left_without_replacement_closes_with_its_note(followup):
    work.record_left(followup, by=followup.owner, note="Retired")

    [change] = resolved_changes()
    assert change.payload["resolution"] == "left_no_replacement"
    assert change.payload["data"] == {"note": "Retired"}


def test_dismissing_needs_a_reason(followup):
    with pytest.raises(work.FollowUpProblem) as refused:
        work.dismiss([followup], by=followup.owner, reason="   ")
    assert "Say why" in str(refused.value)
    followup.refresh_from_db()
    assert followup.state == "open"

    work.dismiss([followup], by=followup.owner, reason="Test address")

    followup.refresh_from_db()
    assert (followup.resolution, followup.resolution_data) == (
        "dismissed",
        {"reason": "Test address"},
    )


def test_a_done_followup_takes_no_second_resolution(followup):
    work.record_left(followup, by=followup.owner)

    with pytest.raises(work.FollowUpProblem, match="already done"):
        work.dismiss([followup], by=followup.owner, reason="again")
    assert len(resolved_changes()) == 1


def test_every_step_keeps_who_and_when(followup, spotler_client):
    work.start(followup, by=followup.owner)
    work.add_note(followup, by=followup.owner, text="Called reception")
    work.correct_email(followup, by=followup.owner, email="anna.visser@example.nl")
    push_one_batch(client=spotler_client)

    followup.refresh_from_db()
    steps = list(followup.steps.values_list("action", "by__username"))
    assert steps == [
        ("opened", None),
        ("started", "sanne"),
        ("note", "sanne"),
        ("correction_sent", "sanne"),
        ("resolved", "sanne"),
    ]
    assert followup.started_by == followup.owner and followup.started_at < followup.resolved_at


def test_a_bounce_while_a_correction_waits_adds_to_the_same_followup(
    followup, spotler_client, spotler_sandbox
):
    bounce(spotler_sandbox, ago=timedelta(seconds=30))
    pull(spotler_client)

    assert FollowUp.objects.get().bounce_count == 2
