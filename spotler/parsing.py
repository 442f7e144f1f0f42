"""Spotler JSON in, our dataclasses out, and back for request bodies.

Both base paths are read here (spotler-api.md §2.1): the unversioned one answers list calls
with `{paging, contacts|bounces}` and ISO timestamps, 1.1.0 with bare arrays and epoch
numbers. The shape is read from the answer, never guessed from the URL. Unknown fields are
ignored.
"""

from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any

from spotler.types import (
    BatchCode,
    BatchResult,
    Bounce,
    BounceType,
    Contact,
    Page,
    Property,
    PropertyEntry,
    TemporaryList,
)

# Epoch numbers at or above this are milliseconds: 1e11 seconds is the year 5138, 1e11
# milliseconds is 1973 (spotler-api.md §2.6: "try ms, sanity-check the magnitude").
EPOCH_MS_THRESHOLD = 100_000_000_000


class UnexpectedShape(ValueError):
    """Spotler answered 2xx with a body we cannot read."""


def parse_timestamp(value: Any) -> datetime | None:
    """An aware datetime from epoch seconds or milliseconds, or an ISO 8601 string.

    ISO strings without an offset are taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise UnexpectedShape(f"a timestamp was {value!r}")
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    if isinstance(value, int | float):
        seconds = value / 1000 if abs(value) >= EPOCH_MS_THRESHOLD else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError as exc:
            raise UnexpectedShape(f"a timestamp was {value!r}") from exc
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise UnexpectedShape(f"a timestamp was {value!r}")


def format_query_date(moment: datetime) -> str:
    """ISO 8601 with offset for `fromDate`/`toDate` (spotler-api.md §2.6)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("Spotler dates need a time zone: pass an aware datetime")
    return moment.isoformat(timespec="seconds")


def _is_set_value(value: Any) -> bool:
    return (
        isinstance(value, list)
        and bool(value)
        and all(isinstance(item, Mapping) and "bit" in item for item in value)
    )


def _parse_set(value: list[Mapping]) -> dict[int, bool]:
    return {int(item["bit"]): bool(item.get("enabled", False)) for item in value}


def _parse_channels(value: Any) -> dict[str, bool]:
    if isinstance(value, Mapping):
        return {str(name): bool(on) for name, on in value.items()}
    if isinstance(value, list):
        return {
            str(item["name"]): bool(item.get("value", False))
            for item in value
            if isinstance(item, Mapping) and "name" in item
        }
    return {}


def parse_contact(data: Any) -> Contact:
    """A `Contact` from Spotler's contact JSON (spotler-api.md §3.1, §7)."""
    if not isinstance(data, Mapping):
        raise UnexpectedShape(f"expected a contact object, got {type(data).__name__}")
    raw_properties = data.get("properties") or {}
    if not isinstance(raw_properties, Mapping):
        raise UnexpectedShape("a contact's properties were not an object")
    properties: dict[str, Any] = {}
    permissions: dict[int, bool] = {}
    for name, value in raw_properties.items():
        if name == "permissions":
            permissions = _parse_set(value) if _is_set_value(value) else {}
        elif _is_set_value(value):
            properties[name] = _parse_set(value)
        else:
            properties[name] = value
    external_id = data.get("externalId")
    return Contact(
        external_id=str(external_id) if external_id is not None else None,
        properties=properties,
        permissions=permissions,
        channels=_parse_channels(data.get("channels")),
        test_group=data.get("testGroup"),
        encrypted_id=data.get("encryptedId"),
        created=parse_timestamp(data.get("created")),
        last_changed=parse_timestamp(data.get("lastChanged")),
        temporary=data.get("temporary"),
    )


def parse_bounce(data: Any) -> Bounce:
    """A `Bounce` from a `ContactBounce` (spotler-api.md §6)."""
    if not isinstance(data, Mapping):
        raise UnexpectedShape(f"expected a bounce object, got {type(data).__name__}")
    raw_type = str(data.get("type") or "")
    try:
        bounce_type: BounceType | str = BounceType(raw_type)
    except ValueError:
        bounce_type = raw_type
    return Bounce(
        date=parse_timestamp(data.get("date")),
        type=bounce_type,
        contact=parse_contact(data.get("contact") or {}),
        encrypted_act_id=data.get("encryptedActId"),
    )


