"""`render_contact`: one ledger contact through the field mapping into Spotler's contact JSON.

The push, the editor's live preview and the benchmarks all call this one function. A mapping
is compiled once (`compile_mapping`) into a tuple of small closures; rendering is then a loop
over them with no I/O and no database access.
"""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from mapping import conversions as c

EMAIL_PROPERTY = "email"
PERMISSIONS_PROPERTY = "permissions"


class PropertyType(StrEnum):
    """Spotler's property types (spotler-api.md §4); Spotler may add others (sent as text)."""

    STRING = "string"
    INT = "int"
    DATE = "date"
    DATETIME = "dateTime"
    BIRTHDATE = "birthdate"
    EMAIL = "email"
    GENDER = "gender"
    MOBNR = "mobNr"
    MONEY = "money"
    POSTCODE = "postcode"
    SET = "set"


class Direction(StrEnum):
    TO_SPOTLER = "to_spotler"
    FROM_SPOTLER = "from_spotler"
    BOTH = "both"


class Conversion(StrEnum):
    AUTO = "auto"  # by the Spotler property's type
    BOOLEAN = "boolean"
    PERMISSION = "permission"  # a consent field -> one permission bit (options: bit)
    LANGUAGE_TABLE = "language_table"  # options: table, default
    LEVELS = "levels"  # several source fields joined with " - " (options: separator)
    GENDER = "gender"  # options: table
    CONSTANT = "constant"  # options: value


@dataclass(frozen=True)
class Row:
    """One line of the mapping: source field(s) -> Spotler property, as the editor saves it."""

    source_fields: tuple[str, ...]
    spotler_property: str
    property_type: str
    direction: Direction = Direction.TO_SPOTLER
    conversion: Conversion = Conversion.AUTO
    options: Mapping[str, Any] = field(default_factory=dict)
    clear_when_empty: bool = False
    broken: bool = False

    @property
    def sends(self) -> bool:
        """The push sends this row's value to Spotler."""
        return self.direction in (Direction.TO_SPOTLER, Direction.BOTH) and not self.broken

    @property
    def receives(self) -> bool:
        """The pull brings Spotler's changes of this property back to the linked system."""
        return self.direction in (Direction.FROM_SPOTLER, Direction.BOTH) and not self.broken

    @property
    def bit(self) -> int | None:
        """The permission bit a consent -> permission row feeds; None for any other row."""
        return int(self.options["bit"]) if self.conversion == Conversion.PERMISSION else None


@dataclass(frozen=True)
class Problem:
    spotler_property: str
    source_field: str
    message: str
    blocking: bool = False  # True: the contact cannot be pushed at all (no valid e-mail)

    def __str__(self) -> str:
        return f"{self.source_field} → {self.spotler_property}: {self.message}"


@dataclass(frozen=True)
class Rendered:
    payload: dict[str, Any]
    problems: list[Problem]

    @property
    def pushable(self) -> bool:
        return not any(p.blocking for p in self.problems)


# (property, first source field, read, convert, clear_when_empty, is_permission)
_Step = tuple[str, str, Callable[[Mapping], object], Callable[[object], object], bool, bool]


@dataclass(frozen=True)
class CompiledMapping:
    steps: tuple[_Step, ...]
    # (bit, source field) of each permission row that sends: which consent field feeds which bit.
    permission_sources: tuple[tuple[int, str], ...] = ()
    # The source fields a sending consent -> permission or yes/no row reads: the ingest API
    # refuses a value there that `conversions.to_boolean` cannot read.
    yes_no_sources: frozenset[str] = frozenset()
    # For every saved version up to this one: (saved at, the permission bits it sent), oldest
    # first; tells which bits a contact pushed at some moment can have received.
    bits_history: tuple[tuple[datetime, frozenset[int]], ...] = ()

    def bits_sent_at(self, moment: datetime) -> frozenset[int]:
        """The permission bits the mapping in force at `moment` sent (none before any)."""
        bits: frozenset[int] = frozenset()
        for saved_at, version_bits in self.bits_history:
            if saved_at > moment:
                break
            bits = version_bits
        return bits


