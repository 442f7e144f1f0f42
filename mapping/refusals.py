"""How many recent real values of each mapping row would not reach Spotler: checked on saving.

A row whose values mostly fail is refused (it would only produce errors); a few bad records in
the shop do not block a mapping that is right for the rest, and the save says how many there are.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from mapping import conversions, spotler_rules
from mapping.render import Conversion, Direction, compile_mapping
from mapping.rows import CatalogueEntry, RowError, row_errors, row_from_json

# How many sample values may fail before a row is refused.
MAX_FAILING_SHARE = 0.2


def validate_rows(
    rows: list[Mapping],
    *,
    catalogue: Mapping[str, CatalogueEntry],
    samples: Mapping[str, list[object]],
    tz: ZoneInfo,
) -> list[RowError]:
    """Why these rows cannot be saved; empty when they can.

    `samples` holds recent real values per source field from the ledger: a row whose values
    mostly would not reach Spotler (`count_refusals`) would only produce errors.
    """
    return row_errors(rows, catalogue=catalogue) or _sample_errors(rows, samples=samples, tz=tz)


@dataclass(frozen=True)
class Refusals:
    """Recent real values of a row's source that would not reach its Spotler property: the
    conversion cannot read them (the push leaves the field out), or Spotler would refuse what
    it makes of them (`spotler_rules`: the whole contact's push fails)."""

    index: int
    source: str
    property: str
    type: str
    checked: int
    unreadable: int
    refused: int
    example: str

    @property
    def failed(self) -> int:
        return self.unreadable + self.refused

    @property
    def blocks_saving(self) -> bool:
        return self.failed > MAX_FAILING_SHARE * self.checked

    def describe(self, *, contacts: int) -> str:
        """What saving this row means for the `contacts` changed last, e.g. "postcode →
        postalCode: Spotler would refuse 2 of the 640 values the 1,000 contacts changed last
        hold, …"."""
        counts = []
        if self.refused:
            counts.append(f"Spotler would refuse {self.refused:,}")
        if self.unreadable:
            counts.append(f"{self.unreadable:,} cannot be converted")
        held = "value" if self.source == "constant" else "values"
        text = (
            f"{self.source} → {self.property}: {' and '.join(counts)} of the {self.checked:,} "
            f"{held} the {contacts:,} contacts changed last hold, e.g. {self.example}."
        )
        if self.refused:
            text += " Those contacts' pushes fail (“Property is invalid”) until the value is fixed."
        if self.unreadable:
            text += f" Pushes leave {self.property} out where it cannot be converted."
        return text


def count_refusals(
    rows: list[Mapping], *, samples: Mapping[str, list[object]], tz: ZoneInfo
) -> list[Refusals]:
    """Per sending row, how many of the recent real values of its source would not reach
    Spotler; rows whose values all would are left out. A constant is checked once."""
    found = []
    for index, data in enumerate(rows):
        if data.get("direction") == Direction.FROM_SPOTLER:
            continue
        if data.get("conversion") == Conversion.PERMISSION:  # bits: checked with the rows
            continue
        source, values = _values_to_check(data, samples)
        if not values:
            continue
        sending = row_from_json({**data, "direction": Direction.TO_SPOTLER})
        _prop, _src, _read, convert, _clear, _perm = compile_mapping([sending], tz=tz).steps[0]
        unreadable, refused, examples = 0, 0, []
        for value in values:
            try:
                problem = spotler_rules.refusal(data["type"], convert(value))
            except conversions.ConversionError as error:
                text = str(error)  # most messages start with the value, quoted; name it if not
                unreadable += 1
                examples.append(text if text.startswith("“") else f"“{str(value)[:30]}” {text}")
                continue
            if problem:
                refused += 1
                examples.append(problem)
        if examples:
            found.append(
                Refusals(index, source, data["property"], data["type"], len(values),
                         unreadable, refused, examples[0])
            )  # fmt: skip
    return found


def _values_to_check(data: Mapping, samples: Mapping[str, list[object]]) -> tuple[str, list]:
    conversion = data.get("conversion")
    if conversion == Conversion.CONSTANT:
        value = (data.get("options") or {}).get("value")
        return "constant", [] if conversions.is_empty(value) else [value]
    if conversion == Conversion.LEVELS:  # joined from several fields: a text, checked on push
        return "", []
    source = (data.get("source_fields") or [""])[0]
    return source, [v for v in samples.get(source, []) if not conversions.is_empty(v)]


def _sample_errors(
    rows: list[Mapping], *, samples: Mapping[str, list[object]], tz: ZoneInfo
) -> list[RowError]:
    return blocking_errors(count_refusals(rows, samples=samples, tz=tz))


def blocking_errors(refusals: Iterable[Refusals]) -> list[RowError]:
    """The rows whose recent values mostly would not reach Spotler: not saved."""
    return [
        RowError(found.index, _blocking_message(found)) for found in refusals if found.blocks_saving
    ]


def _blocking_message(found: Refusals) -> str:
    if found.source == "constant":
        return f"Spotler would refuse this constant for {found.property}: {found.example}"
    return (
        f"{found.failed} of {found.checked} recent values of {found.source} cannot become "
        f"{found.type} {found.property}, e.g. {found.example}"
    )
