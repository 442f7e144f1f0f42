"""Which value Spotler refused, when it can be known.

Spotler's "Property is invalid" does not say which property (spotler-api.md §5.1). The values a
refused push sent are checked here against what is known of each property: its type in the
stored catalogue and the rules known for that type (spotler-api.md §4; the sandbox applies the
same ones). What fails is named in the contact's failure reason; when nothing fails, nothing
is guessed.
"""

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from mapping.rows import CatalogueEntry

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DUTCH_POSTCODE = re.compile(r"^[1-9][0-9]{3} ?[A-Za-z]{2}$")
MOBILE_NUMBER = re.compile(r"^\+?[0-9][0-9 \-]{7,18}[0-9]$")
MAX_STRING_LENGTH = 255


def _string(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_STRING_LENGTH


def _matches(pattern: re.Pattern) -> Callable[[object], bool]:
    return lambda value: isinstance(value, str) and bool(pattern.match(value.strip()))


def _calendar_date(value: object) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and bool(date.fromisoformat(value))
    except ValueError:
        return False


def _moment(value: object) -> bool:
    try:
        return isinstance(value, str) and datetime.fromisoformat(value).tzinfo is not None
    except ValueError:
        return False


def _integer(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (
        isinstance(value, str) and value.strip().lstrip("-").isdigit()
    )


def _money(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return False
    return amount.is_finite() and amount == amount.quantize(Decimal("0.01"))


# Spotler's property type -> (accepts the value, what it wants, in words)
RULES: dict[str, tuple[Callable[[object], bool], str]] = {
    "string": (_string, f"text of at most {MAX_STRING_LENGTH} characters"),
    "email": (_matches(EMAIL), "an e-mail address"),
    "gender": (lambda v: v in {"M", "F", "U"}, "M, F or U"),
    "birthdate": (_calendar_date, "a date as yyyy-mm-dd"),
    "date": (_calendar_date, "a date as yyyy-mm-dd"),
    "dateTime": (_moment, "a moment with its offset, e.g. 2026-05-03T10:00:00+02:00"),
    "postcode": (_matches(DUTCH_POSTCODE), "a Dutch postcode like 1234 AB"),
    "mobNr": (_matches(MOBILE_NUMBER), "a mobile number like +31 6 12345678"),
    "int": (_integer, "a whole number"),
    "money": (_money, "an amount with at most two decimals"),
}


def refused_values(
    properties: Mapping[str, object],
    *,
    catalogue: Mapping[str, CatalogueEntry] | None,
    sources: Mapping[str, str] | None = None,
) -> list[str]:
    """Sentences naming each sent property whose value breaks what is known of it, e.g.
    'postalCode (from the shop's postcode) “ZZZ” is not a Dutch postcode like 1234 AB'."""
    if not catalogue:
        return []
    sources = sources or {}
    found = []
    for name, value in properties.items():
        if value is None or value == "":
            continue  # clears the property: always accepted
        entry = catalogue.get(name)
        origin = f" (from the shop's {sources[name]})" if name in sources else ""
        if entry is None:
            found.append(f"{name}{origin}: the Spotler account has no such property")
            continue
        rule = RULES.get(entry.type)
        if rule is not None and not rule[0](value):
            found.append(f"{name}{origin} “{value}” is not {rule[1]}")
    return found
