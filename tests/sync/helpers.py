"""Helpers the sync tests share: a shop's customers already in the ledger; the account's
deduplication mode and what the sandbox holds, for the guard on push."""

from contacts.batch import upsert_contacts
from identity.models import SpotlerAccount
from sync.models import OutboxEntry, OutboxStatus


def customer(n: int, **extra) -> dict:
    return {"email": f"c{n}@example.nl", "first_name": f"Klant {n}", "newsletter": True, **extra}


def shop_has(count: int, **extra) -> None:
    """`count` customers in the ledger, already settled (as if pushed long ago)."""
    rows = [{"external_id": f"C-{n}", **customer(n, **extra)} for n in range(count)]
    for start in range(0, count, 1000):
        upsert_contacts(items=rows[start : start + 1000])
    OutboxEntry.objects.update(status=OutboxStatus.DONE)


def dedupe_on(mode: str) -> None:
    """The account's deduplication mode, as an Admin enters it on the connection page."""
    account = SpotlerAccount.current()
    account.dedupe_mode = mode
    account.save()


def in_spotler(sandbox) -> dict[str, dict]:
    """The sandbox account's contacts by external id."""
    return {c["externalId"]: c for c in sandbox.control("GET", "contacts")["contacts"]}