def parse_property(data: Any) -> Property:
    """A `Property` from `contact/properties/list` (spotler-api.md §4)."""
    if not isinstance(data, Mapping) or "name" not in data:
        raise UnexpectedShape("a property without a name")
    entries = tuple(
        PropertyEntry(
            bit=int(entry["bit"]),
            description=str(entry.get("description") or ""),
            rank=int(entry["rank"]) if entry.get("rank") is not None else None,
        )
        for entry in data.get("entries") or []
        if isinstance(entry, Mapping) and "bit" in entry
    )
    return Property(
        name=str(data["name"]),
        description=str(data.get("description") or ""),
        type=str(data.get("type") or ""),
        entries=entries,
    )


def parse_temporary_list(data: Any) -> TemporaryList:
    """A `TemporaryList` from `GET templist` (spotler-api.md §10)."""
    if not isinstance(data, Mapping):
        raise UnexpectedShape(f"expected a list object, got {type(data).__name__}")
    external_id = data.get("externalTemporaryListId")
    return TemporaryList(
        external_id=str(external_id) if external_id is not None else None,
        name=str(data.get("name") or ""),
        created_at=parse_timestamp(data.get("createdAt")),
        type=data.get("type"),
    )


def parse_batch_result(data: Any) -> BatchResult:
    """A `BatchResult` from an `AddContactResponse` (spotler-api.md §5.2)."""
    if not isinstance(data, Mapping):
        raise UnexpectedShape(f"expected a batch result object, got {type(data).__name__}")
    raw_code = str(data.get("code") or "")
    try:
        code: BatchCode | str = BatchCode(raw_code)
    except ValueError:
        code = raw_code
    external_id = data.get("externalId")
    return BatchResult(
        external_id=str(external_id) if external_id is not None else None,
        code=code,
        message=str(data.get("message") or ""),
    )


def parse_list(body: Any, parse_item) -> list:
    """A bare JSON array of items (properties, templists, batch results)."""
    if not isinstance(body, list):
        raise UnexpectedShape(f"expected a JSON array, got {type(body).__name__}")
    return [parse_item(item) for item in body]


def parse_page(body: Any, *, key: str, parse_item) -> Page:
    """One page from a `{paging: {next, after}, <key>: [...]}` wrapper or a bare array."""
    if isinstance(body, list):
        return Page(items=[parse_item(item) for item in body])
    if not isinstance(body, Mapping):
        raise UnexpectedShape(f"expected a page, got {type(body).__name__}")
    items = body.get(key)
    if items is None:
        items = []
    if not isinstance(items, list):
        raise UnexpectedShape(f"the page's {key!r} was not a list")
    paging = body.get("paging") or {}
    after = paging.get("after") if isinstance(paging, Mapping) else None
    if isinstance(after, str) and after.strip().isdigit():
        after = int(after)
    if after == "":
        after = None
    next_url = paging.get("next") if isinstance(paging, Mapping) else None
    return Page(items=[parse_item(item) for item in items], after=after, next_url=next_url or None)


def _wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("datetime property values need a time zone")
        return value.isoformat()
    if isinstance(value, date):
        # Spotler's date-type properties take a plain date (spotler-api.md §2.6).
        return value.isoformat()
    if isinstance(value, Mapping) and value and all(isinstance(k, int) for k in value):
        return _wire_set(value)
    return value


def _wire_set(bits: Mapping[int, bool]) -> list[dict[str, Any]]:
    return [{"bit": int(bit), "enabled": bool(on)} for bit, on in sorted(bits.items())]


def contact_to_wire(contact: Contact) -> dict[str, Any]:
    """The `Contact` JSON Spotler takes on writes (spotler-api.md §3.1, §3.2)."""
    properties = {name: _wire_value(value) for name, value in contact.properties.items()}
    if contact.permissions:
        properties["permissions"] = _wire_set(contact.permissions)
    wire: dict[str, Any] = {}
    if contact.external_id is not None:
        wire["externalId"] = contact.external_id
    if contact.test_group is not None:
        wire["testGroup"] = contact.test_group
    wire["properties"] = properties
    if contact.channels:
        wire["channels"] = [{"name": n, "value": bool(v)} for n, v in contact.channels.items()]
    return wire
