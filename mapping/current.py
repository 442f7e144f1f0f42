"""The mapping the push uses: the version in force, compiled, with broken rows left out.

The ingest API also checks each contact's yes/no values against it (`yes_no_problems`).
"""

import time
from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache

from mapping.conversions import ConversionError, is_empty, to_boolean
from mapping.editor import shop_zone
from mapping.models import CatalogueRefresh, MappingVersion
from mapping.render import CompiledMapping, Conversion, compile_mapping
from mapping.rows import row_from_json
from mapping.stored_catalogue import catalogue_entries
from mapping.versions import current_version


def mapping_in_force() -> CompiledMapping:
    """Compiled once per (version, catalogue refresh) in each process; two cheap queries."""
    version = current_version()
    last_refresh = (
        CatalogueRefresh.objects.filter(ok=True)
        .order_by("-fetched_at")
        .values_list("pk", "fetched_at")
        .first()
    )
    return _compiled((version.pk, version.created_at), last_refresh)


@lru_cache(maxsize=8)
def _compiled(version_key: tuple, refresh_key: tuple | None) -> CompiledMapping:
    version = MappingVersion.objects.get(pk=version_key[0])  # the very version the key names
    catalogue = catalogue_entries()
    rows = [row_from_json(r, catalogue=catalogue) for r in version.rows]
    history = []
    for saved_at, saved_rows in (
        MappingVersion.objects.filter(created_at__lte=version.created_at)
        .order_by("created_at", "pk")
        .values_list("created_at", "rows")
    ):
        sending = [row_from_json(r) for r in saved_rows]
        bits = {
            int(r.options["bit"])
            for r in sending
            if r.sends and r.conversion == Conversion.PERMISSION
        }
        history.append((saved_at, frozenset(bits)))
    compiled = compile_mapping(rows, tz=shop_zone())
    return replace(compiled, bits_history=tuple(history))


# Reading the mapping in force costs two queries, too many for every ingest call: each process
# keeps its yes/no sources this long. A mapping saved in another process reaches the check at
# most this much later (the push always renders with the version in force).
YES_NO_CHECK_SECONDS = 2.0
_yes_no_sources: dict[str, tuple[float, frozenset[str]]] = {}


def yes_no_problems(fields: Mapping[str, object]) -> dict[str, str]:
    """Per source field that a consent -> permission or yes/no row of the mapping in force reads,
    why its value cannot be read as yes or no; empty when every one can (or is empty).

    Refused at the door, such a value never reaches Spotler as something it did not say (a new
    contact's permission left off).
    """
    problems = {}
    for name in yes_no_sources() & fields.keys():
        value = fields[name]
        if is_empty(value):
            continue
        try:
            to_boolean(value)
        except ConversionError as error:
            problems[name] = f"{error}."
    return problems


def yes_no_sources() -> frozenset[str]:
    now = time.monotonic()
    cached = _yes_no_sources.get("in force")
    if cached is None or now >= cached[0]:
        cached = (now + YES_NO_CHECK_SECONDS, mapping_in_force().yes_no_sources)
        _yes_no_sources["in force"] = cached
    return cached[1]


def forget_yes_no_sources() -> None:
    """After a mapping is saved: this process checks against it from the next call."""
    _yes_no_sources.clear()
