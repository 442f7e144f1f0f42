"""Helpers the sync tests share: a shop's customers already in the ledger."""

from contacts.batch import upsert_contacts
from sync.models import OutboxEntry, OutboxStatus


def customer(n: int, **extra) -> dict:
    return {"email": f"c{n}@example.nl", "first_name": f"Klant {n}", "newsletter": True, **extra}


def shop_has(count: int, **extra) -> None:
    """`count` customers in the ledger, already settled (as if pushed long ago)."""
    rows = [{"external_id": f"C-{n}", **customer(n, **extra)} for n in range(count)]
    for start in range(0, count, 1000):
        upsert_contacts(items=rows[start : start + 1000])
    OutboxEntry.objects.update(status=OutboxStatus.DONE)
