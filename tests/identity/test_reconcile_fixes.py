"""The fixes a finding offers, and what they do to the ledger and to Spotler (the sandbox)."""

import pytest

from audit.models import AuditEntry
from contacts.feed import read_changes
from contacts.models import Contact, SyncStatus
from identity import reconcile_fixes as fixes
from identity.models import DriftFinding, DriftKind, FindingState
from sync import push
from sync.models import (
    OutboxEntry,
    OutboxStatus,
    SpotlerConsent,
    SpotlerState,
    SyncRunKind,
    UnknownContact,
)
from tests.identity.reconcile_helpers import (
    lost_in_the_outbox,
    mapping_sends_city,
    pushed,
    reconcile,
)


def push_everything() -> None:
    while push.push_one_batch() is not None:
        pass


def finding(external_id: str) -> DriftFinding:
    return DriftFinding.objects.select_related("contact", "run").get(external_id=external_id)


def permissions(sandbox, external_id: str) -> dict[int, bool]:
    held = sandbox.contact(external_id)["properties"]["permissions"]
    return {p["bit"]: p["enabled"] for p in held}


def test_push_again_puts_a_missing_contact_in_spotler_whole(sandbox, admin_user):
    pushed(1)
    lost_in_the_outbox("C-4")
    contact = Contact.objects.get(external_id="C-4")  # Spotler accepted it once, then lost it
    Contact.objects.filter(pk=contact.pk).update(
        pushed_changed_at=contact.changed_at, synced_at=contact.changed_at
    )
    reconcile()
    fixes.push_again(finding("C-4"), user=admin_user)
    push_everything()
    assert sandbox.contact("C-4")["properties"]["firstName"] == "Anna 4"
    assert permissions(sandbox, "C-4")[1] is True  # its consent too, as on a first push
    assert finding("C-4").state == FindingState.PUSHED
    assert finding("C-4").resolved_by == admin_user
    entry = AuditEntry.objects.get(object_type="drift finding")
    assert (entry.action, entry.actor, entry.changes) == (
        "pushed again", admin_user, {"state": ["open", "pushed"]}
    )  # fmt: skip
    assert reconcile().failed == 0


def test_push_again_gives_spotler_the_shops_values_and_the_next_run_is_clean(sandbox, admin_user):
    pushed(2)
    lost_in_the_outbox("C-1", first_name="Anne-Marie", newsletter=False)
    reconcile()
    for found in DriftFinding.objects.all():
        fixes.push_again(found, user=admin_user)
    push_everything()
    assert sandbox.contact("C-1")["properties"]["firstName"] == "Anne-Marie"
    assert permissions(sandbox, "C-1")[1] is False
    assert reconcile().failed == 0


def test_pull_takes_a_recipients_edit_into_the_ledger_and_onto_the_feed(sandbox, admin_user):
    pushed(2)
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    reconcile()
    published = fixes.pull_in(finding("C-1"), user=admin_user)
    assert published == ["firstName changed in Spotler"]
    [change] = read_changes()
    assert (change.kind, change.external_id) == ("profile_changed", "C-1")
    assert (change.payload["field"], change.payload["value"]) == ("first_name", "Ann")
    state = SpotlerState.objects.get(contact__external_id="C-1")
    assert state.properties["firstName"] == "Ann"
    # The shop's own record stays as the shop sent it, until the shop takes the change in.
    assert Contact.objects.get(external_id="C-1").fields["first_name"] == "Anna 1"
    assert finding("C-1").state == FindingState.PULLED
    assert AuditEntry.objects.get(object_type="drift finding").action == "pulled"


def test_pull_takes_an_unsubscribe_in_and_the_push_keeps_it(sandbox, admin_user):
    pushed(2)
    sandbox.control("POST", "contacts/C-1/unsubscribe", {"bit": 1})
    reconcile()
    fixes.pull_in(finding("C-1"), user=admin_user)
    [change] = read_changes()
    assert (change.kind, change.payload["bit"], change.payload["enabled"]) == (
        "permission_changed", 1, False
    )  # fmt: skip
    assert SpotlerConsent.objects.get(contact__external_id="C-1", bit=1).enabled is False
    lost_in_the_outbox("C-1", first_name="Anne")  # the shop, still saying yes, edits her
    OutboxEntry.objects.filter(contact__external_id="C-1").update(status=OutboxStatus.PENDING)
    push_everything()
    assert permissions(sandbox, "C-1")[1] is False