def compile_mapping(rows: Iterable[Row], *, tz: ZoneInfo) -> CompiledMapping:
    """Turn saved rows into render steps; rows that do not send (direction, broken) drop out."""
    sending = [row for row in rows if row.sends]
    steps = [_compile_row(row, tz=tz) for row in sending]
    # E-mail first: when it fails, the contact is blocked and the problem list says so first.
    steps.sort(key=lambda step: step[0] != EMAIL_PROPERTY)
    permission_sources = tuple(
        (row.bit, row.source_fields[0]) for row in sending if row.bit is not None
    )
    yes_no_sources = frozenset(
        row.source_fields[0]
        for row in sending
        if row.conversion in (Conversion.PERMISSION, Conversion.BOOLEAN)
    )
    return CompiledMapping(
        steps=tuple(steps), permission_sources=permission_sources, yes_no_sources=yes_no_sources
    )


def render_contact(
    *, external_id: str, fields: Mapping[str, object], mapping: CompiledMapping
) -> Rendered:
    properties: dict[str, Any] = {}
    permissions: list[dict[str, Any]] = []
    problems: list[Problem] = []
    for prop, source, read, convert, clear_when_empty, is_permission in mapping.steps:
        value = read(fields)
        if c.is_empty(value):
            if prop == EMAIL_PROPERTY:
                problems.append(Problem(prop, source, "is empty; Spotler needs an e-mail", True))
            elif clear_when_empty and not is_permission:
                properties[prop] = ""
            continue
        try:
            converted = convert(value)
        except c.ConversionError as error:
            problems.append(Problem(prop, source, str(error), prop == EMAIL_PROPERTY))
            continue
        if is_permission:
            permissions.append(converted)
        else:
            properties[prop] = converted
    if permissions:
        properties[PERMISSIONS_PROPERTY] = sorted(permissions, key=lambda p: p["bit"])
    return Rendered({"externalId": external_id, "properties": properties}, problems)


def _compile_row(row: Row, *, tz: ZoneInfo) -> _Step:
    source = row.source_fields[0] if row.source_fields else ""
    read = _reader(row)
    convert = _converter(row, tz=tz)
    is_permission = row.conversion == Conversion.PERMISSION
    return (row.spotler_property, source, read, convert, row.clear_when_empty, is_permission)


def _reader(row: Row) -> Callable[[Mapping], object]:
    if row.conversion == Conversion.CONSTANT:
        constant = row.options.get("value")
        return lambda fields: constant
    if row.conversion == Conversion.LEVELS:
        names = row.source_fields
        return lambda fields: [
            fields.get(name) for name in names if not c.is_empty(fields.get(name))
        ]
    name = row.source_fields[0]
    return lambda fields: fields.get(name)


def _converter(row: Row, *, tz: ZoneInfo) -> Callable[[object], object]:
    options = row.options
    match row.conversion:
        case Conversion.PERMISSION:
            bit = int(options["bit"])
            return lambda value: {"bit": bit, "enabled": c.to_boolean(value)}
        case Conversion.BOOLEAN:
            return c.to_boolean
        case Conversion.LANGUAGE_TABLE:
            table, default = dict(options.get("table") or {}), options.get("default")
            return lambda value: c.to_language(value, table=table, default=default)
        case Conversion.LEVELS:
            separator = options.get("separator", " - ")
            return lambda values: c.join_levels(values, separator=separator)
        case Conversion.GENDER:
            table = dict(options.get("table") or {}) or None
            return lambda value: c.to_gender(value, table=table)
        case Conversion.CONSTANT:
            return lambda value: value
    return converter_for_type(
        row.property_type, tz=tz, month_first=bool(options.get("month_first"))
    )


def converter_for_type(
    property_type: str, *, tz: ZoneInfo, month_first: bool = False
) -> Callable[[object], object]:
    """The automatic conversion for a Spotler property type (spotler-api.md §4)."""
    match property_type:
        case PropertyType.EMAIL:
            return c.to_email
        case PropertyType.INT:
            return c.to_int
        case PropertyType.MONEY:
            return c.to_money_cents
        case PropertyType.DATE | PropertyType.BIRTHDATE:
            return lambda value: c.to_date(value, tz=tz, month_first=month_first)
        case PropertyType.DATETIME:
            return lambda value: c.to_datetime(value, tz=tz, month_first=month_first)
        case PropertyType.GENDER:
            return c.to_gender
        case PropertyType.SET:
            return _refuse_set
    return c.to_text  # string, postcode, mobNr and any type Spotler adds later


def _refuse_set(value: object) -> object:
    raise c.ConversionError("is a set property; map it as a permission with a bit")
