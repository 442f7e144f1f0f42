"""The guard on push: under e-mail deduplication a new external id whose address another contact
holds is held for review instead of merging into (and rewriting) that contact in Spotler."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from contacts.ingest import erase_contact, upsert_contact
from contacts.models import Contact, SyncStatus
from identity.models import DedupeMode
from sync import runs
from sync.models import OutboxEntry, OutboxStatus, SyncRunKind, SyncRunStatus, SyncRunTrigger
from sync.push import push_one_batch
from sync.push_claims import claim_contacts
from tests.conftest import transactional
from tests.helpers import postgresql_only, run_at_once
from tests.sync.helpers import dedupe_on, in_spotler, shop_has

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}
BOB = {"email": "ANNA@Example.NL", "first_name": "Bob", "newsletter": True}


@pytest.fixture
def sandbox(email_sandbox):
    return email_sandbox


@pytest.fixture
def client(spotler_client):
    return spotler_client


def contact(external_id: str) -> Contact:
    return Contact.objects.get(external_id=external_id)


def test_without_the_guard_spotler_merges_a_second_id_into_the_first_and_rewrites_it(
    sandbox, client
):
    """What the guard prevents: told nothing of the account's mode, a push sends blindly."""
    dedupe_on(DedupeMode.EXTERNAL_ID)
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=client)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    push_one_batch(client=client)
    assert list(in_spotler(sandbox)) == ["C-2"]  # C-1's Spotler contact is now C-2's
    assert in_spotler(sandbox)["C-2"]["properties"]["firstName"] == "Bob"


def test_a_second_id_with_an_address_spotler_has_is_held_and_spotlers_contact_is_untouched(
    sandbox, client
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=client)
    upsert_contact(external_id="C-2", raw_fields=BOB)

    run = push_one_batch(client=client)

    assert run is None  # nothing went out: the one contact claimed was held
    assert list(in_spotler(sandbox)) == ["C-1"]
    assert in_spotler(sandbox)["C-1"]["properties"]["firstName"] == "Anna"
    assert sandbox.requests()["POST contact"] == {"204": 1}  # C-1's own push only
    held = contact("C-2")
    assert held.sync_status == SyncStatus.HELD
    assert held.held_twin == contact("C-1")
    assert held.sync_error.startswith("C-1 is in Spotler already with the same e-mail address.")
    assert "sending C-2 would merge it into C-1's Spotler contact" in held.sync_error
    entry = OutboxEntry.objects.get(contact=held)
    assert (entry.status, entry.last_error) == (OutboxStatus.HELD, held.sync_error)


