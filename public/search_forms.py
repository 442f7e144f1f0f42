"""The staff search's conditions, read from the query string (`?property=…&value=…`, repeated),
so a search is a link that can be shared and reloaded."""

from dataclasses import dataclass

from django.http import QueryDict

from mapping.models import SpotlerProperty
from public.search import Condition, value_problem

EMPTY_ROWS = 3  # condition rows the form always offers
MAX_CONDITIONS = 10


@dataclass(frozen=True)
class Row:
    """One row of the form as the person filled it in (kept to show it again)."""

    property: str
    value: str


def read_conditions(
    query: QueryDict, *, catalogue: dict[str, SpotlerProperty]
) -> tuple[list[Condition], list[Row], list[str]]:
    """The conditions asked for, the rows to show again, and sentences saying what to fix."""
    names = query.getlist("property")[:MAX_CONDITIONS]
    values = query.getlist("value")[:MAX_CONDITIONS]
    rows = [Row(n.strip(), v) for n, v in zip(names, values, strict=False)]
    conditions, problems = [], []
    for row in rows:
        if not row.property and not row.value.strip():
            continue
        known = catalogue.get(row.property)
        if known is None:
            problems.append(f"Choose a property for the value “{row.value.strip()}”.")
            continue
        problem = value_problem(known.type, row.value)
        if problem:
            problems.append(f"The value for {known.name} {problem}.")
            continue
        value = row.value.strip()
        if known.type == "money":
            value = value.replace(",", ".")
        conditions.append(Condition(property=known.name, type=known.type, value=value))
    kept = [r for r in rows if r.property or r.value.strip()]
    blank = max(EMPTY_ROWS - len(kept), 1)
    return conditions, kept + [Row("", "")] * blank, problems
