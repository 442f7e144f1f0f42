"""Value conversions from the linked system's source fields to Spotler property values.

Each converter takes one source value (never empty: emptiness is decided by the caller) and
returns the value Spotler expects, or raises `ConversionError` with a sentence a marketer can
act on. They are pure and cheap: `render.py` calls them for every field of every contact.

Spotler formats (spotler-api.md §2.6, §3.2): dates `YYYY-MM-DD`; date-times ISO 8601 with
offset; money in cents (as orders and conversions are); gender `M`/`F`; set-type properties
such as `permissions` as `{bit, enabled}` entries.
"""

import re
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from spotlersync.email_addresses import email_address_problem
from spotlersync.moments import moment_range_problem

CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
INT64_MAX = 2**63 - 1
MAX_STRING = 255  # Spotler stores string properties of at most 255 characters (product docs)

# The spellings of yes and no a yes/no or consent row accepts (any case, spaces around ignored),
# besides JSON true/false and the numbers 1/0. The ingest API refuses any other value for such a
# row's source field (`mapping.current.yes_no_problems`), quoting these lists.
TRUE_SPELLINGS = ("true", "1", "yes", "y", "on", "ja", "j", "oui", "si", "sí", "x")
FALSE_SPELLINGS = ("false", "0", "no", "n", "off", "nee", "non", "nein", "-")
TRUE_WORDS = frozenset(TRUE_SPELLINGS)
FALSE_WORDS = frozenset(FALSE_SPELLINGS)
YES_NO_SPELLINGS = f"yes: {', '.join(TRUE_SPELLINGS)}; no: {', '.join(FALSE_SPELLINGS)}"

DEFAULT_GENDERS = {
    "m": "M", "male": "M", "man": "M", "mr": "M", "mr.": "M", "dhr": "M", "dhr.": "M",
    "herr": "M", "h": "M",
    "f": "F", "female": "F", "woman": "F", "v": "F", "vrouw": "F", "mrs": "F", "mrs.": "F",
    "ms": "F", "ms.": "F", "mevr": "F", "mevr.": "F", "frau": "F", "w": "F",
}  # fmt: skip

# Day-first is the European default; a source that writes 03/04/2026 as 4 March chooses
# "month_first" in the row's options.
DATE_FORMATS_DAY_FIRST = ("%d-%m-%Y", "%d/%m/%Y", "%d.%m.%Y")
DATE_FORMATS_MONTH_FIRST = ("%m-%d-%Y", "%m/%d/%Y")


class ConversionError(ValueError):
    """A source value that cannot become the Spotler property's type; the text says why."""


def to_text(value: object, *, max_length: int = MAX_STRING) -> str:
    text = _as_text(value)
    # isprintable() is a fast C check; the regex only runs for the rare text that fails it
    if not text.isprintable() and CONTROL_RE.search(text):
        raise ConversionError("contains control characters; remove them in the linked system")
    if len(text) > max_length:
        raise ConversionError(
            f"is {len(text):,} characters long; Spotler takes at most {max_length}"
        )
    return text


def to_email(value: object) -> str:
    # The ingest API checks the same rule, so an address it accepted is never refused here.
    text = _as_text(value).strip()
    if email_address_problem(text):
        raise ConversionError(f"{_quote(text)} is not an e-mail address")
    return text


def to_int(value: object) -> int:
    if isinstance(value, bool):
        raise ConversionError("is a yes/no value, not a whole number")
    number = _as_decimal(value)
    if number != number.to_integral_value():
        raise ConversionError(f"{_quote(value)} is not a whole number")
    return _checked_int64(int(number), value)


def to_money_cents(value: object) -> int:
    """12.34, "12,34", "€ 1.234,50" -> cents."""
    if isinstance(value, bool):
        raise ConversionError("is a yes/no value, not an amount")
    amount = _as_decimal(_normalise_amount(value)) if isinstance(value, str) else _as_decimal(value)
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ConversionError(f"{_quote(value)} has more than two decimals")
    return _checked_int64(int(cents), value)


