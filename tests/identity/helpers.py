"""A known ledger for the duplicates report: two shared addresses (one person twice, one
household of three), a contact of its own, and an erased contact whose address a live one
still has."""

from datetime import UTC, datetime, timedelta

from contacts import ingest
from contacts.models import Contact, SyncStatus
from identity.models import DedupeMode, SpotlerAccount

DAY_ONE = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def add(external_id: str, email: str, *, day: int = 0, **fields) -> Contact:
    """A contact through the ingest (newsletter yes), created `day` days after DAY_ONE."""
    fields = {"email": email, "newsletter": True, **fields}
    contact = ingest.upsert_contact(external_id=external_id, raw_fields=fields).contact
    created = DAY_ONE + timedelta(days=day)
    Contact.objects.filter(pk=contact.pk).update(created_at=created)
    return contact


def set_state(external_id: str, state: SyncStatus, *, synced: bool = False) -> None:
    synced_at = DAY_ONE + timedelta(days=30) if synced else None
    Contact.objects.filter(external_id=external_id).update(sync_status=state, synced_at=synced_at)


def set_mode(mode: DedupeMode) -> None:
    account = SpotlerAccount.current()
    account.dedupe_mode = mode
    account.save()


def known_ledger() -> None:
    """anna@example.nl: A-1 and A-2, one person (A-1 in Spotler). fam@example.nl: H-1, H-2,
    H-3, three people of one household. solo@example.nl alone; gone@example.nl: an erased
    contact and a live one."""
    add("A-1", "anna@example.nl", day=0, first_name="Anna", last_name="de Vries",
        account_manager="Joost")  # fmt: skip
    add("A-2", "Anna@Example.NL", day=5, first_name="anna", last_name="devries")
    set_state("A-1", SyncStatus.SYNCED, synced=True)
    add("H-1", "fam@example.nl", day=1, first_name="Piet", last_name="Jansen")
    add("H-2", "FAM@example.nl", day=2, first_name="Marie", last_name="Jansen",
        account_manager="Sanne")  # fmt: skip
    add("H-3", "fam@example.nl", day=3, first_name="Kees", last_name="Jansen")
    add("S-1", "solo@example.nl", day=0, first_name="Sol")
    add("G-1", "gone@example.nl", day=0)
    add("G-2", "gone@example.nl", day=1)
    ingest.erase_contact(external_id="G-1")
