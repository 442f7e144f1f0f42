"""Reconciliation against the sandbox: each kind of drift Spotler is made to hold is found, a
clean ledger gives a clean run, and the run reads Spotler once per contact it should hold."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from contacts.ingest import erase_contact, inactivate_contact, upsert_contact
from contacts.models import Contact, SyncStatus
from identity import reconcile as engine
from identity.models import DriftFinding, DriftKind
from sync import pull, push, runs
from sync.models import (
    OutboxEntry,
    OutboxKind,
    OutboxStatus,
    SyncRun,
    SyncRunKind,
    SyncRunStatus,
    SyncRunTrigger,
    UnknownContact,
)
from tests.helpers import postgresql_only, run_at_once
from tests.identity.reconcile_helpers import (
    anna,
    lost_in_the_outbox,
    mapping_sends_city,
    pushed,
    reconcile,
)

GET = "GET contact/{externalId}"


def gets(sandbox) -> int:
    return sum(sandbox.requests().get(GET, {}).values())


def finding(external_id: str) -> DriftFinding:
    return DriftFinding.objects.get(external_id=external_id)


def pull_recent_changes() -> None:
    now = timezone.now()
    pull.pull_updates(since=now - timedelta(hours=1), until=now + timedelta(seconds=1))


def test_a_clean_ledger_gives_a_clean_run(sandbox):
    pushed(5)
    run = reconcile()
    assert run.status == SyncRunStatus.SUCCEEDED, run.error
    assert (run.total, run.done, run.sent, run.failed, run.skipped) == (5, 5, 5, 0, 0)
    assert not DriftFinding.objects.exists()
    assert sandbox.requests()[GET] == {"200": 5}


def test_a_contact_spotler_does_not_hold_is_missing(sandbox):
    pushed(2)
    lost_in_the_outbox("C-7")  # in the ledger, never sent
    run = reconcile()
    assert (run.sent, run.failed) == (2, 1)
    found = finding("C-7")
    assert (found.kind, found.contact.external_id, found.details) == (DriftKind.MISSING, "C-7", [])
    assert sandbox.requests()[GET] == {"200": 2, "404": 1}


def test_a_recipients_edit_in_spotler_is_a_field_that_differs_to_be_pulled(sandbox):
    pushed(2)
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    reconcile()
    found = finding("C-1")
    assert found.kind == DriftKind.FIELDS
    [line] = found.details
    assert (line["field"], line["ledger"], line["spotler"], line["fix"]) == (
        "firstName", "Anna 1", "Ann", "pull"
    )  # fmt: skip
    assert "changed in Spotler after the shop last changed it" in line["why"]


def test_a_shop_edit_that_never_reached_spotler_is_a_field_to_push(sandbox):
    pushed(2)
    lost_in_the_outbox("C-0", first_name="Anne-Marie", last_name="Visser")
    reconcile()
    found = finding("C-0")
    lines = {d["field"]: d for d in found.details}
    assert sorted(lines) == ["firstName", "lastName"]
    assert (lines["firstName"]["ledger"], lines["firstName"]["spotler"]) == ("Anne-Marie", "Anna 0")
    assert (lines["lastName"]["ledger"], lines["lastName"]["spotler"]) == ("Visser", None)
    assert {d["fix"] for d in found.details} == {"push"}


def test_a_field_the_linked_system_owns_is_pushed_back_whoever_changed_it(sandbox, admin_user):
    mapping_sends_city(admin_user)
    pushed(1, city="Utrecht")
    sandbox.control("POST", "contacts/C-0/edit", {"properties": {"city": "Amsterdam"}})
    reconcile()
    [line] = finding("C-0").details
    assert (line["field"], line["ledger"], line["spotler"], line["fix"]) == (
        "city", "Utrecht", "Amsterdam", "push"
    )  # fmt: skip
    assert "the linked system owns it" in line["why"]


def test_an_unsubscribe_in_spotler_is_consent_that_differs_to_be_pulled_not_pushed(sandbox):
    pushed(2)
    sandbox.control("POST", "contacts/C-1/unsubscribe", {"bit": 1})
    reconcile()
    found = finding("C-1")
    assert found.kind == DriftKind.CONSENT
    [line] = found.details
    assert (line["bit"], line["ledger"], line["spotler"], line["fix"]) == (1, True, False, "pull")


def test_an_unsubscribe_the_pull_read_is_kept_by_the_consent_rule_and_said_so(sandbox):
    pushed(2)
    pull_recent_changes()
    sandbox.control("POST", "contacts/C-1/unsubscribe", {"bit": 1})
    pull_recent_changes()  # the ledger now knows; the shop still says yes
    reconcile()
    [line] = finding("C-1").details
    assert (line["ledger"], line["spotler"], line["fix"]) == (True, False, "pull")
    assert "the consent rule keeps it off" in line["why"]


def test_consent_withdrawn_in_the_shop_that_never_reached_spotler_is_to_push(sandbox):
    pushed(2)
    lost_in_the_outbox("C-0", newsletter=False)
    reconcile()
    found = finding("C-0")
    assert found.kind == DriftKind.CONSENT
    [line] = found.details
    assert (line["bit"], line["ledger"], line["spotler"], line["fix"]) == (1, False, True, "push")


def test_external_ids_only_spotler_knows_are_unknown_to_the_ledger(sandbox):
    pushed(1)
    sandbox.control("POST", "contacts", {"externalId": "X-1", "properties": {
        "email": "x1@example.nl"}})  # fmt: skip
    sandbox.control("POST", "contacts/X-1/edit", {"properties": {"firstName": "Xavier"}})
    pull_recent_changes()
    UnknownContact.objects.create(external_id="C-0", source=SyncRunKind.PULL_UPDATES)  # known
    run = reconcile()
    found = finding("X-1")
    assert (found.kind, found.contact) == (DriftKind.UNKNOWN, None)
    assert found.details[0]["times_seen"] == 1
    assert not DriftFinding.objects.filter(external_id="C-0").exists()
    assert (run.sent, run.failed) == (1, 0)  # an id only Spotler knows is no ledger contact


def test_each_kind_of_drift_together_in_one_run(sandbox):
    pushed(5)
    lost_in_the_outbox("C-9")
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    sandbox.control("POST", "contacts/C-2/unsubscribe", {"bit": 1})
    UnknownContact.objects.create(external_id="X-2", source=SyncRunKind.PULL_BOUNCES)
    run = reconcile()
    kinds = dict(DriftFinding.objects.values_list("external_id", "kind"))
    assert kinds == {"C-9": "missing", "C-1": "fields", "C-2": "consent", "X-2": "unknown"}
    assert (run.total, run.done, run.sent, run.failed) == (6, 6, 3, 3)


def test_a_contact_being_pushed_is_skipped_not_reported(sandbox):
    pushed(3)
    upsert_contact(external_id="C-1", raw_fields=anna(1, first_name="Changed"))  # pending
    run = reconcile()
    assert (run.done, run.sent, run.skipped, run.failed) == (3, 2, 1, 0)
    assert not DriftFinding.objects.exists()
    assert sandbox.requests()[GET] == {"200": 2}


def test_contacts_spotler_should_not_hold_as_the_ledger_does_are_not_compared(sandbox):
    contacts = pushed(6)
    Contact.objects.filter(pk=contacts[0].pk).update(sync_status=SyncStatus.FAILED)
    Contact.objects.filter(pk=contacts[1].pk).update(sync_status=SyncStatus.HELD)
    Contact.objects.filter(pk=contacts[2].pk).update(sync_status=SyncStatus.LOCAL_ONLY)
    erase_contact(external_id="C-3")
    OutboxEntry.objects.filter(kind=OutboxKind.ANONYMIZE).update(status=OutboxStatus.DONE)
    run = reconcile()
    assert (run.total, run.sent) == (2, 2)
    assert sandbox.requests()[GET] == {"200": 2}


def test_an_inactive_contacts_permissions_are_not_compared_but_its_fields_are(sandbox):
    pushed(2)
    inactivate_contact(external_id="C-1")
    while push.push_one_batch() is not None:
        pass
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    run = reconcile()
    assert [f.kind for f in DriftFinding.objects.all()] == [DriftKind.FIELDS]
    assert (run.sent, run.failed) == (1, 1)


def test_a_sample_reads_that_many_contacts_at_random(sandbox):
    pushed(10)
    run = reconcile(sample=3)
    assert run.filters == {"sample": 3}
    assert (run.total, run.done, run.sent) == (3, 3, 3)
    assert sandbox.requests()[GET] == {"200": 3}
    assert len(set(run.checkpoint["ids"])) == 3
    assert reconcile(sample=50).total == 10  # never more than there are


@pytest.mark.parametrize("sample", [0, -1, "3", True])
def test_a_sample_must_be_a_number_of_contacts(db, sample):
    with pytest.raises(ValueError, match="A sample is a number of contacts"):
        runs.start_run(kind=SyncRunKind.RECONCILE, trigger="command", filters={"sample": sample})
    assert not SyncRun.objects.exists()


def test_a_run_resumes_from_its_checkpoint_and_compares_each_contact_once(sandbox, settings):
    pushed(engine.BATCH_SIZE + 10)
    lost_in_the_outbox("C-3", first_name="Early")  # in the first batch
    lost_in_the_outbox(f"C-{engine.BATCH_SIZE + 5}", first_name="Late")  # in the second
    run = runs.start_run(kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.SCHEDULE)
    runs.claim_run(run.pk)
    run.refresh_from_db()
    engine.prepare(run)
    assert engine.work(run.pk, until=time.monotonic()) is True  # one batch, then the worker dies
    run.refresh_from_db()
    assert (run.status, run.done) == (SyncRunStatus.RUNNING, engine.BATCH_SIZE)
    SyncRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(hours=1))
    [line] = runs.watch_runs()  # a scheduled run is resumed too, not failed
    assert line.startswith(f"run {run.pk} queued again")
    run = runs.execute_run(run.pk)
    assert run.status == SyncRunStatus.SUCCEEDED
    assert (run.total, run.done, run.failed) == (60, 60, 2)
    assert DriftFinding.objects.count() == 2
    assert gets(sandbox) == 60


def test_slices_on_the_queue_go_on_where_the_last_one_stopped(sandbox):
    pushed(engine.BATCH_SIZE + 10)
    run = runs.start_run(kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.COMMAND)
    runs.execute_run(run.pk, slice_seconds=0)  # one batch, then the next slice is queued
    run.refresh_from_db()
    assert (run.status, run.done) == (SyncRunStatus.RUNNING, engine.BATCH_SIZE)
    engine.work_slice(run.pk, slice_seconds=0)
    run.refresh_from_db()
    assert (run.status, run.done, run.sent) == (SyncRunStatus.SUCCEEDED, 60, 60)


def test_a_cancelled_run_stops_and_keeps_what_it_found(sandbox):
    pushed(engine.BATCH_SIZE + 10)
    lost_in_the_outbox("C-1", first_name="Early")
    run = runs.start_run(kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.COMMAND)
    runs.execute_run(run.pk, slice_seconds=0)
    runs.cancel_run(run)
    engine.work_slice(run.pk, slice_seconds=0)
    run.refresh_from_db()
    assert (run.status, run.done) == (SyncRunStatus.CANCELLED, engine.BATCH_SIZE)
    assert finding("C-1").kind == DriftKind.FIELDS


def test_spotler_refusing_our_credentials_fails_the_run_with_the_reason(sandbox, settings):
    pushed(2)
    settings.SPOTLER_CONSUMER_SECRET = "wrong"
    run = reconcile()
    assert run.status == SyncRunStatus.FAILED
    assert "Spotler refused our credentials" in run.error
    assert run.done == 0


def test_one_fetcher_reads_spotler_the_same_as_several(sandbox, settings):
    settings.SYNC_RECONCILE_FETCHERS = 1
    pushed(3)
    lost_in_the_outbox("C-5")
    run = reconcile()
    assert (run.sent, run.failed) == (3, 1)


@postgresql_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_on_one_run_record_each_contact_once(spotler_sandbox, catalogue, settings):
    spotler_sandbox.set(rate_limit=0)
    settings.SPOTLER_BASE_URL = spotler_sandbox.base_url
    settings.SPOTLER_RATE_LIMIT = 0
    pushed(engine.BATCH_SIZE * 2)
    for n in (1, 70):
        lost_in_the_outbox(f"C-{n}", first_name="Other")
    run = runs.start_run(kind=SyncRunKind.RECONCILE, trigger=SyncRunTrigger.COMMAND)
    runs.claim_run(run.pk)
    engine.prepare(SyncRun.objects.get(pk=run.pk))
    errors = run_at_once(lambda: engine.work(run.pk), lambda: engine.work(run.pk))
    assert errors == []
    run.refresh_from_db()
    assert (run.status, run.done, run.failed) == (SyncRunStatus.SUCCEEDED, 100, 2)
    assert DriftFinding.objects.count() == 2
