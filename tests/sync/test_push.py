"""The push: ledger changes reach the sandbox over real HTTP, or fail visibly with the reason."""

import threading

import pytest
from django.utils import timezone

from contacts.ingest import erase_contact, inactivate_contact, upsert_contact
from contacts.models import Contact, SyncStatus
from mapping.versions import current_version, save_version
from sync.models import OutboxEntry, OutboxStatus, SpotlerConsent, SyncEvent
from sync.push import push_one_batch
from tests.conftest import transactional

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "last_name": "de Vries",
        "newsletter": True}  # fmt: skip


@pytest.fixture
def sandbox(spotler_sandbox, catalogue):
    spotler_sandbox.set(rate_limit=0)
    return spotler_sandbox


@pytest.fixture
def client(spotler_client):
    return spotler_client


def spotler_holds(sandbox, external_id: str) -> dict:
    return sandbox.contact(external_id)


def test_a_contact_accepted_from_the_shop_reaches_spotler_through_the_mapping(sandbox, client):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    run = push_one_batch(client=client)
    assert (run.sent, run.failed) == (1, 0)
    held = spotler_holds(sandbox, "C-1")
    assert held["properties"]["firstName"] == "Anna"
    assert held["properties"]["email"] == "anna@example.nl"
    assert {p["bit"]: p["enabled"] for p in held["properties"]["permissions"]}[1] is True
    contact = Contact.objects.get(external_id="C-1")
    assert contact.sync_status == SyncStatus.SYNCED
    assert not OutboxEntry.objects.pending().exists()
    [event] = SyncEvent.objects.filter(contact=contact)
    assert event.ok
    assert event.payload["properties"]["firstName"] == "Anna"


def test_several_pending_changes_of_one_contact_become_one_call(sandbox, client):
    for name in ("Ann", "Anne", "Anna"):
        upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": name})
    push_one_batch(client=client)
    assert sandbox.requests()["POST contact"] == {"204": 1}
    assert spotler_holds(sandbox, "C-1")["properties"]["firstName"] == "Anna"


def test_a_value_spotler_refuses_fails_visibly_with_spotlers_reason_and_is_kept(
    sandbox, client, admin_user
):
    rows = [*current_version().rows, {"source_fields": ["postcode"], "property": "postalCode",
            "type": "postcode"}]  # fmt: skip
    save_version(rows=rows, author=admin_user)
    upsert_contact(external_id="C-2", raw_fields={**ANNA, "postcode": "not a postcode"})
    run = push_one_batch(client=client)
    assert run.failed == 1
    contact = Contact.objects.get(external_id="C-2")
    assert contact.sync_status == SyncStatus.FAILED
    # Spotler's words first, once; then the value it refused, which Spotler does not name.
    assert contact.sync_error.startswith(
        "Spotler: “Property is invalid” (400 INVALID_PARAMS). Refused value: postalCode (from "
        "the shop's postcode) “not a postcode” is not a Dutch postcode such as 1234 AB."
    )
    assert contact.sync_error.count("Spotler said") == contact.sync_error.count("answered") == 0
    assert OutboxEntry.objects.get(contact=contact).status == OutboxStatus.FAILED


def test_a_spotler_outage_leaves_the_change_pending_with_a_later_retry(sandbox, client):
    upsert_contact(external_id="C-3", raw_fields=ANNA)
    sandbox.set(error_rate=1.0)
    run = push_one_batch(client=client)
    assert (run.sent, run.failed) == (0, 0)
    entry = OutboxEntry.objects.get(contact__external_id="C-3")
    assert entry.status == OutboxStatus.PENDING
    assert entry.attempts == 1
    assert entry.not_before > timezone.now()
    assert "it will be tried again" in entry.last_error
    assert Contact.objects.get(external_id="C-3").sync_status == SyncStatus.PENDING
    assert push_one_batch(client=client) is None  # not before its time

    sandbox.set(error_rate=0.0)
    OutboxEntry.objects.update(not_before=None)
    assert push_one_batch(client=client).sent == 1
    assert Contact.objects.get(external_id="C-3").sync_status == SyncStatus.SYNCED


