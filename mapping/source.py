"""What the mapping reads from a ledger contact: its source fields plus the ledger's own."""

from collections import defaultdict
from typing import Any

from contacts.models import Contact

# Fields the ledger keeps itself, offered in the editor beside what the linked system sends.
LEDGER_FIELDS = ("first_purchase_at", "last_purchase_at")
SAMPLE_CONTACTS = 300
# Saving a mapping checks each row against the values of this many contacts changed last.
RECENT_CONTACTS = 1_000
SAMPLES_PER_FIELD = 5


def source_fields_of(contact: Contact) -> dict[str, Any]:
    fields = dict(contact.fields or {})
    for name in LEDGER_FIELDS:
        moment = getattr(contact, name)
        fields[name] = moment.isoformat() if moment else None
    return fields


def seen_source_fields(*, contacts: int = SAMPLE_CONTACTS) -> dict[str, list[object]]:
    """Field names the linked system sent lately, each with a few real, distinct values."""
    samples: dict[str, list[object]] = defaultdict(list)
    recent = Contact.objects.live().order_by("-changed_at")[:contacts]
    for contact in recent.only("fields", "first_purchase_at", "last_purchase_at"):
        for name, value in source_fields_of(contact).items():
            values = samples[name]
            if value not in (None, "") and value not in values and len(values) < SAMPLES_PER_FIELD:
                values.append(value)
    for name in LEDGER_FIELDS:
        samples.setdefault(name, [])
    return dict(sorted(samples.items()))


def recent_values(*, contacts: int = RECENT_CONTACTS) -> dict[str, list[object]]:
    """Up to `contacts` recent values per field, for checking a row's type before saving."""
    values: dict[str, list[object]] = defaultdict(list)
    recent = Contact.objects.live().order_by("-changed_at")[:contacts]
    for contact in recent.only("fields", "first_purchase_at", "last_purchase_at").iterator(
        chunk_size=500
    ):
        for name, value in source_fields_of(contact).items():
            values[name].append(value)
    return values
