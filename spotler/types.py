"""What the Spotler client hands back: plain dataclasses, never Spotler's raw JSON.

Field names are ours (snake_case); each class names the Spotler model it reads
(spotler-api.md §3, §4, §5.2, §6, §10).
"""

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Contact:
    """A Spotler contact (model `Contact`, spotler-api.md §3.1).

    `properties` holds every property but `permissions`, keyed by the names of
    `contact/properties/list`; set-type values are `{bit: enabled}` maps. `permissions` and
    `channels` are `{bit: enabled}` and `{"EMAIL": True}`. On writes only `external_id`,
    `properties`, `permissions`, `channels` (when not empty) and `test_group` (when not None)
    are sent; the other fields are Spotler's and read-only.
    """

    external_id: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    permissions: dict[int, bool] = field(default_factory=dict)
    channels: dict[str, bool] = field(default_factory=dict)
    test_group: bool | None = None
    encrypted_id: str | None = None
    created: datetime | None = None
    last_changed: datetime | None = None
    temporary: bool | None = None

    @property
    def email(self) -> str | None:
        return self.properties.get("email")


class BounceType(StrEnum):
    HARD = "HARDBOUNCE"
    SOFT = "SOFTBOUNCE"


@dataclass(frozen=True)
class Bounce:
    """A bounced mail (model `ContactBounce`, spotler-api.md §6).

    `type` is a `BounceType`, or Spotler's own string should it ever send another value.
    """

    date: datetime | None
    type: BounceType | str
    contact: Contact
    encrypted_act_id: str | None = None

    @property
    def hard(self) -> bool:
        return self.type == BounceType.HARD


@dataclass(frozen=True)
class PropertyEntry:
    """One choice of a set-type property, e.g. one permission (spotler-api.md §4)."""

    bit: int
    description: str
    rank: int | None = None


@dataclass(frozen=True)
class Property:
    """A contact property Spotler knows (model `Property`, spotler-api.md §4)."""

    name: str
    description: str
    type: str
    entries: tuple[PropertyEntry, ...] = ()

    @property
    def bits(self) -> list[int]:
        return [entry.bit for entry in self.entries]


@dataclass(frozen=True)
class TemporaryList:
    """A temporary list of the account (model `TemporaryList`, spotler-api.md §10).

    `external_id` is None for lists not made through the API (imports, splits).
    """

    external_id: str | None
    name: str
    created_at: datetime | None = None
    type: str | None = None


class BatchCode(StrEnum):
    """The per-contact result codes of `POST contact/list` (spotler-api.md §2.5)."""

    OK = "OK"
    PROPERTY_INVALID = "PROPERTY_INVALID"
    CONTACT_ALREADY_EXISTS = "CONTACT_ALREADY_EXISTS"
    CONTACT_UNKNOWN = "CONTACT_UNKNOWN"
    CONTACT_OPTOUT = "CONTACT_OPTOUT"
    NO_ACTIVE_CHANNEL = "NO_ACTIVE_CHANNEL"
    ERROR = "ERROR"


@dataclass(frozen=True)
class BatchResult:
    """What Spotler said about one contact of a batch upsert (`AddContactResponse`, §5.2)."""

    external_id: str | None
    code: BatchCode | str
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.code == BatchCode.OK


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a paged list (spotler-api.md §2.7).

    `after` is the cursor for the page after this one, None on the last page: store it to
    resume the same query (same window, same page size) where it stopped. A bare-array answer
    (the 1.1.0 path) is one page with no cursor.
    """

    items: list[T]
    after: int | str | None = None
    next_url: str | None = None

    @property
    def last(self) -> bool:
        return self.after is None


class Inactivation(StrEnum):
    """How `inactivate_contact` made a contact inactive (spotler-api.md §8, §0.3)."""

    INACTIVATED = "inactivated"  # PUT contact/inactivate/{externalId}: blacklisted
    PERMISSIONS_OFF = "permissions_off"  # fallback: every permission bit switched off
