"""The saved shape of a mapping row (JSON in `MappingVersion.rows`) and its checks.

    {"source_fields": ["first_name"], "property": "firstName", "type": "string",
     "direction": "to_spotler", "conversion": "auto", "options": {}, "clear_when_empty": false}

`type` is the property's Spotler type when the row was saved; a catalogue refresh that finds
another type (or no property) makes the row broken until a marketer fixes it.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mapping.render import (
    EMAIL_PROPERTY,
    Conversion,
    Direction,
    PropertyType,
    Row,
)

# Spotler's bits are int64 (spotler-api.md §4, properties/list); the ledger keeps them in a
# PositiveIntegerField (sync.ConsentState.bit), so a bit must also fit there.
MAX_PERMISSION_BIT = 2**31 - 1

# The editor's names for the choices, which its messages use too.
DIRECTION_LABELS = {
    Direction.TO_SPOTLER: "→ Spotler",
    Direction.FROM_SPOTLER: "← Spotler",
    Direction.BOTH: "↔ both",
}
CONVERSION_LABELS = {
    Conversion.AUTO: "auto (by type)",
    Conversion.BOOLEAN: "yes/no",
    Conversion.PERMISSION: "consent → permission",
    Conversion.LANGUAGE_TABLE: "language table",
    Conversion.LEVELS: "store levels",
    Conversion.GENDER: "gender",
    Conversion.CONSTANT: "constant",
}


@dataclass(frozen=True)
class CatalogueEntry:
    type: str
    bits: frozenset[int] = frozenset()


@dataclass(frozen=True)
class RowError:
    index: int
    message: str


def row_from_json(data: Mapping, *, catalogue: Mapping[str, CatalogueEntry] | None = None) -> Row:
    """A saved row as a render row; `broken` when the catalogue disagrees with it."""
    prop, saved_type = data["property"], data["type"]
    broken = False
    if catalogue is not None:
        entry = catalogue.get(prop)
        broken = entry is None or entry.type != saved_type
    return Row(
        source_fields=tuple(data.get("source_fields") or ()),
        spotler_property=prop,
        property_type=saved_type,
        direction=Direction(data.get("direction", Direction.TO_SPOTLER)),
        conversion=Conversion(data.get("conversion", Conversion.AUTO)),
        options=dict(data.get("options") or {}),
        clear_when_empty=bool(data.get("clear_when_empty")),
        broken=broken,
    )


def input_errors(data: Mapping) -> list[str]:
    """What in a row as the editor posted it cannot be read at all: a choice the editor does
    not offer (a forged form) or a permission bit that is not a whole number in range."""
    errors = []
    if _holds_nul(data):
        errors.append("remove the NUL character typed or pasted into this row")
    direction = data.get("direction", Direction.TO_SPOTLER)
    if direction not in set(Direction):
        errors.append(_choose("direction", DIRECTION_LABELS, direction))
    conversion = data.get("conversion", Conversion.AUTO)
    if conversion not in set(Conversion):
        errors.append(_choose("conversion", CONVERSION_LABELS, conversion))
    bit = (data.get("options") or {}).get("bit")
    if (
        conversion == Conversion.PERMISSION
        and bit not in (None, "")
        and permission_bit(bit) is None
    ):
        errors.append(
            f"the permission bit must be a whole number from 0 to {MAX_PERMISSION_BIT}, "
            f"not “{str(bit)[:30]}”"
        )
    return errors


def permission_bit(value: object) -> int | None:
    """`value` as a permission bit; None when it is not a whole number from 0 to the maximum."""
    if isinstance(value, str) and re.fullmatch(r"[0-9]{1,10}", value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_PERMISSION_BIT:
        return value
    return None


def unrenderable(data: Mapping) -> list[str]:
    """Why a row cannot even be rendered for the preview; empty when it can."""
    errors = input_errors(data)
    if not errors and data.get("conversion") == Conversion.PERMISSION and _bit(data) is None:
        errors.append("choose the permission bit")
    return errors


def _holds_nul(value: object) -> bool:
    """Whether a NUL byte hides in the row's texts: PostgreSQL cannot store one."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, Mapping):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_holds_nul(v) for v in value)
    return False


