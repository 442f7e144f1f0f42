"""An Admin releases a contact held for review: send it (Spotler merges it, as Spotler would),
merge it into the other contact, or keep it local only; each answer audited, and visible on the
contact page, the contacts list, home, the Health page and the API."""

import re

import pytest
from django.test import Client
from django.urls import reverse

from audit.models import AuditEntry
from contacts.ingest import upsert_contact
from contacts.models import Contact, SyncStatus, TokenScope
from contacts.tokens import create_api_token
from identity.models import DedupeMode
from sync import runs
from sync.backfill import hold_contacts
from sync.models import OutboxEntry, OutboxStatus, SyncRunKind, SyncRunTrigger
from sync.push import push_one_batch
from tests.conftest import make_user
from tests.sync.helpers import dedupe_on, in_spotler

ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}
BOB = {"email": "Anna@Example.nl", "first_name": "Bob", "newsletter": True}


@pytest.fixture
def sandbox(email_sandbox):
    return email_sandbox


@pytest.fixture
def held(sandbox, spotler_client) -> Contact:
    """C-1 is in Spotler; C-2, a new customer with C-1's address, is held for review."""
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=spotler_client)
    upsert_contact(external_id="C-2", raw_fields=BOB)
    push_one_batch(client=spotler_client)
    contact = Contact.objects.get(external_id="C-2")
    assert contact.sync_status == SyncStatus.HELD
    return contact


@pytest.fixture
def admin(client, admin_user) -> Client:
    client.force_login(admin_user)
    return client


def release(client: Client, external_id: str, decision: str):
    url = reverse("sync:contact-release", args=[external_id])
    return client.post(url, {"decision": decision}, follow=True)


def page_messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def state(external_id: str) -> tuple[str, str]:
    contact = Contact.objects.get(external_id=external_id)
    return contact.sync_status, contact.identity_decision


def test_sending_a_held_contact_anyway_merges_it_in_spotler_as_spotler_would(
    held, admin, sandbox, spotler_client, admin_user
):
    response = release(admin, "C-2", "send")

    assert page_messages(response) == [
        "C-2 goes to Spotler in a few seconds. Spotler deduplicates on e-mail, so it merges it "
        "into C-1's Spotler contact, which then carries C-2 as its external id."
    ]
    assert state("C-2") == (SyncStatus.PENDING, "send")
    assert OutboxEntry.objects.get(contact=held).status == OutboxStatus.PENDING
    assert push_one_batch(client=spotler_client).sent == 1
    assert state("C-2") == (SyncStatus.SYNCED, "send")
    assert list(in_spotler(sandbox)) == ["C-2"]  # one Spotler contact, now C-2's
    assert in_spotler(sandbox)["C-2"]["properties"]["firstName"] == "Bob"
    [entry] = AuditEntry.objects.filter(action="hold released")
    assert (entry.actor, entry.object_type, entry.object_label) == (admin_user, "contact", "C-2")
    assert entry.changes["decision"] == ["", "send"]
    assert entry.changes["other_contact"] == [None, "C-1"]


def test_merging_a_held_contact_sends_nothing_now_or_when_the_shop_changes_it(
    held, admin, sandbox, spotler_client
):
    response = release(admin, "C-2", "merge")
    assert page_messages(response) == [
        "C-2 is merged into C-1: nothing of it is sent to Spotler, now or when the shop changes it."
    ]
    assert state("C-2") == (SyncStatus.MERGED, "merge")
    assert OutboxEntry.objects.get(contact=held).status == OutboxStatus.SUPERSEDED
    calls = sandbox.requests()

    upsert_contact(external_id="C-2", raw_fields={**BOB, "first_name": "Bobby"})
    assert push_one_batch(client=spotler_client) is None
    assert sandbox.requests() == calls  # nothing went to Spotler
    assert state("C-2") == (SyncStatus.MERGED, "merge")
    latest = OutboxEntry.objects.filter(contact=held).latest("pk")
    assert latest.status == OutboxStatus.SUPERSEDED
    assert latest.last_error.startswith("Not sent: an Admin merged this contact")
    assert list(in_spotler(sandbox)) == ["C-1"]
    assert in_spotler(sandbox)["C-1"]["properties"]["firstName"] == "Anna"

    page = admin.get(reverse("contacts:contact-detail", args=["C-2"])).content.decode()
    assert "Merged into C-1: nothing of it is sent to Spotler." in page
    assert "Changes from the shop are kept here, and not sent" in page
    assert 'data-testid="release-send">Send to Spotler after all</button>' in page
    assert 'data-testid="release-merge"' not in page


