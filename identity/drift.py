"""How a ledger contact and Spotler's copy of it differ: the reconciliation's comparison.

What the ledger holds is what a push would send now (`sync.push_payload.prepare_upsert`: the
mapping in force, the consent rule applied), so nothing about the mapping is worked out here.
Each difference says which fix would bring the two together:

- a mapped field: *pull* when the property comes back from Spotler (the mapping receives it)
  and Spotler changed the contact after the shop last changed the field (a recipient's edit the
  linked system has not taken in); else *push* (the shop's value is the newer, or the shop owns
  the field: a pull cannot change it there).
- a permission: *pull* when the consent rule holds Spotler's "off" (the recipient switched it
  off after the shop's last change: a push would never switch it on again, and rightly so), or
  when Spotler changed the contact after the shop last changed the consent (or that moment is
  not known, which the consent rule reads as "before"); *push* when the shop's change is the
  newer (a consent given again in the shop, or withdrawn there, that never reached Spotler).
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation

import spotler
from contacts.models import Contact
from identity.models import DriftKind
from mapping.conversions import is_empty
from mapping.render import PropertyType, Row
from sync.consent import shop_consent_changed_at
from sync.push_payload import Prepared

PUSH, PULL = "push", "pull"


@dataclass
class Drift:
    """One kind of difference of one contact, with a line per field or permission."""

    kind: str
    details: list[dict] = field(default_factory=list)

    @property
    def fixes(self) -> set[str]:
        return {d["fix"] for d in self.details}


@dataclass(frozen=True)
class MappedRows:
    """The rows of the mapping in force, by Spotler property and permission bit."""

    by_property: dict[str, Row]
    by_bit: dict[int, Row]

    @classmethod
    def of(cls, rows: list[Row]) -> "MappedRows":
        sending = [r for r in rows if r.sends]
        return cls(
            by_property={r.spotler_property: r for r in sending if r.bit is None},
            by_bit={r.bit: r for r in sending if r.bit is not None},
        )


def compare(prepared: Prepared, copy: spotler.Contact, *, rows: MappedRows, mapping) -> list[Drift]:
    """The drift between what a push would send for the contact and Spotler's copy."""
    contact = prepared.contact
    found = []
    fields = _field_drift(prepared, copy, rows=rows)
    if fields:
        found.append(Drift(DriftKind.FIELDS, fields))
    # An inactive contact's permissions are switched off in Spotler on purpose (blacklisted),
    # whatever the shop says: only its presence and fields are compared.
    if not contact.inactivated_at:
        consent = _consent_drift(prepared, copy, rows=rows, mapping=mapping)
        if consent:
            found.append(Drift(DriftKind.CONSENT, consent))
    return found


def _field_drift(prepared: Prepared, copy: spotler.Contact, *, rows: MappedRows) -> list[dict]:
    contact = prepared.contact
    spotler_at = copy.last_changed
    lines = []
    for prop, ours in prepared.wire.properties.items():
        row = rows.by_property.get(prop)
        theirs = copy.properties.get(prop)
        if row is None or same_value(ours, theirs, property_type=row.property_type):
            continue
        shop_at = _shop_changed_at(contact, row.source_fields)
        if not row.receives:
            fix, why = PUSH, "the linked system owns it: the pull does not bring it back"
        elif spotler_at is not None and (shop_at is None or spotler_at > shop_at):
            fix, why = PULL, "changed in Spotler after the shop last changed it"
        else:
            fix, why = PUSH, "the shop changed it after Spotler's copy last changed"
        lines.append(_line(prop, ours, theirs, fix=fix, why=why, spotler_at=spotler_at))
    return lines


def _consent_drift(
    prepared: Prepared, copy: spotler.Contact, *, rows: MappedRows, mapping
) -> list[dict]:
    spotler_at = copy.last_changed
    held = {h.bit: h for h in prepared.held}
    shop_times = shop_consent_changed_at(prepared.contact, mapping=mapping)
    lines = []
    for entry in prepared.permissions:
        bit, ours = int(entry["bit"]), bool(entry["enabled"])
        theirs = bool(copy.permissions.get(bit, False))
        if ours == theirs:
            continue
        shop_at = shop_times.get(bit)
        row = rows.by_bit.get(bit)
        if bit in held:
            off_at = held[bit].spotler_off_at
            fix = PULL
            why = (
                f"switched off in Spotler on {off_at:%Y-%m-%d %H:%M}; the shop has not changed "
                "it since, so the consent rule keeps it off"
            )
        elif shop_at is not None and (spotler_at is None or shop_at > spotler_at):
            fix, why = PUSH, "the shop changed it after Spotler's copy last changed"
        else:
            fix = PULL
            why = "Spotler's copy changed after the shop last changed it" + (
                "" if shop_at else " (the shop's change time is not known)"
            )
        if fix == PULL and row is not None and not row.receives:
            fix, why = PUSH, "the linked system owns it: the pull does not bring it back"
        line = _line("permissions", ours, theirs, fix=fix, why=why, spotler_at=spotler_at)
        lines.append({**line, "bit": bit})
    return lines


def _line(field_name, ours, theirs, *, fix: str, why: str, spotler_at) -> dict:
    return {
        "field": field_name, "ledger": ours, "spotler": theirs, "fix": fix, "why": why,
        "spotler_changed_at": spotler_at.isoformat() if spotler_at else None,
    }  # fmt: skip


def _shop_changed_at(contact: Contact, source_fields: tuple[str, ...]) -> datetime | None:
    """When the shop last changed any of these fields; its last change of anything if no field
    time is known (the ledger keeps those only since they were introduced)."""
    times = contact.field_changed_at or {}
    stamps = [datetime.fromisoformat(times[f]) for f in source_fields if times.get(f)]
    return max(stamps) if stamps else contact.changed_at


def same_value(ours: object, theirs: object, *, property_type: str) -> bool:
    """Whether Spotler holds the value we send, read as Spotler writes it back: e-mail
    addresses in any case, dates with or without a time, numbers as text or number."""
    if is_empty(ours) or is_empty(theirs):
        return is_empty(ours) and is_empty(theirs)
    if property_type == PropertyType.EMAIL:
        return str(ours).strip().casefold() == str(theirs).strip().casefold()
    if property_type in (PropertyType.DATE, PropertyType.BIRTHDATE):
        return str(ours)[:10] == str(theirs)[:10]
    if property_type == PropertyType.DATETIME:
        return _moment(ours) == _moment(theirs)
    if isinstance(ours, int | float) or isinstance(theirs, int | float):
        return _number(ours) == _number(theirs)
    return str(ours) == str(theirs)


def _moment(value: object) -> object:
    try:
        return datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        return str(value)


def _number(value: object) -> object:
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        return str(value)
