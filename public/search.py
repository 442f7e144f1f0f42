"""Searching Spotler's contacts by property values (`GET contact/search`, spotler-api.md §12),
for the staff search page and the public lookup pages.

Spotler documents one equality per search (`MPSearchQuery=<property>=<value>`); how several
conditions combine is not documented (§12, §13.4). So Spotler is searched by the first
condition and the others are checked here on what it answers, compared the way the sandbox
compares: text and e-mail addresses in any case, numbers as numbers, a set property by one bit.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import spotler
from contacts.models import Contact
from mapping.models import SpotlerProperty
from spotlersync.email_addresses import email_address_problem

MAX_VALUE_LENGTH = 255  # Spotler's longest text property (mapping/conversions.py MAX_STRING)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
WHOLE_NUMBER = re.compile(r"^-?[0-9]{1,18}$")
PAGE_SIZE = 100
MAX_SCANNED = 500  # contacts read from Spotler for one staff search, at most (5 pages)
MAX_SHOWN = 100  # matching contacts shown on the staff search page, at most


@dataclass(frozen=True)
class Condition:
    """One `property = value` condition, with the property's Spotler type."""

    property: str
    type: str
    value: str


@dataclass(frozen=True)
class Match:
    """One Spotler contact that meets every condition, and its contact in our ledger (if any)."""

    contact: spotler.Contact
    ledger: Contact | None
    values: list[tuple[str, Any]]


@dataclass
class SearchResult:
    matches: list[Match] = field(default_factory=list)
    scanned: int = 0
    # True when Spotler held more contacts for the first condition than were read.
    cut_short: bool = False


def searchable_properties() -> list[SpotlerProperty]:
    """The catalogue's properties (as last refreshed), in name order."""
    return list(SpotlerProperty.objects.present())


def value_problem(kind: str, value: str) -> str | None:
    """What is wrong with `value` as a search value for a property of type `kind`, or None."""
    if not value.strip():
        return "is empty"
    if len(value) > MAX_VALUE_LENGTH:
        return f"is longer than {MAX_VALUE_LENGTH} characters"
    if CONTROL_CHARACTERS.search(value):
        return "contains control characters"
    text = value.strip()
    if kind == "int" and not WHOLE_NUMBER.match(text):
        return "is not a whole number"
    if kind == "money" and _decimal(text) is None:
        return "is not an amount (e.g. 12.50)"
    if kind == "email" and email_address_problem(text):
        return "is not an e-mail address"
    if kind == "set" and not text.isdigit():
        return "is not a bit number (e.g. 1)"
    return None


def search_contacts(
    client: spotler.SpotlerClient,
    *,
    conditions: list[Condition],
    page_size: int = PAGE_SIZE,
    max_scanned: int = MAX_SCANNED,
    max_matches: int = MAX_SHOWN,
) -> SearchResult:
    """Spotler's contacts meeting every condition, joined to the ledger by external id.

    Raises `spotler.SpotlerError` when Spotler cannot be asked (down, throttled, refused).
    """
    first, *rest = conditions
    result = SearchResult()
    found: list[spotler.Contact] = []
    pages = client.iter_search_pages(
        property_name=first.property, value=first.value.strip(), page_size=page_size
    )
    for page in pages:
        for contact in page.items:
            result.scanned += 1
            if all(meets(contact, condition) for condition in rest):
                found.append(contact)
        if result.scanned >= max_scanned or len(found) > max_matches:
            result.cut_short = page.after is not None or len(found) > max_matches
            break
    result.matches = _with_ledger(found[:max_matches], conditions)
    return result


def meets(contact: spotler.Contact, condition: Condition) -> bool:
    """Whether the contact's value of the condition's property equals the condition's value."""
    stored = property_value(contact, condition.property)
    if stored is None:
        return False
    wanted = condition.value.strip()
    if condition.type == "set":
        return bool(stored.get(int(wanted))) if isinstance(stored, dict) else False
    if condition.type in ("int", "money"):
        number = _decimal(str(stored))
        return number is not None and number == _decimal(wanted)
    return str(stored).strip().casefold() == wanted.casefold()


def property_value(contact: spotler.Contact, name: str) -> Any:
    """The contact's value of one property (`permissions` is kept apart by the client)."""
    if name == "permissions":
        return contact.permissions or None
    return contact.properties.get(name)


def _with_ledger(found: Iterable[spotler.Contact], conditions: list[Condition]) -> list[Match]:
    found = list(found)
    ids = [c.external_id for c in found if c.external_id]
    ledger = {c.external_id: c for c in Contact.objects.filter(external_id__in=ids)}
    names = list(dict.fromkeys(c.property for c in conditions))
    return [
        Match(
            contact=c,
            ledger=ledger.get(c.external_id or ""),
            values=[(name, shown(property_value(c, name))) for name in names],
        )
        for c in found
    ]


def shown(value: Any) -> Any:
    """A value as a person reads it: a set (permissions, bit → on) as the bits that are on."""
    if isinstance(value, dict):
        on = [str(bit) for bit, enabled in sorted(value.items()) if enabled]
        return f"on: {', '.join(on)}" if on else "none on"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(item) for item in value)
    return value


def _decimal(text: str) -> Decimal | None:
    try:
        number = Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None