def test_a_contact_kept_local_only_is_never_sent_not_even_by_a_backfill(
    held, admin, sandbox, spotler_client
):
    release(admin, "C-2", "local")
    assert state("C-2") == (SyncStatus.LOCAL_ONLY, "local")
    upsert_contact(external_id="C-2", raw_fields={**BOB, "first_name": "Bobby"})
    assert push_one_batch(client=spotler_client) is None
    run = runs.execute_run(
        runs.start_run(kind=SyncRunKind.BACKFILL, trigger=SyncRunTrigger.COMMAND).pk
    )
    assert (run.total, run.sent) == (1, 1)  # C-1 alone
    assert list(in_spotler(sandbox)) == ["C-1"]
    assert state("C-2") == (SyncStatus.LOCAL_ONLY, "local")


def test_an_admin_sends_a_merged_contact_after_all(held, admin, sandbox, spotler_client):
    release(admin, "C-2", "merge")
    response = release(admin, "C-2", "send")
    assert "C-2 goes to Spotler in a few seconds" in page_messages(response)[0]
    assert push_one_batch(client=spotler_client).sent == 1
    assert state("C-2") == (SyncStatus.SYNCED, "send")
    assert list(in_spotler(sandbox)) == ["C-2"]
    decisions = AuditEntry.objects.filter(action="hold released").order_by("pk")
    assert [e.changes["decision"] for e in decisions] == [["", "merge"], ["merge", "send"]]


def test_under_external_id_deduplication_sending_a_held_contact_makes_a_contact_of_its_own(
    held, admin, sandbox, spotler_client
):
    sandbox.set(dedupe="externalId")
    dedupe_on(DedupeMode.EXTERNAL_ID)
    response = release(admin, "C-2", "send")
    assert page_messages(response) == [
        "C-2 goes to Spotler in a few seconds, as a contact of its own (the account "
        "deduplicates on external id)."
    ]
    push_one_batch(client=spotler_client)
    assert sorted(in_spotler(sandbox)) == ["C-1", "C-2"]


def test_a_second_answer_to_the_same_hold_says_so_and_changes_nothing(held, admin):
    release(admin, "C-2", "local")
    response = release(admin, "C-2", "local")
    assert page_messages(response) == ["C-2 was already released this way; nothing was changed."]
    assert AuditEntry.objects.filter(action="hold released").count() == 1


def test_an_unknown_answer_is_refused_and_writes_nothing(held, admin):
    response = release(admin, "C-2", "delete")
    assert page_messages(response) == ["Choose send, merge or keep local only."]
    assert state("C-2") == (SyncStatus.HELD, "")
    assert not AuditEntry.objects.filter(action="hold released").exists()


def test_a_contact_that_is_not_held_cannot_be_released(held, admin):
    response = release(admin, "C-1", "merge")
    assert page_messages(response) == [
        "C-1 is not held for review (it is synced); nothing was changed."
    ]
    assert state("C-1") == (SyncStatus.SYNCED, "")


def test_only_an_admin_releases_a_hold_and_only_with_the_forms_csrf_token(held, marketer):
    client = Client()
    client.force_login(marketer)
    assert release(client, "C-2", "send").status_code == 403
    admin_user = make_user("admin2", role="Admin")
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert release(strict, "C-2", "send").status_code == 403
    assert state("C-2") == (SyncStatus.HELD, "")


