"""What Spotler accepts as the value of a property of each type: the editor's warnings.

The conversions (mapping/conversions.py) shape a source value for its property's type; Spotler
may still refuse the result. It then answers the whole contact with 400 "Property is invalid"
(spotler-api.md §5.1) without saying which property, and the push fails. The rules below are
what is known of each type (§4, §3.2) and what the sandbox checks (spotler/sandbox/catalogue.py,
which tests/mapping/test_spotler_rules.py holds them to):

- `postcode`: a Dutch postcode, `1234 AB` (the official Magento connector only ever sent that
  format to this type, §3.2);
- `mobNr`: 9 to 20 digits, spaces or hyphens, with an optional leading `+`;
- `gender`: `M`, `F` or `U`; `date`/`birthdate`: `YYYY-MM-DD`; `dateTime`: ISO 8601 with an
  offset; `int`, `money`: numbers; `email`: an address (`spotlersync.email_addresses`);
  `string`: at most 255 characters.
"""

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from mapping.conversions import INT64_MAX, MAX_STRING
from spotlersync.email_addresses import email_address_problem

DUTCH_POSTCODE = re.compile(r"[1-9][0-9]{3} ?[A-Za-z]{2}")
MOBILE_NUMBER = re.compile(r"\+?[0-9][0-9 \-]{7,18}[0-9]")
GENDERS = ("M", "F", "U")

RULES = {
    "postcode": "a Dutch postcode such as 1234 AB",
    "mobNr": "a phone number of 9 to 20 digits, such as +31 6 12345678",
    "gender": "M, F or U",
    "date": "a date written 2026-11-22",
    "birthdate": "a date written 2026-11-22",
    "dateTime": "a date and time with its offset, such as 2026-11-22T10:00:00+01:00",
    "int": "a whole number",
    "money": "an amount with at most two decimals",
    "email": "an e-mail address",
    "string": f"a text of at most {MAX_STRING} characters",
}


def refusal(property_type: str, value: object) -> str | None:
    """Why Spotler would refuse `value` (as the push sends it) for a property of this type, in
    words that name the value and the rule; None when it takes it, or when nothing is known of
    the type (set-type permissions are checked against the catalogue's bits on saving)."""
    check = _CHECKS.get(property_type)
    if check is None or value is None or value == "" or check(value):
        return None
    return f"{_quote(value)} is not {RULES[property_type]}"


def _postcode(value: object) -> bool:
    return isinstance(value, str) and DUTCH_POSTCODE.fullmatch(value.strip()) is not None


def _mobile_number(value: object) -> bool:
    return isinstance(value, str) and MOBILE_NUMBER.fullmatch(value.strip()) is not None


def _gender(value: object) -> bool:
    return value in GENDERS


def _calendar_date(value: object) -> bool:
    if not isinstance(value, str) or len(value) != 10:
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _moment(value: object) -> bool:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return False
    return moment is not None and moment.utcoffset() is not None


def _whole_number(value: object) -> bool:
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value.strip()):
        value = int(value)
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= INT64_MAX


def _amount(value: object) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return False
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return False
    return amount.is_finite() and amount == amount.quantize(Decimal("0.01"))


def _email(value: object) -> bool:
    return isinstance(value, str) and email_address_problem(value.strip()) is None


def _string(value: object) -> bool:
    return isinstance(value, str) and len(value) <= MAX_STRING


_CHECKS = {
    "postcode": _postcode,
    "mobNr": _mobile_number,
    "gender": _gender,
    "date": _calendar_date,
    "birthdate": _calendar_date,
    "dateTime": _moment,
    "int": _whole_number,
    "money": _amount,
    "email": _email,
    "string": _string,
}


def _quote(value: object) -> str:
    text = str(value)
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"
