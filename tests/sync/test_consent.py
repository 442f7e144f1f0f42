from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from contacts.batch import upsert_contacts
from contacts.ingest import upsert_contact
from contacts.models import Contact
from mapping.current import mapping_in_force
from sync.consent import guard_permissions, shop_consent_changed_at
from sync.models import SpotlerConsent, SyncEvent, SyncRunStatus
from sync.pull import pull_updates
from sync.push import push_one_batch

MONDAY = datetime(2026, 11, 16, 9, 0, tzinfo=UTC)
LATER = MONDAY + timedelta(days=1)
EARLIER = MONDAY - timedelta(days=1)
ON_1 = {"bit": 1, "enabled": True}


def test_a_push_never_switches_on_a_permission_the_contact_switched_off_in_spotler():
    allowed, held = guard_permissions(
        [ON_1, {"bit": 2, "enabled": True}],
        spotler_off_at={1: MONDAY},
        shop_changed_at={1: EARLIER},
    )
    assert allowed == [{"bit": 2, "enabled": True}]
    assert [h.bit for h in held] == [1]
    assert "switched it off in Spotler on 2026-11-16 09:00" in str(held[0])


def test_a_consent_given_again_in_the_shop_after_the_unsubscribe_is_sent():
    allowed, held = guard_permissions(
        [ON_1], spotler_off_at={1: MONDAY}, shop_changed_at={1: LATER}
    )
    assert allowed == [ON_1]
    assert held == []


def test_when_the_shop_change_time_is_unknown_spotlers_off_wins():
    allowed, held = guard_permissions([ON_1], spotler_off_at={1: MONDAY}, shop_changed_at={})
    assert allowed == []
    assert held[0].bit == 1


def test_a_change_at_the_very_same_moment_does_not_override_the_unsubscribe():
    allowed, _ = guard_permissions([ON_1], spotler_off_at={1: MONDAY}, shop_changed_at={1: MONDAY})
    assert allowed == []


def test_switching_off_and_bits_spotler_never_switched_off_always_go_through():
    off = {"bit": 1, "enabled": False}
    assert guard_permissions([off], spotler_off_at={1: MONDAY}, shop_changed_at={}) == ([off], [])
    assert guard_permissions([ON_1], spotler_off_at={}, shop_changed_at={}) == ([ON_1], [])


# End to end: the shop through the ledger, Spotler's side through the sandbox and the pull.

NEWSLETTER_BIT = 1
ANNA = {"email": "anna@example.nl", "first_name": "Anna", "newsletter": True}


@pytest.fixture
def client(spotler_client):
    return spotler_client


def pull(client) -> None:
    now = timezone.now()
    run = pull_updates(
        since=now - timedelta(hours=1), until=now + timedelta(seconds=1), client=client
    )
    assert run.status == SyncRunStatus.SUCCEEDED, run.error


def newsletter_in_spotler(sandbox, external_id: str) -> bool:
    permissions = sandbox.contact(external_id)["properties"]["permissions"]
    return {p["bit"]: p["enabled"] for p in permissions}[NEWSLETTER_BIT]


def unsubscribed_in_spotler(client, sandbox, external_id: str = "C-1") -> None:
    """The shop's contact reached Spotler subscribed; then the recipient unsubscribed there."""
    upsert_contact(external_id=external_id, raw_fields=ANNA)
    push_one_batch(client=client)
    pull(client)  # Spotler's state as our push left it
    sandbox.control("POST", f"contacts/{external_id}/unsubscribe", json={"bit": NEWSLETTER_BIT})
    pull(client)
    consent = SpotlerConsent.objects.get(contact__external_id=external_id, bit=NEWSLETTER_BIT)
    assert consent.enabled is False


