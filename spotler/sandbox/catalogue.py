"""The demo account's contact properties, and which values each of them accepts.

The names follow the defaults seen in Spotler accounts (spotler-api.md §3.2); the types are
Spotler's own enum (§4). How strictly each type is checked is the sandbox's choice, made to
catch client mistakes early: dates must be ISO 8601, moments must carry an offset, postcodes
are Dutch (the official Magento connector only sent Dutch postcodes to this type).
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from spotler.sandbox.clock import parse_aware
from spotler.sandbox.errors import ApiError, invalid_params

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
DUTCH_POSTCODE = re.compile(r"^[1-9][0-9]{3} ?[A-Za-z]{2}$")
MOBILE_NUMBER = re.compile(r"^\+?[0-9][0-9 \-]{7,18}[0-9]$")
GENDERS = {"M", "F", "U"}
MAX_STRING_LENGTH = 255


@dataclass(frozen=True)
class Entry:
    """One bit of a set-type property, e.g. permission 1 "Newsletter"."""

    bit: int
    description: str
    rank: int


@dataclass(frozen=True)
class Property:
    name: str
    description: str
    type: str
    entries: tuple[Entry, ...] = ()

    @property
    def is_set(self) -> bool:
        return self.type == "set"

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "type": self.type,
        }
        if self.is_set:
            data["entries"] = [
                {"bit": e.bit, "description": e.description, "rank": e.rank} for e in self.entries
            ]
        return data


PROPERTIES: tuple[Property, ...] = (
    Property("email", "E-mail address", "email"),
    Property("firstName", "First name", "string"),
    Property("infix", "Infix (tussenvoegsel)", "string"),
    Property("lastName", "Last name", "string"),
    Property("gender", "Gender (M, F or U)", "gender"),
    Property("birthday", "Date of birth", "birthdate"),
    Property("city", "City", "string"),
    Property("country", "Country", "string"),
    Property("postalCode", "Postcode (Dutch format, 1234 AB)", "postcode"),
    Property("phoneNumber", "Mobile number", "mobNr"),
    Property("taal", "Language", "string"),
    Property("customerType", "Customer type", "string"),
    Property("firstPurchaseDate", "First purchase", "dateTime"),
    Property("lastPurchaseDate", "Last purchase", "dateTime"),
    Property("totalSpent", "Total spent (EUR)", "money"),
    Property("loyaltyPoints", "Loyalty points", "int"),
    Property("discountCode", "Personal discount code", "string"),
    Property(
        "permissions",
        "Permissions",
        "set",
        (Entry(1, "Newsletter", 1), Entry(2, "Promotions", 2), Entry(3, "Surveys", 3)),
    ),
    Property(
        "profileFields",
        "Interests",
        "set",
        (Entry(1, "Fashion", 1), Entry(2, "Home & garden", 2), Entry(3, "Sports", 3)),
    ),
)
BY_NAME: dict[str, Property] = {p.name: p for p in PROPERTIES}
SET_PROPERTIES: tuple[Property, ...] = tuple(p for p in PROPERTIES if p.is_set)


def property_invalid() -> ApiError:
    # Spotler's documented text (spotler-api.md §5.1); it does not say which property.
    return invalid_params("Property is invalid")


def email_invalid() -> ApiError:
    return invalid_params("Email is invalid")


def clean_properties(raw: Any) -> dict[str, Any]:
    """Checked, normalised property values; None means "clear this property".

    Set-type values become `{bit: enabled}`. Raises ApiError for the first bad value.
    """
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise property_invalid()
    cleaned = {}
    for name, value in raw.items():
        definition = BY_NAME.get(name)
        if definition is None:
            raise property_invalid()
        cleaned[name] = clean_value(definition, value)
    return cleaned


def clean_value(definition: Property, value: Any) -> Any:
    """One property value checked against its type; None or "" clears it."""
    if value is None or value == "":
        return None
    cleaner = CLEANERS[definition.type]
    cleaned = cleaner(definition, value)
    if cleaned is None:
        raise email_invalid() if definition.type == "email" else property_invalid()
    return cleaned


def normalise_email(value: str) -> str:
    """The form e-mail addresses are matched in (dedupe, subscribe, search)."""
    return value.strip().lower()


def _string(definition: Property, value: Any) -> str | None:
    if not isinstance(value, str) or len(value) > MAX_STRING_LENGTH:
        return None
    return value


def _email(definition: Property, value: Any) -> str | None:
    if not isinstance(value, str) or not EMAIL.match(value.strip()):
        return None
    return value.strip()


def _gender(definition: Property, value: Any) -> str | None:
    return value if value in GENDERS else None


def _calendar_date(definition: Property, value: Any) -> str | None:
    if not isinstance(value, str) or len(value) != 10:
        return None
    try:
        return date.fromisoformat(value).isoformat()
    except ValueError:
        return None


def _moment(definition: Property, value: Any) -> str | None:
    # Kept as sent (with its offset), so a read shows what was written.
    if not isinstance(value, str) or parse_aware(value) is None:
        return None
    return value


def _postcode(definition: Property, value: Any) -> str | None:
    if not isinstance(value, str) or not DUTCH_POSTCODE.match(value.strip()):
        return None
    return value.strip().upper()


def _mobile_number(definition: Property, value: Any) -> str | None:
    if not isinstance(value, str) or not MOBILE_NUMBER.match(value.strip()):
        return None
    return value.strip()


def _integer(definition: Property, value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _money(definition: Property, value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount != amount.quantize(Decimal("0.01")):
        return None
    return float(amount)


def _set(definition: Property, value: Any) -> dict[int, bool] | None:
    if not isinstance(value, list):
        return None
    known_bits = {entry.bit for entry in definition.entries}
    bits = {}
    for item in value:
        if not isinstance(item, dict):
            return None
        bit, enabled = item.get("bit"), item.get("enabled")
        if isinstance(bit, bool) or not isinstance(bit, int) or bit not in known_bits:
            return None
        if not isinstance(enabled, bool):
            return None
        bits[bit] = enabled
    return bits


CLEANERS = {
    "string": _string,
    "email": _email,
    "gender": _gender,
    "birthdate": _calendar_date,
    "date": _calendar_date,
    "dateTime": _moment,
    "postcode": _postcode,
    "mobNr": _mobile_number,
    "int": _integer,
    "money": _money,
    "set": _set,
}
