"""Request and response schemas of the ingest API (they make its OpenAPI document)."""

import re
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from ninja import Field, Schema
from pydantic import AwareDatetime, BeforeValidator, PlainValidator, WithJsonSchema

from contacts import batch, feed, source_fields
from contacts.api_errors import TIME_ZONE_HINT
from contacts.models import EXTERNAL_ID_PATTERN, ChangeKind
from mapping import conversions
from spotlersync import email_addresses
from spotlersync.moments import EARLIEST_YEAR, LATEST_YEAR, YEAR_PATTERN

# The checks `source_fields` and the mapping's yes/no check make, as JSON Schema: what the
# OpenAPI document promises the linked system. Each is built from the constant the check uses.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x1F\x7F-\x9F]*$"
# Spaces around a yes/no word are ignored; control characters are refused anywhere.
_SPACE = r"[^\S\x00-\x1F\x7F-\x9F]*"


def text_schema(max_length: int) -> dict[str, Any]:
    return {"type": "string", "maxLength": max_length, "pattern": NO_CONTROL_CHARACTERS}


def scalar_schema(name: str | None = None) -> dict[str, Any]:
    """A source field's value: one JSON scalar; text at most as long as the field allows."""
    limit = source_fields.MAX_LENGTH.get(name or "", source_fields.DEFAULT_MAX_LENGTH)
    return {
        "anyOf": [text_schema(limit), {"type": ["number", "boolean", "null"]}],
        "description": (
            f"Text (at most {limit} characters, no control characters), a number, "
            "true/false or null."
        ),
    }


def any_case(word: str) -> str:
    """`yes` -> `[yY][eE][sS]`: the pattern of a word in any case (JSON Schema patterns have no
    flags), as the check compares `str.lower()`."""
    return "".join(
        f"[{char}{char.upper()}]" if char.upper() != char else literal(char) for char in word
    )


def literal(char: str) -> str:
    # Only regex syntax is escaped: ECMA-262's unicode mode refuses other escapes, such as `\-`.
    return "\\" + char if char in r"\^$.|?*+()[]{}/" else char


def yes_no_schema() -> dict[str, Any]:
    """A consent or yes/no source field: what `conversions.to_boolean` can read, or empty."""
    spellings = [*conversions.TRUE_SPELLINGS, *conversions.FALSE_SPELLINGS]
    words = "|".join(any_case(word) for word in spellings)
    limit = source_fields.DEFAULT_MAX_LENGTH
    return {
        "anyOf": [
            {"type": ["boolean", "null"]},
            {"type": "number", "enum": [0, 1]},
            {"type": "string", "maxLength": limit, "pattern": f"^{_SPACE}({words})?{_SPACE}$"},
        ],
        "description": (
            "A yes/no value the mapping reads (a consent or yes/no row): true/false, 1/0, null, "
            f"or text in any case ({conversions.YES_NO_SPELLINGS}); empty text means no value."
        ),
    }


def email_schema() -> dict[str, Any]:
    """The one e-mail rule of the ingest check and the push, as a pattern (no `format: email`,
    whose meaning differs between validators)."""
    return {
        "type": "string",
        "maxLength": email_addresses.MAX_LENGTH,
        "pattern": email_addresses.EMAIL_PATTERN,
        "allOf": [{"pattern": email_addresses.LOCAL_PART_PATTERN}],
        "description": (
            "A plain address: up to 64 ASCII letters, digits and ! # $ % & ' * + / = ? ^ _ ` "
            "{ | } ~ - before the @, single dots between them; a domain of ASCII labels with "
            "at least one dot, an internationalised domain in its xn-- form; no quotes, no IP "
            "address, no spaces around it (refused, not trimmed)."
        ),
        "examples": [ANNA],
    }


ANNA = "anna@example.com"
KNOWN_FIELDS = ("first_name", "last_name", "language", "account_manager")