def test_a_held_change_is_not_retried_by_the_schedule(sandbox, client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    push_one_batch(client=client)
    assert push_one_batch(client=client) is None
    assert claim_contacts(limit=100) == ("", [])
    assert OutboxEntry.objects.get(contact__external_id="C-2").status == OutboxStatus.HELD


def test_by_external_id_nothing_is_held_and_spotler_keeps_two_contacts(sandbox, client):
    sandbox.set(dedupe="externalId")
    dedupe_on(DedupeMode.EXTERNAL_ID)
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    run = push_one_batch(client=client)
    assert run.sent == 2
    assert sorted(in_spotler(sandbox)) == ["C-1", "C-2"]
    assert not Contact.objects.filter(sync_status=SyncStatus.HELD).exists()


def test_of_two_new_contacts_with_one_address_in_one_batch_the_first_goes(sandbox, client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    run = push_one_batch(client=client)
    assert (run.total, run.sent) == (1, 1)
    assert list(in_spotler(sandbox)) == ["C-1"]
    assert contact("C-1").sync_status == SyncStatus.SYNCED
    assert contact("C-2").sync_status == SyncStatus.HELD
    assert "C-1 came first, to go to Spotler first, with the same e-mail address" in (
        contact("C-2").sync_error
    )


def test_a_burst_sent_100_a_call_holds_the_second_of_an_address_and_sends_the_rest(sandbox, client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    for n in range(20):
        upsert_contact(external_id=f"B-{n}", raw_fields={**ANNA, "email": f"b{n}@example.nl"})
    upsert_contact(external_id="C-2", raw_fields=BOB)
    run = push_one_batch(client=client)
    assert (run.total, run.sent) == (21, 21)
    assert sandbox.requests()["POST contact/list"] == {"200": 1}
    assert "C-2" not in in_spotler(sandbox)
    assert in_spotler(sandbox)["C-1"]["properties"]["firstName"] == "Anna"
    held = Contact.objects.filter(sync_status=SyncStatus.HELD)
    assert list(held.values_list("external_id", flat=True)) == ["C-2"]


def test_an_existing_contact_changing_to_anothers_address_is_updated_not_held(sandbox, client):
    """Spotler merges only a new external id: an update of one it has stays that contact."""
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    upsert_contact(external_id="C-2", raw_fields={**BOB, "email": "bob@example.nl"})
    push_one_batch(client=client)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    push_one_batch(client=client)
    assert contact("C-2").sync_status == SyncStatus.SYNCED
    assert sorted(in_spotler(sandbox)) == ["C-1", "C-2"]


def test_a_later_change_from_the_shop_sends_a_held_contact_once_its_address_is_its_own(
    sandbox, client
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=client)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    push_one_batch(client=client)

    upsert_contact(external_id="C-2", raw_fields={**BOB, "first_name": "Bobby"})
    push_one_batch(client=client)
    assert contact("C-2").sync_status == SyncStatus.HELD  # still Anna's address
    assert OutboxEntry.objects.filter(status=OutboxStatus.HELD).count() == 2

    upsert_contact(external_id="C-2", raw_fields={**BOB, "email": "bob@example.nl"})
    run = push_one_batch(client=client)
    assert run.sent == 1
    bob = contact("C-2")
    assert (bob.sync_status, bob.held_twin, bob.sync_error) == (SyncStatus.SYNCED, None, "")
    assert in_spotler(sandbox)["C-2"]["properties"]["email"] == "bob@example.nl"
    assert in_spotler(sandbox)["C-1"]["properties"]["email"] == "anna@example.nl"
    # The changes it held went out with it.
    assert set(OutboxEntry.objects.filter(contact=bob).values_list("status", flat=True)) == {
        OutboxStatus.DONE
    }


def test_a_backfill_holds_the_second_contact_of_an_address_too(sandbox):
    shop_has(3)
    upsert_contact(external_id="C-9", raw_fields={**BOB, "email": "C1@example.nl"})
    OutboxEntry.objects.update(status=OutboxStatus.DONE)
    run = runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND)
    run = runs.execute_run(run.pk)
    assert run.status == SyncRunStatus.SUCCEEDED
    assert (run.total, run.sent, run.skipped) == (4, 3, 1)
    assert sorted(in_spotler(sandbox)) == ["C-0", "C-1", "C-2"]
    held = contact("C-9")
    assert (held.sync_status, held.held_twin) == (SyncStatus.HELD, contact("C-1"))
    assert OutboxEntry.objects.get(contact=held, status=OutboxStatus.HELD)


def test_erasing_a_held_contact_settles_its_held_changes(sandbox, client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    held = upsert_contact(external_id="C-2", raw_fields=BOB).contact
    push_one_batch(client=client)
    erase_contact(external_id="C-2")
    push_one_batch(client=client)
    assert not OutboxEntry.objects.filter(status=OutboxStatus.HELD).exists()
    held.refresh_from_db()
    assert held.sync_status == SyncStatus.ANONYMIZED


def test_screening_a_batch_costs_the_same_few_queries_for_ten_contacts_or_a_hundred(sandbox):
    def claim_queries(count: int, prefix: str) -> int:
        for n in range(count):
            email = f"{prefix}{n}@example.nl"
            upsert_contact(external_id=f"{prefix}-{n}", raw_fields={**ANNA, "email": email})
        with CaptureQueriesContext(connection) as queries:
            _token, ids = claim_contacts(limit=500)
        assert len(ids) == count
        OutboxEntry.objects.update(status=OutboxStatus.DONE)
        return len(queries)

    dedupe_on(DedupeMode.EXTERNAL_ID)
    by_id = claim_queries(10, "a")
    assert claim_queries(100, "b") == by_id
    dedupe_on(DedupeMode.EMAIL)
    by_email = claim_queries(10, "c")
    assert claim_queries(100, "d") == by_email
    # One read of every contact at those addresses (the mode is read, and under e-mail
    # deduplication the account's row locked, by the one query both modes make).
    assert by_email - by_id == 1


@postgresql_only
@transactional
def test_two_workers_pushing_two_new_contacts_of_one_address_at_once_send_one(sandbox, client):
    for attempt in range(5):
        first = upsert_contact(external_id=f"A-{attempt}", raw_fields=ANNA).contact
        second = upsert_contact(external_id=f"B-{attempt}", raw_fields=BOB).contact
        errors = run_at_once(
            lambda first=first: push_one_batch(client=client, only=[first.pk]),
            lambda second=second: push_one_batch(client=client, only=[second.pk]),
        )
        assert errors == []
        states = sorted(
            Contact.objects.filter(pk__in=[first.pk, second.pk]).values_list(
                "sync_status", flat=True
            )
        )
        assert states == [SyncStatus.HELD, SyncStatus.SYNCED]
        Contact.objects.filter(pk__in=[first.pk, second.pk]).update(email=f"x{attempt}@x.nl")
        sandbox.reset()
        sandbox.set(rate_limit=0, dedupe="email")
