"""Looking a visitor's code up in Spotler for a lookup page (spotler-api.md §12).

The answer is deliberately poor: a contact's configured properties when exactly one contact
holds the code, and nothing otherwise. An empty, too long or malformed code, a code nobody
holds and a code several contacts hold all give the same None, so the page cannot tell a
visitor (or a guesser) which of these it was.
"""

from dataclasses import dataclass
from typing import Any

import spotler
from mapping.models import SpotlerProperty
from public.models import LookupPage
from public.search import Condition, meets, property_value, value_problem

DEFAULT_TYPE = "string"  # a property the catalogue does not know (yet) is searched as text


@dataclass(frozen=True)
class ShownValue:
    """One configured property of the contact found: shown as text, or prefilled in a field."""

    property: str
    label: str
    value: str
    prefill: bool


@dataclass(frozen=True)
class Found:
    values: list[ShownValue]


def look_up_code(page: LookupPage, code: str, *, client: spotler.SpotlerClient) -> Found | None:
    """The configured properties of the one contact whose search property equals `code`;
    None for no contact, several contacts or a code that cannot be one.

    Raises `spotler.SpotlerError` when Spotler cannot be asked (the same for every code).
    """
    kinds = property_types()
    condition = Condition(
        property=page.search_property,
        type=kinds.get(page.search_property, DEFAULT_TYPE),
        value=code,
    )
    if value_problem(condition.type, code):
        return None
    # Two are enough to know whether the code is unique.
    pages = client.iter_search_pages(
        property_name=condition.property, value=code.strip(), page_size=2
    )
    found = next(pages, None)
    if found is None or len(found.items) != 1 or not meets(found.items[0], condition):
        return None
    return Found(values=shown_values(page, found.items[0], kinds=kinds))


def shown_values(
    page: LookupPage, contact: spotler.Contact, *, kinds: dict[str, str]
) -> list[ShownValue]:
    """Only the properties the page is configured to show, in its order; nothing else."""
    values = []
    for item in page.shown_properties:
        name = item["property"]
        values.append(
            ShownValue(
                property=name,
                label=item.get("label") or name,
                value=display_value(property_value(contact, name), kind=kinds.get(name)),
                prefill=bool(item.get("prefill")),
            )
        )
    return values


def display_value(value: Any, *, kind: str | None) -> str:
    """A property value as text: a set property lists its switched-on bits."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return ", ".join(str(bit) for bit, on in sorted(value.items()) if on)
    return str(value)


def property_types() -> dict[str, str]:
    return dict(SpotlerProperty.objects.values_list("name", "type"))
