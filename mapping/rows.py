"""The saved shape of a mapping row (JSON in `MappingVersion.rows`) and its checks.

    {"source_fields": ["first_name"], "property": "firstName", "type": "string",
     "direction": "to_spotler", "conversion": "auto", "options": {}, "clear_when_empty": false}

`type` is the property's Spotler type when the row was saved; a catalogue refresh that finds
another type (or no property) makes the row broken until a marketer fixes it.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mapping import conversions
from mapping.render import EMAIL_PROPERTY, Conversion, Direction, Row, compile_mapping

# How many sample values may fail before a row is refused (a few bad records in the shop
# should not block a mapping that is right for the rest).
MAX_FAILING_SHARE = 0.2


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


def validate_rows(
    rows: list[Mapping],
    *,
    catalogue: Mapping[str, CatalogueEntry],
    samples: Mapping[str, list[object]],
    tz: ZoneInfo,
) -> list[RowError]:
    """Why these rows cannot be saved; empty when they can.

    `samples` holds recent real values per source field from the ledger: a row whose
    conversion fails for many of them would only produce errors.
    """
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
    if not errors:
        errors += _sample_errors(rows, samples=samples, tz=tz)
    return errors


def _row_errors(data: Mapping, *, catalogue: Mapping[str, CatalogueEntry]) -> list[str]:
    prop = data.get("property") or ""
    entry = catalogue.get(prop)
    if entry is None:
        return [f"{prop or 'the property'} does not exist in Spotler; refresh the properties?"]
    try:
        conversion = Conversion(data.get("conversion", Conversion.AUTO))
        Direction(data.get("direction", Direction.TO_SPOTLER))
    except ValueError as error:
        return [str(error)]
    if entry.type != data.get("type"):
        return [f"{prop} is of type {entry.type} in Spotler, not {data.get('type')}"]
    needs_source = conversion != Conversion.CONSTANT
    if needs_source and not data.get("source_fields"):
        return [f"pick the source field for {prop}"]
    if conversion == Conversion.PERMISSION:
        return _permission_errors(data, entry=entry, prop=prop)
    if entry.type == "set":
        return [f"{prop} is a set; map a consent field to one of its bits as a permission"]
    if conversion == Conversion.LANGUAGE_TABLE and not (data.get("options") or {}).get("table"):
        return ["the language table is empty; add at least one shop locale"]
    return []


def _permission_errors(data: Mapping, *, entry: CatalogueEntry, prop: str) -> list[str]:
    if entry.type != "set":
        return [f"{prop} is not a set property; permissions go to a set such as permissions"]
    bit = _bit(data)
    if bit is None:
        return ["choose the permission bit"]
    if bit not in entry.bits:
        known = ", ".join(str(b) for b in sorted(entry.bits)) or "none"
        return [f"permission bit {bit} does not exist in Spotler (bits: {known})"]
    return []


def _sample_errors(
    rows: list[Mapping], *, samples: Mapping[str, list[object]], tz: ZoneInfo
) -> list[RowError]:
    errors = []
    for index, data in enumerate(rows):
        source = (data.get("source_fields") or [None])[0]
        values = [v for v in samples.get(source, []) if not conversions.is_empty(v)]
        if not values or data.get("conversion") in (Conversion.CONSTANT, Conversion.LEVELS):
            continue
        compiled = compile_mapping([row_from_json({**data, "direction": "to_spotler"})], tz=tz)
        _prop, _src, _read, convert, _clear, _perm = compiled.steps[0]
        failures = []
        for value in values:
            try:
                convert(value)
            except conversions.ConversionError as error:
                text = str(error)  # most messages start with the value, quoted; name it if not
                failures.append(text if text.startswith("“") else f"“{str(value)[:30]}” {text}")
        if len(failures) > MAX_FAILING_SHARE * len(values):
            errors.append(
                RowError(
                    index,
                    f"{len(failures)} of {len(values)} recent values of {source} cannot become "
                    f"{data['type']} {data['property']}, e.g. {failures[0]}",
                )
            )
    return errors


def _bit(data: Mapping) -> int | None:
    if data.get("conversion") != Conversion.PERMISSION:
        return None
    try:
        return int((data.get("options") or {}).get("bit"))
    except (TypeError, ValueError):
        return None
