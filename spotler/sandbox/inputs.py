"""What a Spotler call asks for: bodies and query parameters, refused the way Spotler does."""

from datetime import datetime
from typing import Any

from spotler.sandbox.catalogue import clean_properties
from spotler.sandbox.clock import parse_aware
from spotler.sandbox.contacts import Write
from spotler.sandbox.errors import invalid_params
from spotler.sandbox.paging import MAX_PAGE_SIZE

MAX_BATCH = 100


def contact_request(body: Any) -> tuple[bool, bool, dict[str, Any]]:
    """(update, purge, contact) from a `ContactRequest` (spotler-api.md §3.3)."""
    if not isinstance(body, dict):
        raise invalid_params("Request body must be a ContactRequest object")
    contact = body.get("contact")
    if not isinstance(contact, dict):
        raise invalid_params("No contact given")
    return flag(body, "update"), flag(body, "purge"), contact


def flag(body: dict[str, Any], name: str) -> bool:
    value = body.get(name, False)
    if value is None:
        return False
    if not isinstance(value, bool):
        raise invalid_params(f"{name} must be true or false")
    return value


def external_id(contact: dict[str, Any], *, required: bool = True) -> str | None:
    """The contact's externalId; numbers are taken as text, as Spotler's Java backend does."""
    value = contact.get("externalId")
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if isinstance(value, str) and value.strip():
        return value
    if value is None and not required:
        return None
    raise invalid_params("Contact without externalId found")


def contact_write(contact: dict[str, Any], *, purge: bool) -> Write:
    """The properties and test-group flag a Contact object asks to write."""
    test_group = contact.get("testGroup")
    if test_group is not None and not isinstance(test_group, bool):
        raise invalid_params("testGroup must be true or false")
    # `channels` is read-only in the Swagger but every client sends it; it is ignored.
    return Write(clean_properties(contact.get("properties")), purge=purge, test_group=test_group)


def batch_contacts(body: Any) -> tuple[bool, bool, list[dict[str, Any]]]:
    """(update, purge, contacts) from an `AddContactsRequest` (spotler-api.md §5.2)."""
    if not isinstance(body, dict) or not isinstance(body.get("contacts"), list):
        raise invalid_params("No contacts given")
    contacts = body["contacts"]
    if len(contacts) > MAX_BATCH:
        raise invalid_params(f"Too many contacts provided (max is {MAX_BATCH})")
    if not all(isinstance(item, dict) for item in contacts):
        raise invalid_params("Every contact must be an object")
    for item in contacts:
        external_id(item)
    return flag(body, "update"), flag(body, "purge"), contacts


def window(params: dict[str, str]) -> tuple[datetime, datetime]:
    """fromDate and toDate: ISO 8601 with an offset (spotler-api.md §2.6)."""
    start = parse_aware(params.get("fromDate", ""))
    if start is None:
        raise invalid_params("Invalid fromDate or no fromDate given")
    end = parse_aware(params.get("toDate", ""))
    if end is None:
        raise invalid_params("Invalid toDate or no toDate given")
    if start > end:
        raise invalid_params("fromDate must not be after toDate")
    return start, end


def paging(params: dict[str, str], *, required: bool) -> tuple[int | None, int | None]:
    """(pageSize, after); pageSize is required where the Swagger says so (§2.7)."""
    raw_size = params.get("pageSize", "")
    if not raw_size and not required:
        size = None
    elif raw_size.isdigit() and int(raw_size) >= 1:
        size = min(int(raw_size), MAX_PAGE_SIZE)
    else:
        raise invalid_params("Invalid pageSize or no pageSize given")
    raw_after = params.get("after", "")
    if raw_after and not raw_after.isdigit():
        raise invalid_params("Invalid after: expected the cursor from paging.after")
    return size, int(raw_after) if raw_after else None


def search_query(params: dict[str, str]) -> tuple[str, str]:
    """(name, value) from `MPSearchQuery=name=value` (spotler-api.md §12)."""
    query = params.get("MPSearchQuery", "")
    name, equals, value = query.partition("=")
    if not equals or not name.strip():
        raise invalid_params("Invalid MPSearchQuery or no MPSearchQuery given: expected name=value")
    return name.strip(), value


def text(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value.strip():
        raise invalid_params(f"{name} is required")
    return value


def contact_ids(body: dict[str, Any], *, required: bool) -> list[str]:
    """The externalIds in a templist request's `contacts`."""
    value = body.get("contacts")
    if value is None and not required:
        return []
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise invalid_params("contacts must be a list of contact externalIds")
    return value
