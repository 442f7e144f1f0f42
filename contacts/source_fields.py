"""Checking the flat object of source fields the linked system sends for one contact.

One cleaner for every way in (PUT, batch items, and later the CSV import), so each gives the
same answer for the same input. Problems are collected per field, in words a person can act on.
"""

import hashlib
import json
import math
import re
from collections.abc import Callable
from typing import Any

from contacts.errors import BODY, InvalidFields
from contacts.models import is_external_id
from spotlersync import email_addresses
from spotlersync.email_addresses import email_address_problem

MAX_FIELDS = 100
# Match with `fullmatch`: Python's `$` also matches before a final newline ("first_name\n").
FIELD_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
# Longest text accepted per field; names and free text get the default.
MAX_LENGTH = {"email": email_addresses.MAX_LENGTH, "language": 35, "account_manager": 200}
DEFAULT_MAX_LENGTH = 1000
# `external_id` travels in the URL (PUT) or beside the fields (batch), never among them.
NOT_A_SOURCE_FIELD = {"external_id"}


def clean_external_id(value: Any) -> str:
    if value is None or value == "":
        raise InvalidFields({"external_id": "An external id is required."})
    if not is_external_id(value):
        raise InvalidFields(
            {
                "external_id": "Use 1 to 100 letters, digits and . _ : @ - "
                "(starting with a letter or digit)."
            }
        )
    return value


def clean_source_fields(
    raw: Any, *, check_values: Callable[[dict[str, Any]], dict[str, str]] | None = None
) -> dict[str, Any]:
    """Return the fields to store, or raise `InvalidFields` naming every bad field.

    `check_values` adds problems found by looking at the cleaned fields together (the ingest
    passes the mapping's yes/no check); a field already refused keeps its first problem.
    """
    if not isinstance(raw, dict):
        raise InvalidFields({BODY: 'Send a JSON object of source fields, e.g. {"email": ...}.'})
    if len(raw) > MAX_FIELDS:
        raise InvalidFields({BODY: f"Send at most {MAX_FIELDS} fields per contact."})
    problems: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in raw.items():
        if name in NOT_A_SOURCE_FIELD:
            continue
        problem = field_name_problem(name) or value_problem(name, value)
        if problem:
            problems[name] = problem
        else:
            cleaned[name] = value.strip() if isinstance(value, str) else value
    # The address as sent: one with spaces around it is refused, as the OpenAPI document says.
    email_problem = problems.get("email") or email_field_problem(raw.get("email"))
    if email_problem:
        problems["email"] = email_problem
    if check_values is not None:
        for name, problem in check_values(cleaned).items():
            problems.setdefault(name, problem)
    if problems:
        raise InvalidFields(problems)
    return cleaned


def field_name_problem(name: str) -> str | None:
    if not FIELD_NAME.fullmatch(name):
        return "Field names are 1 to 64 letters, digits and underscores, starting with a letter."
    return None


def value_problem(name: str, value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "Send a finite number (NaN and Infinity are not JSON numbers)."
    if value is None or isinstance(value, bool | int | float):
        return None
    if not isinstance(value, str):
        return "Send a single value (text, number, true/false or null), not a list or object."
    limit = MAX_LENGTH.get(name, DEFAULT_MAX_LENGTH)
    if len(value) > limit:
        return f"This is {len(value)} characters long; the most accepted is {limit}."
    bad = first_forbidden_character(value)
    if bad is not None:
        return f"Contains a control character (U+{ord(bad):04X}); remove it and send again."
    return None


# Control characters (Unicode category Cc, including NUL, which PostgreSQL refuses) and lone
# surrogates (Cs, which cannot be stored as UTF-8) have no place in a contact's data. Unicode's
# stability policy fixes both sets; a test compares this with `unicodedata.category` over every
# code point.
FORBIDDEN_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def first_forbidden_character(value: str) -> str | None:
    found = FORBIDDEN_CHARACTER.search(value)
    return found.group() if found else None


def email_field_problem(value: Any) -> str | None:
    if value is None or value == "":
        return "An e-mail address is required."
    if not isinstance(value, str):
        return "Send the e-mail address as text."
    return email_address_problem(value)


def hash_fields(fields: dict[str, Any]) -> str:
    """Same fields, same hash, whatever the key order: how a replayed PUT is recognised."""
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()
