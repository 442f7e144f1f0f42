"""Temporary lists: a budget for the whole account, owned per credential (spotler-api.md §10).

Spotler allows 30 lists in an account at once and lets a system delete only the lists it
created (seeds/spotler-integration-guide.txt; the project's §0.3 decisions). Not thread-safe
by itself: the `Account` holds the lock.
"""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from spotler.sandbox.clock import now
from spotler.sandbox.errors import ApiError, invalid_params, invalid_state, resource_not_found


@dataclass
class TemporaryList:
    external_id: str
    name: str
    owner: str
    created_at: datetime
    contact_ids: list[str] = field(default_factory=list)
    type: str = "API"
    in_use: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "externalTemporaryListId": self.external_id,
            "name": self.name,
            "owner": self.owner,
            "createdAt": self.created_at.isoformat(),
            "contacts": list(self.contact_ids),
            "type": self.type,
            "inUse": self.in_use,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "TemporaryList":
        return cls(
            external_id=data["externalTemporaryListId"],
            name=data["name"],
            owner=data["owner"],
            created_at=datetime.fromisoformat(data["createdAt"]),
            contact_ids=list(data["contacts"]),
            type=data["type"],
            in_use=data["inUse"],
        )


class TemporaryLists:
    """Every temporary list in the account, in the order they were created."""

    def __init__(self) -> None:
        self._lists: dict[str, TemporaryList] = {}

    def __len__(self) -> int:
        return len(self._lists)

    def all(self) -> list[TemporaryList]:
        return list(self._lists.values())

    def create(
        self, *, external_id: str, name: str, owner: str, contact_ids: list[str], limit: int
    ) -> TemporaryList:
        """All or nothing: a list is only created when every contact exists."""
        if external_id in self._lists:
            raise ApiError(400, "ID_NOTUNIQUE", "externalTemporaryListId already exists")
        if any(existing.name == name for existing in self._lists.values()):
            raise ApiError(400, "NAME_ALREADY_IN_USE", "name already exists")
        if len(self._lists) >= limit:
            raise invalid_state("Too many temporary lists")
        created = TemporaryList(
            external_id=external_id,
            name=name,
            owner=owner,
            created_at=now(),
            contact_ids=list(dict.fromkeys(contact_ids)),
        )
        self._lists[external_id] = created
        return created

    def owned(self, external_id: str, owner: str) -> TemporaryList:
        """A list this credential created; another system's list is "not found" to it."""
        found = self._lists.get(external_id)
        if found is None or found.owner != owner:
            raise resource_not_found("Temporary list not found")
        return found

    def find(self, external_id: str) -> TemporaryList | None:
        return self._lists.get(external_id)

    def add_contacts(self, external_id: str, owner: str, contact_ids: list[str]) -> None:
        found = self.owned(external_id, owner)
        found.contact_ids = list(dict.fromkeys([*found.contact_ids, *contact_ids]))

    def delete(self, external_id: str, owner: str) -> None:
        found = self.owned(external_id, owner)
        if found.in_use:
            raise invalid_state("Temporary list in use")
        del self._lists[external_id]

    def to_json(self) -> list[dict[str, Any]]:
        return [item.to_json() for item in self._lists.values()]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> "TemporaryLists":
        lists = cls()
        for item in data:
            loaded = TemporaryList.from_json(item)
            lists._lists[loaded.external_id] = loaded
        return lists


def unknown_contacts_on_create() -> ApiError:
    return invalid_params("No templist created, one or more contacts could not be found")


def unknown_contacts_on_add() -> ApiError:
    return invalid_params("One or more contacts could not be found")