def test_a_field_the_linked_system_owns_cannot_be_pulled(sandbox, admin_user):
    mapping_sends_city(admin_user)
    pushed(1, city="Utrecht")
    sandbox.control("POST", "contacts/C-0/edit", {"properties": {"city": "Amsterdam"}})
    reconcile()
    with pytest.raises(fixes.CannotFix, match="the linked system owns it"):
        fixes.pull_in(finding("C-0"), user=admin_user)
    assert read_changes() == []
    assert finding("C-0").state == FindingState.OPEN


def test_ignore_closes_the_finding_and_a_later_run_keeps_the_same_drift_ignored(
    sandbox, admin_user
):
    pushed(2)
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Ann"}})
    first = reconcile()
    fixes.ignore(finding("C-1"), user=admin_user)
    second = reconcile()
    again = DriftFinding.objects.get(run=second)
    assert (again.state, again.resolved_by) == (FindingState.IGNORED, admin_user)
    sandbox.control("POST", "contacts/C-1/edit", {"properties": {"firstName": "Annie"}})
    third = reconcile()
    assert DriftFinding.objects.get(run=third).state == FindingState.OPEN  # other drift
    assert first.pk < second.pk < third.pk


def test_push_all_missing_again_queues_every_open_missing_contact_at_once(sandbox, admin_user):
    pushed(1)
    for n in (3, 4, 5):
        lost_in_the_outbox(f"C-{n}")
    run = reconcile()
    fixes.ignore(finding("C-5"), user=admin_user)
    assert fixes.push_missing_again(run, user=admin_user) == 2
    push_everything()
    assert sandbox.contact("C-3") and sandbox.contact("C-4")
    states = dict(DriftFinding.objects.values_list("external_id", "state"))
    assert states == {"C-3": "pushed", "C-4": "pushed", "C-5": "ignored"}
    entry = AuditEntry.objects.get(object_type="drift findings")
    assert (entry.action, entry.changes) == ("pushed again", {"contacts": [None, 2]})
    assert fixes.push_missing_again(run, user=admin_user) == 0


def test_a_finding_is_fixed_once(sandbox, admin_user):
    pushed(1)
    lost_in_the_outbox("C-2")
    reconcile()
    found = finding("C-2")
    fixes.push_again(found, user=admin_user)
    with pytest.raises(fixes.CannotFix, match="already dealt with"):
        fixes.ignore(finding("C-2"), user=admin_user)
    with pytest.raises(fixes.CannotFix, match="already dealt with"):
        fixes.push_again(found, user=admin_user)  # a second click on the page it was on
    assert OutboxEntry.objects.filter(contact__external_id="C-2").count() == 2  # lost + 1


def test_an_id_only_spotler_knows_can_only_be_ignored(sandbox, admin_user):
    UnknownContact.objects.create(external_id="X-1", source=SyncRunKind.PULL_UPDATES)
    reconcile()
    for fix in (fixes.push_again, fixes.pull_in):
        with pytest.raises(fixes.CannotFix, match="only the linked system can send it"):
            fix(finding("X-1"), user=admin_user)
    fixes.ignore(finding("X-1"), user=admin_user)
    assert finding("X-1").state == FindingState.IGNORED


def test_a_contact_held_for_review_since_is_not_pushed(sandbox, admin_user):
    pushed(1)
    lost_in_the_outbox("C-2")
    reconcile()
    Contact.objects.filter(external_id="C-2").update(sync_status=SyncStatus.HELD)
    with pytest.raises(fixes.CannotFix, match="held for review"):
        fixes.push_again(finding("C-2"), user=admin_user)
    assert finding("C-2").kind == DriftKind.MISSING
    assert finding("C-2").state == FindingState.OPEN