def test_a_stale_yes_resent_with_another_edit_does_not_undo_an_unsubscribe(client, spotler_sandbox):
    unsubscribed_in_spotler(client, spotler_sandbox)

    # The shop has not read the feed: it sends its old "newsletter: true" with a new name.
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"})
    push_one_batch(client=client)

    assert spotler_sandbox.contact("C-1")["properties"]["firstName"] == "Anne"
    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False
    event = SyncEvent.objects.filter(contact__external_id="C-1").first()
    assert "permission 1 kept off" in event.answer


def test_a_real_resubscription_in_the_shop_after_the_unsubscribe_switches_it_on_again(
    client, spotler_sandbox
):
    unsubscribed_in_spotler(client, spotler_sandbox)
    # The shop reads the feed and records the unsubscribe; later the customer ticks the box again.
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": False})
    push_one_batch(client=client)
    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False

    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": True})
    push_one_batch(client=client)

    assert newsletter_in_spotler(spotler_sandbox, "C-1") is True
    event = SyncEvent.objects.filter(contact__external_id="C-1").first()
    assert event.ok
    assert "kept off" not in event.answer
    # What we know of Spotler follows our accepted push; its echo is no change of the recipient's.
    assert SpotlerConsent.objects.get(bit=NEWSLETTER_BIT).enabled is True
    pull(client)
    assert SpotlerConsent.objects.get(bit=NEWSLETTER_BIT).enabled is True
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"})
    push_one_batch(client=client)
    assert newsletter_in_spotler(spotler_sandbox, "C-1") is True


def test_an_unsubscribe_after_the_shops_resubscription_wins_again(client, spotler_sandbox):
    unsubscribed_in_spotler(client, spotler_sandbox)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": False})
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": True})
    push_one_batch(client=client)
    assert newsletter_in_spotler(spotler_sandbox, "C-1") is True

    spotler_sandbox.control("POST", "contacts/C-1/unsubscribe", json={"bit": NEWSLETTER_BIT})
    pull(client)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"})
    push_one_batch(client=client)

    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False


def test_a_resubscription_sent_in_a_batch_reaches_spotler_in_a_batched_push(
    client, spotler_sandbox
):
    ids = [f"C-{n}" for n in range(12)]
    for external_id in ids:
        upsert_contact(external_id=external_id, raw_fields=ANNA)
    push_one_batch(client=client)
    pull(client)
    for external_id in ids[:2]:
        spotler_sandbox.control(
            "POST", f"contacts/{external_id}/unsubscribe", json={"bit": NEWSLETTER_BIT}
        )
    pull(client)

    # One batch from the shop: C-0 re-subscribed (its field went false -> true), C-1 did not.
    upsert_contacts(items=[{"external_id": "C-0", **ANNA, "newsletter": False}])
    upsert_contacts(items=[{"external_id": i, **ANNA, "first_name": "Anne"} for i in ids])
    run = push_one_batch(client=client)

    assert run.sent == 12
    assert spotler_sandbox.requests()["POST contact/list"]
    assert newsletter_in_spotler(spotler_sandbox, "C-0") is True
    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False
    assert newsletter_in_spotler(spotler_sandbox, "C-2") is True


def test_only_the_consent_field_feeding_a_bit_dates_that_bit(db):
    contact = upsert_contact(external_id="C-1", raw_fields=ANNA).contact
    assert shop_consent_changed_at(contact, mapping=mapping_in_force()) == {}
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": False})
    contact = upsert_contact(external_id="C-1", raw_fields=ANNA).contact
    created = shop_consent_changed_at(contact, mapping=mapping_in_force())[NEWSLETTER_BIT]

    contact = upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"}).contact
    assert shop_consent_changed_at(contact, mapping=mapping_in_force()) == {NEWSLETTER_BIT: created}

    contact = upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": False}).contact
    assert shop_consent_changed_at(contact, mapping=mapping_in_force())[NEWSLETTER_BIT] > created


def test_a_contact_whose_change_times_are_unknown_keeps_spotlers_off(db):
    contact = upsert_contact(external_id="C-1", raw_fields=ANNA).contact
    Contact.objects.filter(pk=contact.pk).update(field_changed_at={})
    contact.refresh_from_db()
    assert shop_consent_changed_at(contact, mapping=mapping_in_force()) == {}


