"""Contacts that are in the ledger and in the sandbox's Spotler account."""

from django.utils import timezone

from contacts.batch import upsert_contacts
from contacts.models import Contact, SyncStatus
from sync.models import OutboxEntry, OutboxStatus


def ledger_has(ids: list[str], *, language: str = "nl", **fields) -> None:
    """Contacts in the ledger, settled as synced to Spotler."""
    rows = [{"external_id": i, "email": f"{i.lower()}@example.nl", "newsletter": True, **fields}
            for i in ids]  # fmt: skip
    upsert_contacts(items=rows)
    OutboxEntry.objects.update(status=OutboxStatus.DONE)
    Contact.objects.filter(external_id__in=ids).update(
        language=language, sync_status=SyncStatus.SYNCED, synced_at=timezone.now()
    )


def contacts_in_spotler(sandbox, count: int, *, language: str = "nl", start: int = 0) -> list:
    """`count` contacts synced to Spotler (in the ledger as synced, in the sandbox too)."""
    ids = [f"C-{n}" for n in range(start, start + count)]
    for external_id in ids:
        body = {"externalId": external_id, "properties": {"email": f"{external_id}@example.nl"}}
        sandbox.control("POST", "contacts", body)
    ledger_has(ids, language=language)
    return ids
