"""Saving, comparing and restoring mapping versions."""

from collections.abc import Mapping

from django.db import IntegrityError, transaction
from django.db.models import Max

from audit import trail
from mapping.defaults import DEFAULT_ROWS
from mapping.models import MappingVersion
from mapping.render import Conversion, Direction
from mapping.rows import row_from_json


def current_version() -> MappingVersion:
    """The mapping in force; version 1 (the defaults) is created on first use."""
    version = MappingVersion.objects.order_by("-number").first()
    if version is not None:
        return version
    try:
        with transaction.atomic():
            return MappingVersion.objects.create(
                number=1, rows=[_normalise(r) for r in DEFAULT_ROWS], note="Default mapping"
            )
    except IntegrityError:  # another process created it first
        return MappingVersion.objects.get(number=1)


@transaction.atomic
def save_version(
    *, rows: list[Mapping], author, email_owned_by_linked_system: bool = True, note: str = ""
) -> MappingVersion:
    """Store `rows` (already validated) as the next version, with a readable diff."""
    # Imported here: `mapping.current` reads versions through this module.
    from mapping.current import forget_yes_no_sources

    forget_yes_no_sources()
    previous = current_version()
    rows = [_normalise(r) for r in rows]
    number = (MappingVersion.objects.aggregate(n=Max("number"))["n"] or 0) + 1
    diff = describe_changes(previous.rows, rows) + _ownership_change(
        previous.email_owned_by_linked_system, email_owned_by_linked_system
    )
    version = MappingVersion.objects.create(
        number=number,
        rows=rows,
        email_owned_by_linked_system=email_owned_by_linked_system,
        author=author,
        note=note,
        diff=diff,
    )
    # The rows themselves stay in the versions; the trail keeps the summary a person reads.
    trail.record(
        actor=author, action="saved", object_type="mapping", object_id=number,
        object_label=f"version {number}" + (f" ({note})" if note else ""),
        before={"version": previous.number, "rows": len(previous.rows), "changes": []},
        after={"version": number, "rows": len(rows), "changes": diff},
    )  # fmt: skip
    return version


def restore_version(*, number: int, author) -> MappingVersion:
    old = MappingVersion.objects.get(number=number)
    version = save_version(
        rows=old.rows,
        author=author,
        email_owned_by_linked_system=old.email_owned_by_linked_system,
        note=f"Restored version {number}",
    )
    version.restored_from = old
    version.save(update_fields=["restored_from"])
    return version


def describe_changes(old_rows: list[Mapping], new_rows: list[Mapping]) -> list[str]:
    """Lines a marketer reads in the history: what was added, removed or changed."""
    old, new = _by_key(old_rows), _by_key(new_rows)
    lines = [f"added {_label(new[k])}" for k in new if k not in old]
    lines += [f"removed {_label(old[k])}" for k in old if k not in new]
    for key in new.keys() & old.keys():
        for name in ("source_fields", "direction", "conversion", "options", "clear_when_empty"):
            if old[key].get(name) != new[key].get(name):
                lines.append(
                    f"{_label(new[key])}: {name.replace('_', ' ')} "
                    f"{_show(old[key].get(name))} → {_show(new[key].get(name))}"
                )
    if not lines and [_key(r) for r in old_rows] != [_key(r) for r in new_rows]:
        lines.append("rows reordered")
    return lines


def changes_what_spotler_receives(old_rows: list[Mapping], new_rows: list[Mapping]) -> bool:
    """Whether the rows that send differ (in any way but their order)."""

    def sent(rows: list[Mapping]) -> list[tuple[str, str]]:
        return sorted((repr(_key(r)), repr(r)) for r in rows if row_from_json(r).sends)

    return sent(old_rows) != sent(new_rows)


def _ownership_change(before: bool, after: bool) -> list[str]:
    if before == after:
        return []
    if after:
        return ["e-mail now owned by the linked system: changes from Spotler are reported only"]
    return ["e-mail changes from Spotler are now applied to the linked system"]


def _normalise(row: Mapping) -> dict:
    return {
        "source_fields": list(row.get("source_fields") or []),
        "property": row["property"],
        "type": row["type"],
        "direction": str(row.get("direction") or Direction.TO_SPOTLER),
        "conversion": str(row.get("conversion") or Conversion.AUTO),
        "options": dict(row.get("options") or {}),
        "clear_when_empty": bool(row.get("clear_when_empty")),
    }


def _key(row: Mapping) -> tuple:
    return (row["property"], (row.get("options") or {}).get("bit"))


def _by_key(rows: list[Mapping]) -> dict[tuple, Mapping]:
    return {_key(r): r for r in rows}


# In the editor's order, source field first, with the arrow of the row's direction.
_ARROWS = {Direction.TO_SPOTLER: "→", Direction.FROM_SPOTLER: "←", Direction.BOTH: "↔"}


def _label(row: Mapping) -> str:
    bit = (row.get("options") or {}).get("bit")
    target = f"{row['property']} bit {bit}" if bit is not None else row["property"]
    sources = ", ".join(row.get("source_fields") or []) or "constant"
    arrow = _ARROWS.get(row.get("direction") or Direction.TO_SPOTLER, "→")
    return f"{sources} {arrow} {target}"


def _show(value: object) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "nothing"
    if value in ({}, None, ""):
        return "nothing"
    return str(value)
