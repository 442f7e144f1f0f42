"""Which value Spotler refused, when it can be known.

Spotler's "Property is invalid" does not say which property (spotler-api.md §5.1). The values a
refused push sent are checked here against what is known of each property: its type in the
stored catalogue and the rules known for that type (spotler-api.md §4), as the mapping editor's
warnings check them (mapping/spotler_rules.py; the sandbox applies the same ones). What fails is
named in the contact's failure reason; when nothing fails, nothing is guessed.
"""

from collections.abc import Mapping

from mapping.rows import CatalogueEntry
from mapping.spotler_rules import refusal


def refused_values(
    properties: Mapping[str, object],
    *,
    catalogue: Mapping[str, CatalogueEntry] | None,
    sources: Mapping[str, str] | None = None,
) -> list[str]:
    """Sentences naming each sent property whose value breaks what is known of it, e.g.
    'postalCode (from the shop's postcode) “ZZZ” is not a Dutch postcode such as 1234 AB'."""
    if not catalogue:
        return []
    sources = sources or {}
    found = []
    for name, value in properties.items():
        if value is None or value == "":
            continue  # clears the property: always accepted
        entry = catalogue.get(name)
        origin = f" (from the shop's {sources[name]})" if name in sources else ""
        if entry is None:
            found.append(f"{name}{origin}: the Spotler account has no such property")
            continue
        why = refusal(entry.type, value)
        if why:
            found.append(f"{name}{origin} {why}")
    return found