def _choose(what: str, labels: Mapping[str, str], given: object) -> str:
    return f"choose one of {', '.join(labels.values())} as the {what} (not “{str(given)[:30]}”)"


def broken_rows(rows: Iterable[Mapping], *, catalogue: Mapping[str, CatalogueEntry]) -> list[str]:
    """Sentences naming each row the Spotler account no longer fits."""
    problems = []
    for data in rows:
        entry = catalogue.get(data["property"])
        if entry is None:
            problems.append(f"{data['property']} no longer exists in Spotler")
        elif entry.type != data["type"]:
            problems.append(
                f"{data['property']} is now of type {entry.type} in Spotler, "
                f"the mapping expects {data['type']}"
            )
    return problems


def row_errors(rows: list[Mapping], *, catalogue: Mapping[str, CatalogueEntry]) -> list[RowError]:
    """What is wrong with the rows themselves, whatever the values: unknown properties or bits,
    types that do not fit, a property mapped twice, no e-mail row."""
    errors: list[RowError] = []
    seen: dict[tuple[str, int | None], int] = {}
    for index, data in enumerate(rows):
        for message in _row_errors(data, catalogue=catalogue):
            errors.append(RowError(index, message))
        key = (data.get("property"), _bit(data))
        sends = data.get("direction", Direction.TO_SPOTLER) != Direction.FROM_SPOTLER
        if sends and key in seen:
            what = f"permission bit {key[1]}" if key[1] is not None else key[0]
            errors.append(RowError(index, f"{what} is already mapped in row {seen[key] + 1}"))
        elif sends:
            seen[key] = index
    if not any(d.get("property") == EMAIL_PROPERTY for d in rows):
        errors.append(RowError(-1, "the e-mail row is missing; Spotler needs an e-mail"))
    return errors


def _row_errors(data: Mapping, *, catalogue: Mapping[str, CatalogueEntry]) -> list[str]:
    prop = data.get("property") or ""
    entry = catalogue.get(prop)
    if entry is None:
        return [f"{prop or 'the property'} does not exist in Spotler; refresh the properties?"]
    unreadable = input_errors(data)
    if unreadable:
        return unreadable
    conversion = Conversion(data.get("conversion", Conversion.AUTO))
    if entry.type != data.get("type"):
        return [f"{prop} is of type {entry.type} in Spotler, not {data.get('type')}"]
    needs_source = conversion != Conversion.CONSTANT
    if needs_source and not data.get("source_fields"):
        return [f"pick the source field for {prop}"]
    if conversion == Conversion.PERMISSION:
        return _permission_errors(data, entry=entry, prop=prop)
    if entry.type == PropertyType.SET:
        return [f"{prop} is a set; map a consent field to one of its bits as a permission"]
    if conversion == Conversion.LANGUAGE_TABLE and not (data.get("options") or {}).get("table"):
        return ["the language table is empty; add at least one shop locale"]
    return []


def _permission_errors(data: Mapping, *, entry: CatalogueEntry, prop: str) -> list[str]:
    if entry.type != PropertyType.SET:
        return [f"{prop} is not a set property; permissions go to a set such as permissions"]
    bit = _bit(data)
    if bit is None:
        return ["choose the permission bit"]
    if bit not in entry.bits:
        known = ", ".join(str(b) for b in sorted(entry.bits)) or "none"
        return [f"permission bit {bit} does not exist in Spotler (bits: {known})"]
    return []


def _bit(data: Mapping) -> int | None:
    if data.get("conversion") != Conversion.PERMISSION:
        return None
    return permission_bit((data.get("options") or {}).get("bit"))
