from contacts import ingest
from contacts.models import Contact, SyncStatus


def add(external_id: str) -> Contact:
    email = f"{external_id.lower()}@example.com"
    return ingest.upsert_contact(external_id=external_id, raw_fields={"email": email}).contact


def test_the_ledger_answers_the_dashboards_questions(db):
    add("PENDING")
    Contact.objects.filter(pk=add("SYNCED").pk).update(sync_status=SyncStatus.SYNCED)
    Contact.objects.filter(pk=add("FAILED").pk).update(sync_status=SyncStatus.FAILED)
    add("GONE")
    ingest.erase_contact(external_id="GONE")
    add("BLOCKED")
    ingest.inactivate_contact(external_id="BLOCKED")

    def ids(queryset) -> set:
        return set(queryset.values_list("external_id", flat=True))

    assert ids(Contact.objects.pending()) == {"PENDING", "BLOCKED", None}
    assert ids(Contact.objects.synced()) == {"SYNCED"}
    assert ids(Contact.objects.failed()) == {"FAILED"}
    assert ids(Contact.objects.erased()) == {None}
    assert ids(Contact.objects.inactivated()) == {"BLOCKED"}
    assert ids(Contact.objects.live()) == {"PENDING", "SYNCED", "FAILED", "BLOCKED"}