def test_retries_wait_as_sync_push_backoff_seconds_says_the_last_wait_repeating(
    sandbox, client, settings
):
    settings.SYNC_PUSH_BACKOFF_SECONDS = [5, 60]
    upsert_contact(external_id="C-3", raw_fields=ANNA)
    sandbox.set(error_rate=1.0)
    waits = []
    for _ in range(3):
        OutboxEntry.objects.update(not_before=None)
        before = timezone.now()
        push_one_batch(client=client)
        waits.append(round((OutboxEntry.objects.get().not_before - before).total_seconds()))
    assert waits == [5, 60, 60]


def test_a_push_never_switches_on_a_permission_the_contact_switched_off_in_spotler(sandbox, client):
    upsert_contact(external_id="C-4", raw_fields=ANNA)
    push_one_batch(client=client)
    sandbox.control("POST", "contacts/C-4/unsubscribe", json={"bit": 1})
    contact = Contact.objects.get(external_id="C-4")
    SpotlerConsent.objects.create(contact=contact, bit=1, enabled=False, changed_at=timezone.now())

    upsert_contact(external_id="C-4", raw_fields={**ANNA, "first_name": "Annie"})
    push_one_batch(client=client)
    held = spotler_holds(sandbox, "C-4")
    assert held["properties"]["firstName"] == "Annie"
    assert {p["bit"]: p["enabled"] for p in held["properties"]["permissions"]}[1] is False
    event = SyncEvent.objects.filter(contact=contact).first()
    assert "permission 1 kept off" in event.answer


def test_a_deleted_customer_is_anonymized_in_spotler(sandbox, client):
    upsert_contact(external_id="C-5", raw_fields=ANNA)
    push_one_batch(client=client)
    erase_contact(external_id="C-5")
    push_one_batch(client=client)
    held = spotler_holds(sandbox, "C-5")
    assert held["anonymized"] is True
    assert "anna@example.nl" not in str(held)
    contact = Contact.objects.get(external_id_hash__isnull=False, erased_at__isnull=False)
    assert contact.sync_status == SyncStatus.ANONYMIZED
    assert not OutboxEntry.objects.exclude(external_id="").exists()


def test_an_inactivated_customer_is_blacklisted_in_spotler(sandbox, client):
    upsert_contact(external_id="C-6", raw_fields=ANNA)
    inactivate_contact(external_id="C-6")
    push_one_batch(client=client)
    assert spotler_holds(sandbox, "C-6")["blacklisted"] is True
    assert Contact.objects.get(external_id="C-6").sync_status == SyncStatus.INACTIVE
    # Sent before the blacklisting, the upsert switched no permission on: had the blacklisting
    # failed for a while, the contact would not have been mailed meanwhile.
    upsert = SyncEvent.objects.get(contact__external_id="C-6", kind="push")
    sent = upsert.payload["properties"].get("permissions", [])
    assert not [p for p in sent if p["enabled"]]


def test_a_contact_without_a_valid_email_is_not_sent_and_says_why(sandbox, client, admin_user):
    upsert_contact(external_id="C-7", raw_fields={**ANNA, "email": "anna@example.nl"})
    rows = [r for r in current_version().rows if r["property"] != "email"]
    rows.insert(0, {"source_fields": ["missing"], "property": "email", "type": "email"})
    save_version(rows=rows, author=admin_user)
    push_one_batch(client=client)
    contact = Contact.objects.get(external_id="C-7")
    assert contact.sync_status == SyncStatus.FAILED
    assert "Spotler needs an e-mail" in contact.sync_error
    assert "POST contact" not in sandbox.requests()


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_its_lease(sandbox, client):
    upsert_contact(external_id="C-8", raw_fields=ANNA)
    OutboxEntry.objects.update(
        status=OutboxStatus.IN_FLIGHT, claim="dead", claimed_at=timezone.now()
    )
    assert push_one_batch(client=client) is None  # still leased
    OutboxEntry.objects.update(claimed_at=timezone.now() - timezone.timedelta(minutes=11))
    assert push_one_batch(client=client).sent == 1