def contact_fields_schema(*, yes_no_fields: Iterable[str], in_batch: bool) -> dict[str, Any]:
    """A contact's source fields (PUT's body; with `external_id`, a batch item).

    `yes_no_fields`: the source fields the mapping in force reads as yes/no (`newsletter` by
    default), which refuse other values.
    """
    properties: dict[str, Any] = {"email": email_schema()}
    properties |= {name: scalar_schema(name) for name in KNOWN_FIELDS}
    properties |= {name: yes_no_schema() for name in sorted(yes_no_fields)}
    names: dict[str, Any] = {"pattern": source_fields.FIELD_NAME.pattern}
    required = ["email"]
    if in_batch:
        properties = {"external_id": external_id_schema(), **properties}
        required = ["external_id", "email"]
    else:
        # In the URL, not among the fields (the same value is tolerated, another one refused).
        names["not"] = {"const": "external_id"}
    return {
        "type": "object",
        "description": (
            "The flat object of source fields: `email` is required; any other field is kept "
            "too, named with 1 to 64 letters, digits and _ (starting with a letter), holding "
            f"one scalar; at most {source_fields.MAX_FIELDS} fields."
        ),
        "properties": properties,
        "required": required,
        "propertyNames": names,
        "additionalProperties": scalar_schema(),
        "maxProperties": source_fields.MAX_FIELDS,
    }


def external_id_schema() -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": EXTERNAL_ID_PATTERN,
        "description": "1 to 100 letters, digits and . _ : @ - (starting with a letter or digit).",
        "examples": ["C1001"],
    }


class ContactOut(Schema):
    external_id: str
    changed: bool | None = Field(None, description="On writes: false when it was a replay.")
    fields: dict[str, Any]
    email: str
    language: str
    account_manager: str
    sync_status: str = Field(
        ...,
        description=(
            "Where the contact stands in Spotler: `pending`, `synced`, `failed`, `dismissed` "
            "(a failure someone chose to leave), `anonymized`, `inactive`; `held` (held for "
            "review: under e-mail deduplication another contact has its address, and an Admin "
            "decides), `merged` (an Admin merged it into that contact: never sent) or "
            "`local_only` (kept here, never sent). `sync_error` says why."
        ),
    )
    sync_error: str
    shares_address_with: str | None = Field(
        None,
        description=(
            "The external id of the other contact with this e-mail address, when the contact "
            "was held for review because of it (and after an Admin's answer); null otherwise."
        ),
    )
    synced_at: datetime | None
    changed_at: datetime
    created_at: datetime
    first_purchase_at: datetime | None
    last_purchase_at: datetime | None
    inactivated_at: datetime | None
    erased_at: datetime | None


class ErrorOut(Schema):
    error: str
    detail: str
    fields: dict[str, str]


class BatchIn(Schema):
    contacts: list[Any] = Field(
        ...,
        description=(
            f"Up to {batch.MAX_BATCH} contacts (`BatchContact`), each with its `external_id`. "
            "An item that is not a valid contact is rejected on its own (see `results`); the "
            "others still apply."
        ),
        json_schema_extra={"maxItems": batch.MAX_BATCH},
    )


class BatchItemErrorOut(ErrorOut):
    status: int = Field(
        ..., description="The status this item alone would have been answered with."
    )


class BatchItemOut(Schema):
    index: int
    external_id: Any
    status: str = Field(..., description="`accepted` or `rejected`")
    changed: bool | None = None
    sync_status: str | None = None
    error: BatchItemErrorOut | None = None


class BatchOut(Schema):
    accepted: int
    rejected: int
    results: list[BatchItemOut]


# An order's value: what `Order.value` holds (12 digits, 2 of them decimals), as written.
MAX_WHOLE_DIGITS = 10
AMOUNT_PATTERN = rf"^-?[0-9]{{1,{MAX_WHOLE_DIGITS}}}(\.[0-9]{{1,2}}0*)?$"
LARGEST_AMOUNT = Decimal("9" * MAX_WHOLE_DIGITS + ".99")
DATE_TIME_HINT = (
    "Send the date and time as ISO 8601 text with its offset, e.g. 2026-11-22T10:00:00+01:00"
)
# RFC 3339's date-time (what `format: date-time` means), offset required.
RFC3339_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})",
    re.IGNORECASE,
)


def read_amount(value: Any) -> Decimal:
    """The amount as the linked system wrote it: a JSON number or text, at most two decimals.

    A number is read through its shortest spelling (what the JSON said), so 0.1 is 0.10 and
    0.30000000000000004 is refused rather than rounded.
    """
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = repr(value)
    if not isinstance(value, str) or not re.fullmatch(AMOUNT_PATTERN, value):
        raise ValueError(
            f"Send an amount with at most {MAX_WHOLE_DIGITS} digits before the decimal point "
            "and 2 after it, as a number or as text, e.g. 49.95"
        )
    return Decimal(value)


