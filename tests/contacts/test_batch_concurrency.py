from contacts import batch, ingest
from contacts.models import Contact
from sync.models import OutboxEntry, OutboxKind
from tests.conftest import transactional
from tests.helpers import postgresql_only, run_at_once


def items(*external_ids: str, email: str) -> list[dict]:
    return [{"external_id": external_id, "email": email} for external_id in external_ids]


@postgresql_only
@transactional
def test_two_batches_creating_the_same_contacts_at_once_lose_nothing():
    ids = [f"C{n}" for n in range(200)]
    emails = ["first@example.com", "second@example.com"]

    errors = run_at_once(
        *[
            # Opposite orders: the writers still wait for each other instead of deadlocking.
            lambda email=email, order=order: batch.upsert_contacts(items=items(*order, email=email))
            for email, order in zip(emails, [ids, ids[::-1]], strict=True)
        ]
    )

    assert errors == []
    assert Contact.objects.count() == 200
    assert set(Contact.objects.values_list("email", flat=True)) <= set(emails)
    # Both writes of each contact were accepted as changes and queued.
    assert OutboxEntry.objects.filter(kind=OutboxKind.UPSERT).count() == 400


@postgresql_only
@transactional
def test_a_batch_racing_a_put_and_a_delete_never_leaves_personal_data_behind():
    ingest.upsert_contact(external_id="C1", raw_fields={"email": "anna@example.com"})

    results = []
    errors = run_at_once(
        lambda: results.extend(
            batch.upsert_contacts(items=items("C1", "C2", email="new@example.com"))
        ),
        lambda: ingest.upsert_contact(external_id="C2", raw_fields={"email": "put@example.com"}),
        lambda: ingest.erase_contact(external_id="C1"),
    )

    assert errors == []
    erased = Contact.objects.erased().get()
    assert (erased.external_id, erased.email, erased.fields) == (None, "", {})
    assert Contact.objects.get(external_id="C2").email in {"new@example.com", "put@example.com"}
    # The batch's C1 item either came first (and was then erased) or was refused.
    first = results[0]
    assert first.error is None or first.error.code == "contact_erased"
    assert OutboxEntry.objects.pending().filter(contact=erased).get().kind == OutboxKind.ANONYMIZE