@transactional
def test_two_workers_pushing_at_once_never_push_one_contact_twice(sandbox, catalogue):
    """Real concurrency needs row locks: PostgreSQL only (SQLite runs writers one by one)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("row locks and real concurrency: PostgreSQL only")
    for n in range(40):
        upsert_contact(external_id=f"C-{n}", raw_fields={**ANNA, "email": f"a{n}@example.nl"})
    claimed: list[list[int]] = []

    def worker():
        from sync.push_claims import claim_contacts

        for _ in range(10):
            _token, ids = claim_contacts(limit=5)
            claimed.append(ids)
        connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [pk for batch in claimed for pk in batch]
    assert len(ids) == len(set(ids)) == 40


@transactional
def test_a_change_accepted_through_the_api_reaches_spotler_within_seconds_on_the_real_queue(
    sandbox, catalogue
):
    from django.test import Client

    from contacts.models import TokenScope
    from contacts.tokens import create_api_token
    from tests.helpers import wait_for
    from tests.queue_cluster import running_cluster

    token = create_api_token(name="shop", scope=TokenScope.WRITE).secret
    env = {"SPOTLER_BASE_URL": sandbox.base_url}
    with running_cluster(workers=2, extra_env=env):
        response = Client().put(
            "/api/v1/contacts/C-77", data={**ANNA, "first_name": "Live"},
            content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}",
        )  # fmt: skip
        assert response.status_code == 202

        def arrived() -> bool:
            try:
                return spotler_holds(sandbox, "C-77")["properties"]["firstName"] == "Live"
            except Exception:
                return False

        assert wait_for(arrived, seconds=20)
        assert wait_for(
            lambda: Contact.objects.get(external_id="C-77").sync_status == SyncStatus.SYNCED
        )


def test_a_burst_of_changes_goes_a_hundred_contacts_a_call(sandbox, client):
    for n in range(150):
        upsert_contact(external_id=f"B-{n}", raw_fields={**ANNA, "email": f"b{n}@example.nl"})
    run = push_one_batch(client=client)
    assert (run.sent, run.failed) == (150, 0)
    assert sandbox.requests()["POST contact/list"] == {"200": 2}
    assert "POST contact" not in sandbox.requests()
    assert spotler_holds(sandbox, "B-149")["properties"]["email"] == "b149@example.nl"
    assert Contact.objects.filter(sync_status=SyncStatus.SYNCED).count() == 150


def test_in_a_burst_the_contact_spotler_refuses_fails_alone_with_spotlers_reason(
    sandbox, client, admin_user
):
    rows = [*current_version().rows, {"source_fields": ["postcode"], "property": "postalCode",
            "type": "postcode"}]  # fmt: skip
    save_version(rows=rows, author=admin_user)
    for n in range(12):
        postcode = "not a postcode" if n == 5 else "3511 AB"
        upsert_contact(external_id=f"B-{n}", raw_fields={**ANNA, "email": f"b{n}@example.nl",
                                                        "postcode": postcode})  # fmt: skip
    run = push_one_batch(client=client)
    assert (run.sent, run.failed) == (11, 1)
    failed = Contact.objects.get(sync_status=SyncStatus.FAILED)
    assert failed.external_id == "B-5"
    assert failed.sync_error.startswith("Spotler: “Property is invalid” (PROPERTY_INVALID).")
    assert "Refused value: postalCode (from the shop's postcode) “not a postcode”" in (
        failed.sync_error
    )
