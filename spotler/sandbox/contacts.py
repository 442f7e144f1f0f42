"""The account's contacts, and how writes change them (spotler-api.md §3, §5, §7 to §9, §11 to §12).

Not thread-safe by itself: the `Account` holds the lock around every call.
"""

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from spotler.sandbox.catalogue import (
    BY_NAME,
    email_invalid,
    normalise_email,
    property_invalid,
)
from spotler.sandbox.clock import now
from spotler.sandbox.errors import ApiError, contact_not_found, invalid_state
from spotler.sandbox.paging import Page, take_page


@dataclass
class Contact:
    """One contact as Spotler stores it; set-type properties are kept as `{bit: enabled}`."""

    key: int
    external_id: str | None
    encrypted_id: str
    created: datetime
    last_changed: datetime
    change_seq: int
    properties: dict[str, Any] = field(default_factory=dict)
    test_group: bool = False
    blacklisted: bool = False
    anonymized: bool = False

    @property
    def email(self) -> str | None:
        return self.properties.get("email")

    def to_json(self) -> dict[str, Any]:
        properties = {
            name: {str(bit): on for bit, on in value.items()} if isinstance(value, dict) else value
            for name, value in self.properties.items()
        }
        return {
            "key": self.key,
            "externalId": self.external_id,
            "encryptedId": self.encrypted_id,
            "created": self.created.isoformat(),
            "lastChanged": self.last_changed.isoformat(),
            "changeSeq": self.change_seq,
            "properties": properties,
            "testGroup": self.test_group,
            "blacklisted": self.blacklisted,
            "anonymized": self.anonymized,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Contact":
        properties = {
            name: {int(bit): on for bit, on in value.items()} if isinstance(value, dict) else value
            for name, value in data["properties"].items()
        }
        return cls(
            key=data["key"],
            external_id=data["externalId"],
            encrypted_id=data["encryptedId"],
            created=datetime.fromisoformat(data["created"]),
            last_changed=datetime.fromisoformat(data["lastChanged"]),
            change_seq=data["changeSeq"],
            properties=properties,
            test_group=data["testGroup"],
            blacklisted=data["blacklisted"],
            anonymized=data["anonymized"],
        )


@dataclass(frozen=True)
class Write:
    """What one API call asks to change: checked properties and the ContactRequest flags."""

    properties: dict[str, Any]
    purge: bool = False
    test_group: bool | None = None


class ContactBook:
    """Contacts by internal key, with indexes on externalId and e-mail."""

    def __init__(self) -> None:
        self._by_key: dict[int, Contact] = {}
        self._by_external_id: dict[str, int] = {}
        self._by_email: dict[str, set[int]] = {}
        self._next_key = 1
        self._next_seq = 1

    def __len__(self) -> int:
        return len(self._by_key)

    def all(self) -> list[Contact]:
        return list(self._by_key.values())

    def find(self, external_id: str) -> Contact | None:
        key = self._by_external_id.get(external_id)
        return None if key is None else self._by_key[key]

    def by_key(self, key: int) -> Contact:
        return self._by_key[key]

    def get(self, external_id: str) -> Contact:
        contact = self.find(external_id)
        if contact is None:
            raise contact_not_found()
        return contact

    def find_by_reference(self, reference: str) -> Contact | None:
        """By externalId or, for contacts without one, by encryptedId (control surface)."""
        found = self.find(reference)
        if found is not None:
            return found
        return next((c for c in self._by_key.values() if c.encrypted_id == reference), None)

    def find_by_email(self, email: str) -> Contact | None:
        """The oldest contact with this address, the one Spotler's e-mail dedupe lands on."""
        keys = self._by_email.get(normalise_email(email))
        return self._by_key[min(keys)] if keys else None

    def upsert(
        self, external_id: str, write: Write, *, update: bool, dedupe_on_email: bool
    ) -> tuple[Contact, str]:
        """POST contact: insert, or update when `update` is true; returns (contact, outcome).

        With e-mail dedupe, a new externalId whose e-mail exists merges into that contact and
        rewrites its externalId (spotler-api.md §13.3, the project's §0.3 decision).
        """
        contact = self.find(external_id)
        if contact is not None:
            if not update:
                raise ApiError(400, "CONTACT_ALREADY_EXISTS", "Contact already exists")
            self._write(contact, write)
            return contact, "updated"
        email = write.properties.get("email")
        twin = self.find_by_email(email) if dedupe_on_email and email else None
        if twin is not None:
            self._rename(twin, external_id)
            self._write(twin, write)
            return twin, "merged"
        return self._insert(external_id, write), "inserted"

    def update(self, external_id: str, write: Write) -> Contact:
        """PUT contact/{externalId}: only existing contacts."""
        contact = self.get(external_id)
        self._write(contact, write)
        return contact

    def subscribe(self, write: Write, *, external_id: str | None) -> Contact:
        """POST subscription/subscribe: matched on e-mail, never purging (spotler-api.md §11)."""
        email = write.properties.get("email")
        if not email:
            raise email_invalid()
        contact = self.find_by_email(email) or (external_id and self.find(external_id)) or None
        if contact is None:
            return self._insert(external_id, write)
        if contact.blacklisted:
            raise ApiError(400, "CONTACT_OPTOUT", "Contact is blacklisted")
        self._write(contact, write)
        return contact

    def edit(self, contact: Contact, write: Write, *, at: datetime | None = None) -> None:
        """A change made on Spotler's side: a recipient edits a profile or unsubscribes."""
        self._write(contact, write, at=at)

    def inactivate(self, external_id: str) -> Contact:
        """Blacklist: no mail of any kind, whatever the permissions say (spotler-api.md §8)."""
        contact = self.get(external_id)
        if not contact.anonymized:
            contact.blacklisted = True
            self._touch(contact)
        return contact

    def anonymize(self, external_id: str) -> Contact:
        """Erase the personal data; the husk keeps its externalId and stays blacklisted."""
        contact = self.get(external_id)
        if contact.anonymized:
            return contact
        old_email = contact.email
        contact.properties = {}
        self._index_email(contact, old_email)
        contact.test_group = False
        contact.blacklisted = True
        contact.anonymized = True
        self._touch(contact)
        return contact

    def insert_as_import(self, external_id: str | None, write: Write) -> Contact:
        """A contact created in Spotler itself (an import or the UI), for the control surface."""
        if external_id is not None and self.find(external_id) is not None:
            raise invalid_state("Contact already exists")
        return self._insert(external_id, write)

    def updated_between(
        self, start: datetime, end: datetime, *, after: int | None, size: int | None
    ) -> Page[Contact]:
        """Contacts whose lastChanged is in [start, end), in the order they last changed.

        The cursor is the change sequence number, so a contact that changes again while a
        client pages moves to a later page instead of being skipped.
        """
        changed = [c for c in self._by_key.values() if start <= c.last_changed < end]
        changed.sort(key=lambda c: c.change_seq)
        return take_page(changed, cursor=lambda c: c.change_seq, after=after, size=size)

    def search(self, name: str, value: str, *, after: int | None, size: int) -> Page[Contact]:
        """Contacts whose property `name` equals `value` (e-mail and text case-insensitively)."""
        definition = BY_NAME.get(name)
        if definition is None:
            raise property_invalid()
        wanted = _comparable(definition.type, value)
        found = [
            c
            for c in self._by_key.values()
            if wanted is not None and _matches(definition.type, c.properties.get(name), wanted)
        ]
        found.sort(key=lambda c: c.key)
        return take_page(found, cursor=lambda c: c.key, after=after, size=size)

    def _insert(self, external_id: str | None, write: Write) -> Contact:
        moment = now()
        contact = Contact(
            key=self._next_key,
            external_id=external_id,
            encrypted_id=secrets.token_urlsafe(12),
            created=moment,
            last_changed=moment,
            change_seq=0,
        )
        self._next_key += 1
        self._by_key[contact.key] = contact
        if external_id is not None:
            self._by_external_id[external_id] = contact.key
        self._write(contact, write, at=moment)
        return contact

    def _write(self, contact: Contact, write: Write, *, at: datetime | None = None) -> None:
        self._refuse_if_anonymized(contact)
        old_email = contact.email
        if write.purge:
            contact.properties = {}
        for name, value in write.properties.items():
            current = contact.properties.get(name)
            if value is None:
                contact.properties.pop(name, None)
            elif isinstance(value, dict) and isinstance(current, dict):
                # Set-type properties merge per bit: a write with only bit 2 leaves bit 1 as
                # it was (the official Magento connector relies on this, spotler-api.md §5.3).
                contact.properties[name] = {**current, **value}
            else:
                contact.properties[name] = dict(value) if isinstance(value, dict) else value
        if write.test_group is not None:
            contact.test_group = write.test_group
        if contact.email != old_email:
            self._index_email(contact, old_email)
        # Every accepted write counts as a change, ours included (spotler-api.md §0.3).
        self._touch(contact, at=at)

    def _touch(self, contact: Contact, *, at: datetime | None = None) -> None:
        contact.last_changed = at or now()
        contact.change_seq = self._next_seq
        self._next_seq += 1

    def _rename(self, contact: Contact, external_id: str) -> None:
        if contact.external_id is not None:
            del self._by_external_id[contact.external_id]
        contact.external_id = external_id
        self._by_external_id[external_id] = contact.key

    def _index_email(self, contact: Contact, old_email: str | None) -> None:
        if old_email:
            keys = self._by_email.get(normalise_email(old_email), set())
            keys.discard(contact.key)
            if not keys:
                self._by_email.pop(normalise_email(old_email), None)
        if contact.email:
            self._by_email.setdefault(normalise_email(contact.email), set()).add(contact.key)

    @staticmethod
    def _refuse_if_anonymized(contact: Contact) -> None:
        # Writing personal data back into an erased contact would undo the erasure.
        if contact.anonymized:
            raise invalid_state("Contact is anonymized")

    def to_json(self) -> dict[str, Any]:
        return {
            "next_key": self._next_key,
            "next_seq": self._next_seq,
            "contacts": [c.to_json() for c in self._by_key.values()],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ContactBook":
        book = cls()
        book._next_key = data["next_key"]
        book._next_seq = data["next_seq"]
        for item in data["contacts"]:
            contact = Contact.from_json(item)
            book._by_key[contact.key] = contact
            if contact.external_id is not None:
                book._by_external_id[contact.external_id] = contact.key
            book._index_email(contact, None)
        return book


def _comparable(kind: str, value: Any) -> Any:
    """The form a stored value and a searched value are compared in."""
    if kind == "set":
        return int(value) if str(value).isdigit() else None
    if kind in ("int", "money"):
        try:
            return Decimal(str(value))
        except InvalidOperation:
            return None
    return str(value).strip().casefold()


def _matches(kind: str, stored: Any, wanted: Any) -> bool:
    if stored is None:
        return False
    if kind == "set":
        return bool(stored.get(wanted))
    return _comparable(kind, stored) == wanted
