"""Spotler's JSON shapes, on the two base paths (spotler-api.md §2.1, §0.3).

`/integrationservice/` answers list calls with `{paging, contacts|bounces}` and ISO 8601
timestamps; `/integrationservice-1.1.0/` with bare arrays and epoch-millisecond numbers.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from spotler.sandbox.bounces import Bounce
from spotler.sandbox.catalogue import SET_PROPERTIES
from spotler.sandbox.clock import epoch_milliseconds
from spotler.sandbox.contacts import Contact
from spotler.sandbox.templists import TemporaryList

# Spotler is a Dutch service; its ISO timestamps carry the Amsterdam offset, which keeps
# clients honest about time zones.
SPOTLER_ZONE = ZoneInfo("Europe/Amsterdam")


@dataclass(frozen=True)
class Dialect:
    """One base path and the shapes it answers in."""

    prefix: str
    bare_lists: bool
    epoch_timestamps: bool

    def timestamp(self, moment: datetime) -> int | str:
        if self.epoch_timestamps:
            return epoch_milliseconds(moment)
        return moment.astimezone(SPOTLER_ZONE).isoformat(timespec="milliseconds")


CURRENT = Dialect(prefix="/integrationservice/", bare_lists=False, epoch_timestamps=False)
V110 = Dialect(prefix="/integrationservice-1.1.0/", bare_lists=True, epoch_timestamps=True)
DIALECTS = (CURRENT, V110)


def contact_json(contact: Contact, dialect: Dialect) -> dict[str, Any]:
    """A `Contact` (spotler-api.md §3.1); properties without a value are left out."""
    data: dict[str, Any] = {}
    if contact.external_id is not None:
        data["externalId"] = contact.external_id
    data.update(
        {
            "created": dialect.timestamp(contact.created),
            "encryptedId": contact.encrypted_id,
            "testGroup": contact.test_group,
            "lastChanged": dialect.timestamp(contact.last_changed),
            "temporary": False,
            "properties": properties_json(contact.properties),
            # A blacklisted contact gets no mail at all: its e-mail channel is off.
            "channels": [{"name": "EMAIL", "value": not contact.blacklisted}],
        }
    )
    return data


def properties_json(properties: dict[str, Any]) -> dict[str, Any]:
    """Plain values as stored; set-type properties as every bit with `enabled` and its label."""
    data = {name: value for name, value in properties.items() if not isinstance(value, dict)}
    for definition in SET_PROPERTIES:
        bits = properties.get(definition.name) or {}
        data[definition.name] = [
            {"bit": e.bit, "enabled": bits.get(e.bit, False), "description": e.description}
            for e in definition.entries
        ]
    return data


def bounce_json(bounce: Bounce, contact: Contact, dialect: Dialect) -> dict[str, Any]:
    """A `ContactBounce` (spotler-api.md §6)."""
    return {
        "date": dialect.timestamp(bounce.date),
        "type": bounce.type,
        "contact": contact_json(contact, dialect),
        "encryptedActId": bounce.encrypted_act_id,
    }


def templist_json(item: TemporaryList, dialect: Dialect) -> dict[str, Any]:
    """A `TemporaryList` (spotler-api.md §10)."""
    return {
        "externalTemporaryListId": item.external_id,
        "name": item.name,
        "createdAt": dialect.timestamp(item.created_at),
        "type": item.type,
    }


def page_json(key: str, items: list[Any], *, next_url: str | None, after: int | None) -> dict:
    """The paged wrapper; the last page has neither `next` nor `after`."""
    paging = {} if after is None else {"next": next_url, "after": after}
    return {"paging": paging, key: items}
