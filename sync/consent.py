"""The consent rule: no push switches on a permission the contact switched off in Spotler.

Unless the linked system changed that consent *after* Spotler's change (the customer ticked the
box again in the shop), a permission Spotler reports off is never sent as on. It is left out
of the push entirely, so Spotler keeps its own value.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class HeldBack:
    bit: int
    spotler_off_at: datetime

    def __str__(self) -> str:
        return (
            f"permission {self.bit} kept off: the contact switched it off in Spotler on "
            f"{self.spotler_off_at:%Y-%m-%d %H:%M} and the shop has not changed it since"
        )


def guard_permissions(
    permissions: list[dict],
    *,
    spotler_off_at: Mapping[int, datetime],
    shop_changed_at: Mapping[int, datetime | None],
) -> tuple[list[dict], list[HeldBack]]:
    """Split `[{bit, enabled}]` into what may be sent and what must be held back.

    `spotler_off_at`: per bit, when Spotler last reported it switched off (bits it reports on
    are absent). `shop_changed_at`: per bit, when the linked system last changed the consent
    field feeding that bit (None: not known, which counts as "before").
    """
    allowed, held = [], []
    for entry in permissions:
        bit = int(entry["bit"])
        off_at = spotler_off_at.get(bit)
        if entry.get("enabled") and off_at is not None:
            changed = shop_changed_at.get(bit)
            if changed is None or changed <= off_at:
                held.append(HeldBack(bit, off_at))
                continue
        allowed.append(entry)
    return allowed, held
