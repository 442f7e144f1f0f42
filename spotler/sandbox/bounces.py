"""Bounced mails, as `contact/bounces/list` reports them (spotler-api.md §6)."""

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from spotler.sandbox.paging import Page, take_page

BOUNCE_TYPES = ("HARDBOUNCE", "SOFTBOUNCE")


@dataclass(frozen=True)
class Bounce:
    seq: int
    contact_key: int
    type: str
    date: datetime
    encrypted_act_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "contactKey": self.contact_key,
            "type": self.type,
            "date": self.date.isoformat(),
            "encryptedActId": self.encrypted_act_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Bounce":
        return cls(
            seq=data["seq"],
            contact_key=data["contactKey"],
            type=data["type"],
            date=datetime.fromisoformat(data["date"]),
            encrypted_act_id=data["encryptedActId"],
        )


class BounceLog:
    """Every bounce in the order it happened; not thread-safe by itself."""

    def __init__(self) -> None:
        self._bounces: list[Bounce] = []

    def __len__(self) -> int:
        return len(self._bounces)

    def record(self, *, contact_key: int, type: str, date: datetime) -> Bounce:
        bounce = Bounce(
            seq=len(self._bounces) + 1,
            contact_key=contact_key,
            type=type,
            date=date,
            # The encrypted id of the mailing that bounced; a fresh one per bounce.
            encrypted_act_id=secrets.token_urlsafe(9),
        )
        self._bounces.append(bounce)
        return bounce

    def between(
        self, start: datetime, end: datetime, *, after: int | None, size: int | None
    ) -> Page[Bounce]:
        """Bounces dated in [start, end), oldest recorded first."""
        window = [b for b in self._bounces if start <= b.date < end]
        return take_page(window, cursor=lambda b: b.seq, after=after, size=size)

    def to_json(self) -> list[dict[str, Any]]:
        return [b.to_json() for b in self._bounces]

    @classmethod
    def from_json(cls, data: list[dict[str, Any]]) -> "BounceLog":
        log = cls()
        log._bounces = [Bounce.from_json(item) for item in data]
        return log
