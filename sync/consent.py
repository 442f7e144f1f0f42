"""The consent rule: no push switches on a permission the contact switched off in Spotler.

Unless the linked system changed that consent *after* Spotler's change (the customer ticked the
box again in the shop), a permission Spotler reports off is never sent as on. It is left out
of the push entirely, so Spotler keeps its own value.

"Changed" means the consent field's value changed: the ledger notes when each source field's
value last changed (`Contact.field_changed_at`, written at ingest). A shop that keeps resending
its stale "yes" with other edits has not changed it; one whose field went from "no" (or
nothing) to "yes" after the unsubscribe has. When the time is unknown (the contact was last
changed before these times were kept), Spotler's "off" wins.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from contacts.models import Contact
from mapping.render import CompiledMapping


@dataclass(frozen=True)
class HeldBack:
    bit: int
    spotler_off_at: datetime
    shop_changed_at: datetime | None = None

    def __str__(self) -> str:
        held = (
            f"permission {self.bit} kept off: the contact switched it off in Spotler on "
            f"{self.spotler_off_at:%Y-%m-%d %H:%M}"
        )
        if self.shop_changed_at is None:
            return f"{held} and the shop has not changed it since"
        return (
            f"{held}; the shop last changed it on {self.shop_changed_at:%Y-%m-%d %H:%M}, before "
            "that, so its “yes” is not a new consent"
        )


def shop_consent_changed_at(contact: Contact, *, mapping: CompiledMapping) -> dict[int, datetime]:
    """Per permission bit, when the linked system last changed the consent field feeding it.

    Bits whose field has no known change time are left out (the rule reads that as "before").
    """
    times = contact.field_changed_at or {}
    changed: dict[int, datetime] = {}
    for bit, source_field in mapping.permission_sources:
        stamp = times.get(source_field)
        if stamp is None:
            continue
        moment = datetime.fromisoformat(stamp)
        if bit not in changed or moment > changed[bit]:
            changed[bit] = moment
    return changed


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
                held.append(HeldBack(bit, off_at, changed))
                continue
        allowed.append(entry)
    return allowed, held