def test_the_contact_page_shows_the_hold_its_reason_the_other_contact_and_the_answers(
    held, admin, marketer
):
    page = admin.get(reverse("contacts:contact-detail", args=["C-2"])).content.decode()
    assert "Not sent to Spotler: it would merge into another contact there." in page
    assert "C-1 is in Spotler already with the same e-mail address." in page
    assert f'<a href="{reverse("contacts:contact-detail", args=["C-1"])}">C-1</a>' in page
    buttons = re.findall(r'data-testid="release-(\w+)">([^<]+)</button>', page)
    assert buttons == [
        ("send", "Send to Spotler anyway"),
        ("merge", "Merge into C-1"),
        ("local", "Keep local only"),
    ]
    assert "merges it into C-1's contact, which then carries C-2 as its external id" in page
    assert 'data-testid="push-now"' not in page  # the answers replace it
    assert "Held for review: upsert" in page  # the held change, on the timeline

    as_marketer = Client()
    as_marketer.force_login(marketer)
    page = as_marketer.get(reverse("contacts:contact-detail", args=["C-2"])).content.decode()
    assert "C-1 is in Spotler already" in page
    assert 'data-testid="release-form"' not in page
    assert "An Admin decides: send it anyway" in page


def test_the_contacts_list_filters_held_contacts_and_shows_the_badge_and_reason(held, admin):
    page = admin.get(reverse("contacts:contact-list"), {"state": "held"})
    assert [c.external_id for c in page.context["listing"].contacts] == ["C-2"]
    counts = {c.value: c.count for c in page.context["listing"].state_counts}
    assert (counts["held"], counts["synced"]) == (1, 1)
    text = page.content.decode()
    assert '<span class="badge badge-held" data-testid="sync-state">held for review</span>' in text
    assert "C-1 is in Spotler already" in text


def test_home_and_health_count_the_held_contacts_with_a_link_to_them(held, admin):
    home = admin.get(reverse("home")).content.decode()
    card = re.search(r'data-testid="held-contacts">(.*?)</article>', home, re.S).group(1)
    assert '<p class="figure state-warning">1</p>' in card
    assert f'href="{reverse("contacts:contact-list")}?state=held"' in card
    health = admin.get(reverse("sync:health")).content.decode()
    assert "1 contact held for review" in health


def test_home_says_no_address_waits_once_the_hold_is_answered(held, admin):
    release(admin, "C-2", "local")
    home = admin.get(reverse("home")).content.decode()
    card = re.search(r'data-testid="held-contacts">(.*?)</article>', home, re.S).group(1)
    assert '<p class="figure state-good">0</p>' in card
    assert "no address waits for a decision" in card


def test_the_api_reports_the_hold_and_the_other_contact(held, client):
    secret = create_api_token(name="shop", scope=TokenScope.READ).secret
    body = client.get("/api/v1/contacts/C-2", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert body["sync_status"] == "held"
    assert body["shares_address_with"] == "C-1"
    assert body["sync_error"].startswith("C-1 is in Spotler already")
    other = client.get("/api/v1/contacts/C-1", HTTP_AUTHORIZATION=f"Bearer {secret}").json()
    assert (other["sync_status"], other["shares_address_with"]) == ("synced", None)


def test_a_backfill_sends_a_held_contact_whose_clash_is_gone_and_it_is_no_longer_held(
    held, admin, spotler_client
):
    # C-1 moves to another address; a backfill then takes C-2, which no longer clashes.
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "email": "anna@elsewhere.nl"})
    push_one_batch(client=spotler_client)
    _, sending = hold_contacts([held.pk])
    assert sending == [held.pk]
    assert state("C-2") == (SyncStatus.PENDING, "")
    # An answer while it is sent is refused: "kept local only" would not stop it.
    response = release(admin, "C-2", "local")
    assert page_messages(response) == [
        "C-2 is not held for review (it is pending); nothing was changed."
    ]
    assert state("C-2") == (SyncStatus.PENDING, "")
    assert not AuditEntry.objects.filter(action="hold released").exists()
