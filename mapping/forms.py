"""Reading the mapping editor's form: rows posted as `rows-<n>-<name>` fields, in order."""

from collections.abc import Mapping

from django.http import QueryDict

from mapping.render import Conversion, Direction
from mapping.rows import CatalogueEntry, permission_bit

MAX_ROWS = 200


def rows_from_post(
    data: QueryDict, *, catalogue: Mapping[str, CatalogueEntry] | None
) -> list[dict]:
    try:
        count = min(int(data.get("row_count", 0)), MAX_ROWS)
    except ValueError:
        count = 0
    return [_row(data, i, catalogue=catalogue) for i in range(count)]


def apply_action(rows: list[dict], action: str) -> list[dict]:
    """The editor's buttons: add a row, remove one, move one up or down."""
    name, _, index_text = action.partition(":")
    rows = list(rows)
    if name == "add":
        rows.append(blank_row())
        return rows
    try:
        index = int(index_text)
    except ValueError:
        return rows
    if not 0 <= index < len(rows):
        return rows
    if name == "remove" and rows[index]["property"] != "email":
        del rows[index]
    elif name == "up" and index > 0:
        rows[index - 1], rows[index] = rows[index], rows[index - 1]
    elif name == "down" and index < len(rows) - 1:
        rows[index + 1], rows[index] = rows[index], rows[index + 1]
    return rows


def blank_row() -> dict:
    return {
        "source_fields": [],
        "property": "",
        "type": "",
        "direction": Direction.TO_SPOTLER.value,
        "conversion": Conversion.AUTO.value,
        "options": {},
        "clear_when_empty": False,
    }


def table_to_text(table: Mapping[str, str]) -> str:
    return "\n".join(f"{k} = {v}" for k, v in table.items())


def _row(data: QueryDict, i: int, *, catalogue: Mapping[str, CatalogueEntry] | None) -> dict:
    def get(name: str) -> str:
        return (data.get(f"rows-{i}-{name}") or "").strip()

    prop = get("property")
    conversion = get("conversion") or Conversion.AUTO.value
    entry = catalogue.get(prop) if catalogue else None
    return {
        "source_fields": [s.strip() for s in get("source").split(",") if s.strip()],
        "property": prop,
        "type": entry.type if entry else get("type"),
        "direction": get("direction") or Direction.TO_SPOTLER.value,
        "conversion": conversion,
        "options": _options(get, conversion),
        "clear_when_empty": bool(get("clear")),
    }


def _options(get, conversion: str) -> dict:
    options: dict = {}
    if conversion == Conversion.PERMISSION:
        bit = permission_bit(get("bit"))
        # Kept as typed when it is no bit: the row's checks say what to fix.
        options["bit"] = (get("bit") or None) if bit is None else bit
    elif conversion == Conversion.LANGUAGE_TABLE:
        options["table"] = _parse_table(get("table"))
        if get("default"):
            options["default"] = get("default")
    elif conversion == Conversion.CONSTANT:
        options["value"] = get("value")
    elif conversion == Conversion.LEVELS and get("separator"):
        options["separator"] = get("separator")
    if get("month_first"):
        options["month_first"] = True
    return options


def _parse_table(text: str) -> dict[str, str]:
    table = {}
    for line in text.splitlines():
        source, sep, target = line.partition("=")
        if sep and source.strip() and target.strip():
            table[source.strip()] = target.strip()
    return table