def read_date_time(value: Any) -> Any:
    """Only ISO 8601 text with an offset (RFC 3339) becomes a moment; pydantic alone would also
    take a number of seconds or a date-time without seconds."""
    if not isinstance(value, str) or not RFC3339_DATE_TIME.fullmatch(value):
        without_zone = isinstance(value, str) and RFC3339_DATE_TIME.fullmatch(value + "Z")
        raise ValueError(TIME_ZONE_HINT if without_zone else DATE_TIME_HINT)
    return value


Amount = Annotated[
    Decimal,
    PlainValidator(read_amount),
    WithJsonSchema(
        {
            "anyOf": [
                {
                    "type": "number",
                    "minimum": -float(LARGEST_AMOUNT),
                    "maximum": float(LARGEST_AMOUNT),
                    "multipleOf": 0.01,
                },
                {"type": "string", "pattern": AMOUNT_PATTERN},
            ],
            "description": (
                f"At most {MAX_WHOLE_DIGITS} digits before the decimal point and 2 after it, "
                "as a number or as text."
            ),
            "examples": ["49.95"],
        }
    ),
]
OrderMoment = Annotated[
    AwareDatetime,
    BeforeValidator(read_date_time),
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": YEAR_PATTERN,
            "description": f"With its offset; the year from {EARLIEST_YEAR} to {LATEST_YEAR}, "
            "as written and in UTC.",
            "examples": ["2026-11-22T10:00:00+01:00"],
        }
    ),
]


ID_WORDS = {key: external_id_schema()[key] for key in ("description", "examples")}


class OrderIn(Schema):
    external_id: str = Field(..., pattern=EXTERNAL_ID_PATTERN, **ID_WORDS)
    contact_external_id: str = Field(..., pattern=EXTERNAL_ID_PATTERN, **ID_WORDS)
    date: OrderMoment
    value: Amount


class OrderOut(Schema):
    external_id: str
    contact_external_id: str
    date: datetime
    value: Decimal


class OrderResultOut(Schema):
    changed: bool
    order: OrderOut
    contact: ContactOut


class ChangeOut(Schema):
    cursor: int
    kind: str = Field(
        ...,
        description="What happened: " + ", ".join(f"`{kind}`" for kind in ChangeKind.values)
        + "; a client should skip kinds it does not know, as new ones may be added.",
    )  # fmt: skip
    external_id: str
    payload: dict[str, Any]
    created_at: datetime


class ChangesOut(Schema):
    changes: list[ChangeOut]
    next_cursor: int = Field(..., description="Pass as `after` next time.")


# A number in the query string, as written: the digits 0-9 and nothing else.
DIGITS_PATTERN = r"^[0-9]+$"
# 2**63 - 1, the largest cursor, has 19 digits; longer text is refused before it is converted.
MOST_DIGITS = 19


def read_digits(value: Any) -> Any:
    """Query text is read only as digits: pydantic alone would also take " 1", "+1", "1_000",
    "1.0" and "1\n" (a trailing newline)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if not isinstance(value, str) or not re.fullmatch(DIGITS_PATTERN, value):
        raise ValueError("Send a whole number written with the digits 0-9 only, e.g. 42")
    if len(value.lstrip("0")) > MOST_DIGITS:
        raise ValueError(f"Send a number of at most {MOST_DIGITS} digits")
    return value


QueryNumber = Annotated[int, BeforeValidator(read_digits)]


class ChangesQuery(Schema):
    after: QueryNumber = Field(
        0,
        ge=0,
        le=2**63 - 1,
        description="The last cursor you processed, in digits; 0 to start.",
        json_schema_extra={"pattern": DIGITS_PATTERN},
    )
    limit: QueryNumber = Field(
        feed.DEFAULT_LIMIT,
        ge=1,
        le=feed.MAX_LIMIT,
        description=f"How many changes to return, in digits: 1 to {feed.MAX_LIMIT}.",
        json_schema_extra={"pattern": DIGITS_PATTERN},
    )


ERRORS = {code: ErrorOut for code in (400, 401, 403, 404, 409, 413, 422, 429)}