def to_boolean(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float | Decimal) and value in (0, 1):
        return bool(value)
    word = _as_text(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ConversionError(f"{_quote(value)} is not a yes/no value ({YES_NO_SPELLINGS})")


def to_gender(value: object, *, table: dict[str, str] | None = None) -> str:
    key = _as_text(value).strip().lower()
    result = (table or DEFAULT_GENDERS).get(key)
    if result is None and table:
        result = DEFAULT_GENDERS.get(key)
    if result not in ("M", "F"):
        raise ConversionError(f"{_quote(value)} is not a gender Spotler knows (M or F)")
    return result


def to_date(value: object, *, tz: ZoneInfo, month_first: bool = False) -> str:
    """A calendar date as `YYYY-MM-DD`; a date-time is first moved into `tz` (the shop's zone)."""
    return _parse_date(value, tz=tz, month_first=month_first).isoformat()


def to_datetime(value: object, *, tz: ZoneInfo, month_first: bool = False) -> str:
    """ISO 8601 with offset; a value without a zone is read as the shop's local time `tz`."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime.combine(value, time.min)
    else:
        text = _as_text(value).strip()
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            moment = datetime.combine(_parse_date(text, tz=tz, month_first=month_first), time.min)
    _check_range(moment, value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.isoformat(timespec="seconds")


def to_language(value: object, *, table: dict[str, str], default: str | None = None) -> str:
    """A shop locale through the marketer's value table (case-insensitive; `nl_NL` ~ `nl-nl`)."""
    key = _locale_key(_as_text(value))
    for source, target in table.items():
        if _locale_key(source) == key:
            return target
    if default is not None:
        return default
    raise ConversionError(f"{_quote(value)} has no row in the language table")


def join_levels(values: list[object], *, separator: str = " - ") -> str:
    """A multi-level store structure, e.g. "Shop NL - Dutch", as the integration guide advises."""
    parts = [_as_text(v).strip() for v in values if v not in (None, "")]
    return to_text(separator.join(parts))


def is_empty(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


def _parse_date(value: object, *, tz: ZoneInfo, month_first: bool) -> date:
    if isinstance(value, date):
        return _local_date(value, tz=tz, original=value)
    text = _as_text(value).strip()
    try:
        if len(text) == 10 and text[4] == "-":
            moment: date = date.fromisoformat(text)
        else:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as error:
        if "day is out of range" in str(error):
            raise ConversionError(f"{_quote(text)} is not a day in the calendar") from None
    else:
        return _local_date(moment, tz=tz, original=text)
    formats = DATE_FORMATS_MONTH_FIRST if month_first else DATE_FORMATS_DAY_FIRST
    for fmt in formats:
        try:
            day = datetime.strptime(text, fmt).date()  # noqa: DTZ007  (a date, no time)
        except ValueError as error:
            if "day is out of range" in str(error):
                raise ConversionError(f"{_quote(text)} is not a day in the calendar") from None
        else:
            return _local_date(day, tz=tz, original=text)
    raise ConversionError(f"{_quote(text)} is not a date (use 2026-11-22 or 22-11-2026)")


def _local_date(moment: date, *, tz: ZoneInfo, original: object) -> date:
    """The calendar day of `moment` (a date-time: in `tz`), once it is within the accepted
    years; moving year 9999 or year 1 into another zone would overflow Python's calendar."""
    _check_range(moment, original)
    if isinstance(moment, datetime):
        return (moment.astimezone(tz) if moment.tzinfo else moment).date()
    return moment


def _check_range(moment: date, original: object) -> None:
    problem = moment_range_problem(moment, name=_quote(original))
    if problem:
        raise ConversionError(problem.rstrip("."))


def _normalise_amount(text: str) -> str:
    cleaned = re.sub(r"[^\d,.\-]", "", text)
    if "," in cleaned and "." in cleaned:
        # the later separator is the decimal one: 1.234,50 or 1,234.50
        thousands = "." if cleaned.rfind(",") > cleaned.rfind(".") else ","
        cleaned = cleaned.replace(thousands, "")
    return cleaned.replace(",", ".")


def _as_decimal(value: object) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ConversionError(f"{_quote(value)} is not a number") from None
    if not number.is_finite():
        raise ConversionError(f"{_quote(value)} is not a number")
    return number


def _checked_int64(number: int, original: object) -> int:
    if abs(number) > INT64_MAX:
        raise ConversionError(f"{_quote(original)} is too large for Spotler")
    return number


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, dict | list):
        raise ConversionError("is a list or object, not a single value")
    return str(value)


def _locale_key(text: str) -> str:
    return text.strip().lower().replace("_", "-")


def _quote(value: object) -> str:
    text = str(value)
    return f"“{text[:40]}…”" if len(text) > 40 else f"“{text}”"