def test_an_unsubscribe_after_a_pulled_resubscription_is_kept_again(client, spotler_sandbox):
    unsubscribed_in_spotler(client, spotler_sandbox)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": False})
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": True})
    push_one_batch(client=client)
    pull(client)  # the echo of the re-subscription

    spotler_sandbox.control("POST", "contacts/C-1/unsubscribe", json={"bit": NEWSLETTER_BIT})
    pull(client)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"})
    push_one_batch(client=client)

    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False


def test_an_unsubscribe_no_pull_has_read_yet_is_not_undone_by_the_next_edit(
    client, spotler_sandbox
):
    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=client)
    # The recipient unsubscribes in Spotler; the shop edits the name before any pull ran.
    spotler_sandbox.control("POST", "contacts/C-1/unsubscribe", json={"bit": NEWSLETTER_BIT})
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "first_name": "Anne"})
    push_one_batch(client=client)

    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False
    held = spotler_sandbox.contact("C-1")["properties"]
    assert held["firstName"] == "Anne"
    event = SyncEvent.objects.filter(contact__external_id="C-1").first()
    assert "Permission 1 not sent again" in event.answer


def test_a_bit_the_mapping_starts_sending_goes_with_the_next_push(
    client, spotler_sandbox, admin_user
):
    from mapping.versions import current_version, save_version

    upsert_contact(external_id="C-1", raw_fields={**ANNA, "promotions": True})
    push_one_batch(client=client)
    assert promotions_in_spotler(spotler_sandbox) is False  # not mapped yet
    # A Marketer maps the shop's "promotions" to bit 2; the contact's next push carries it,
    # though the shop has not changed that field since the last push.
    promotions = {"source_fields": ["promotions"], "property": "permissions", "type": "set",
                  "conversion": "permission", "options": {"bit": 2}}  # fmt: skip
    save_version(rows=[*current_version().rows, promotions], author=admin_user)
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "promotions": True, "first_name": "A"})
    push_one_batch(client=client)
    assert promotions_in_spotler(spotler_sandbox) is True
    # The newsletter bit, mapped all along and unchanged in the shop, is not sent again.
    assert "Permission 1 not sent again" in SyncEvent.objects.first().answer


def promotions_in_spotler(sandbox) -> bool:
    held = sandbox.contact("C-1")["properties"]["permissions"]
    return {p["bit"]: p["enabled"] for p in held}[2]


def test_a_consent_change_made_while_its_contact_was_being_pushed_still_goes(
    client, spotler_sandbox
):
    from sync.push_claims import PushOutcome, settle_entries

    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=client)
    # A push read the contact (newsletter: yes) and is still sending it when the customer
    # unsubscribes in the shop; the push then settles what it read.
    as_read = Contact.objects.get(external_id="C-1")
    upsert_contact(external_id="C-1", raw_fields={**ANNA, "newsletter": False})
    settle_entries(token="", contact=as_read, outcome=PushOutcome(ok=True))

    push_one_batch(client=client)
    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False


def test_a_first_push_keeps_an_unsubscribe_spotler_held_before_the_shop_sent_the_contact(
    client, spotler_sandbox
):
    # Spotler knew the customer before spotlersync did; a pull read them while the ledger did not.
    spotler_sandbox.control("POST", "contacts", json={"externalId": "C-1", "properties": {
        "email": "anna@example.nl", "permissions": [{"bit": 1, "enabled": True}]}})  # fmt: skip
    spotler_sandbox.control("POST", "contacts/C-1/unsubscribe", json={"bit": NEWSLETTER_BIT})
    pull(client)

    upsert_contact(external_id="C-1", raw_fields=ANNA)
    push_one_batch(client=client)

    assert newsletter_in_spotler(spotler_sandbox, "C-1") is False
    assert "permission 1 kept off" in SyncEvent.objects.first().answer
